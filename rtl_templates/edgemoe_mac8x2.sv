// Two int8 multiplies sharing the input x through one DSP48E2 product (Xilinx WP486):
// the pre-adder packs the weights as a * 2**PACK_SHIFT + b (27 bits, port A:D), one
// 27 x 18 multiply by x gives a * x * 2**18 + b * x, and the split undoes the borrow the
// low product's sign took from the high one (edgemoe/numerics/int8.py packed_products).
// Combinational: the building block of a packed int8 MAC array (two output lanes per
// multiplier); `edgemoe synth --top edgemoe_mac8x2` counts its DSPs.
module edgemoe_mac8x2 (
    input  logic signed [7:0]  x,       // the shared input
    input  logic signed [7:0]  a, b,    // the two weights
    output logic signed [15:0] ax, bx   // a * x and b * x
);
  localparam int S = edgemoe_pkg::PACK_SHIFT;
  logic signed [26:0] w_packed;
  logic signed [34:0] p;
  assign w_packed = (27'(a) <<< S) + 27'(b);  // the DSP pre-adder
  assign p = 35'(w_packed) * 35'(x);          // one 27 x 18 multiply
  assign bx = p[15:0];  // b * x fits 16 bits: the low S bits sign-extended, truncated
  assign ax = 16'((p >>> S) + 35'(p[S-1]));

  logic unused;
  assign unused = ^{p[34:33]};
endmodule
