// The MAC array of the linear engine (edgemoe_lin): P_OUT dot products of P_IN terms per
// cycle, exact in 64 bits (the products are XBITS + WEIGHT_BITS wide; their sum cannot
// wrap before 2**(63 - XBITS - WEIGHT_BITS) terms).  Combinational: edgemoe_lin registers
// the weights and inputs in front and the accumulator behind it, so this module alone
// decides how the products map onto DSPs.
module edgemoe_lin_dot #(
    parameter int XBITS = 32  // input lane bits (edgemoe_lin)
) (
    input  logic [edgemoe_pkg::P_IN*XBITS-1:0]                           x,    // signed lanes
    input  logic [edgemoe_pkg::P_OUT*edgemoe_pkg::P_IN*edgemoe_pkg::WEIGHT_BITS-1:0] w,  // [o][i]
    output logic [edgemoe_pkg::P_OUT*64-1:0]                             dot   // signed sums
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  localparam int PW = XBITS + WBITS;

  for (genvar o = 0; o < PO; o++) begin : g_dot
    logic signed [PW-1:0] prod[PI];
    logic signed [63:0] sum;
    for (genvar i = 0; i < PI; i++) begin : g_mul
      assign prod[i] = PW'($signed(x[i*XBITS+:XBITS])) * PW'($signed(w[(o*PI+i)*WBITS+:WBITS]));
    end
    always_comb begin
      sum = 64'sd0;
      for (int i = 0; i < PI; i++) sum = sum + 64'(prod[i]);
    end
    assign dot[o*64+:64] = sum;
  end
endmodule
