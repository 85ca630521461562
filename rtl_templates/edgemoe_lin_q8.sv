// W8A8 input side of the linear engine (edgemoe_lin, LINEAR with FLAG_WFMT_Q8), bit-exact
// with edgemoe/numerics/int8.py step 1, stage 1 of the MAC pipeline (combinational): each of
// the P_IN input lanes (act raw) becomes the int8 code round_half_up(x * x_mul /
// 2**(ACT_F + XQ_GUARD)) clamped to +-Q8_MAX; `clamped` counts the valid lanes that were
// clamped.  Steps 3a/3b (acc * m + bias << b_sh) are in edgemoe_lin_epilogue, over its
// EPI_LANES lanes rather than P_OUT.  The int8 attention (edgemoe_attn_q8_load) makes its
// codes with the same module over its ATTN_E beat lanes.
module edgemoe_lin_q8 #(
    parameter int XBITS = 32,                 // input lane bits (edgemoe_lin)
    parameter int LANES = edgemoe_pkg::P_IN   // input lanes
) (
    input  logic [LANES*XBITS-1:0]  x_in,     // act raw lanes
    input  logic [LANES-1:0]        x_valid,  // lanes inside the input row
    input  logic signed [31:0]      x_mul,
    output logic [LANES*XBITS-1:0]  x_q8,     // int8 codes, sign-extended
    output logic [31:0]             clamped
);
  localparam int PI = LANES;
  localparam int S = edgemoe_pkg::ACT_F + edgemoe_pkg::XQ_GUARD;
  localparam logic signed [63:0] QMAX = 64'(edgemoe_pkg::Q8_MAX);

  logic [PI-1:0] lane_clamp;
  for (genvar i = 0; i < PI; i++) begin : g_in
    logic signed [63:0] xw, v;
    logic signed [31:0] x;  // the act value as int32 (numerics.int8 step 1)
    assign xw = 64'($signed(x_in[i*XBITS+:XBITS]));
    assign x = xw[31:0];
    logic unused_x;
    assign unused_x = ^xw[63:32];
    // |x| <= 2**31 and |x_mul| <= 2**31 (an int32): the product is exact
    assign v = (64'(x) * 64'(x_mul) + (64'sd1 <<< (S - 1))) >>> S;
    assign lane_clamp[i] = x_valid[i] && (v > QMAX || v < -QMAX);
    assign x_q8[i*XBITS+:XBITS] = !x_valid[i] ? '0 : XBITS'(v > QMAX ? QMAX : (v < -QMAX ? -QMAX : v));
  end
  always_comb begin
    clamped = '0;
    for (int i = 0; i < PI; i++) clamped = clamped + 32'(lane_clamp[i]);
  end
endmodule
