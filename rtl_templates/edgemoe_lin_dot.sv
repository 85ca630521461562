// The MAC array of the linear engine (edgemoe_lin): P_OUT dot products of P_IN terms per
// cycle, exact.  Combinational: edgemoe_lin registers the weights and inputs in front and
// the 64-bit accumulator behind it, so this module alone decides how the products map
// onto DSPs.  The sums are sign-extended to 64 bits on the way out.
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
  localparam int PW = XBITS + WBITS;           // one exact product
  localparam int DW = PW + $clog2(PI + 1);     // a sum of PI products cannot wrap

  for (genvar o = 0; o < PO; o++) begin : g_dot
    logic signed [DW-1:0] sum;
    always_comb begin
      sum = '0;
      for (int i = 0; i < PI; i++)
        sum = sum + DW'($signed(x[i*XBITS+:XBITS]) * $signed(w[(o*PI+i)*WBITS+:WBITS]));
    end
    assign dot[o*64+:64] = 64'(sum);
  end
endmodule
