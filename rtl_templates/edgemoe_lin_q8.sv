// W8A8 side of the linear engine (edgemoe_lin, LINEAR with FLAG_WFMT_Q8), bit-exact with
// edgemoe/numerics/int8.py.  Combinational, two independent parts:
//  - step 1, stage 1 of the MAC pipeline: each of the P_IN input lanes (act raw) becomes
//    the int8 code round_half_up(x * x_mul / 2**(ACT_F + XQ_GUARD)) clamped to +-Q8_MAX;
//    `clamped` counts the valid lanes that were clamped;
//  - steps 3a/3b, stage 2: each of the P_OUT exact sums becomes acc * m + bias << b_sh
//    (64-bit wrap-around), which the epilogue then quantizes into act (shift dq_shift).
module edgemoe_lin_q8 #(
    parameter int XBITS = 32,  // input lane bits (edgemoe_lin)
    parameter int BBITS = 16   // bias lane bits
) (
    input  logic [edgemoe_pkg::P_IN*XBITS-1:0]  x_in,     // act raw lanes
    input  logic [edgemoe_pkg::P_IN-1:0]        x_valid,  // lanes inside the input row
    input  logic signed [31:0]                  x_mul,
    output logic [edgemoe_pkg::P_IN*XBITS-1:0]  x_q8,     // int8 codes, sign-extended
    output logic [31:0]                         clamped,
    input  logic [edgemoe_pkg::P_OUT*64-1:0]    acc,      // exact sums of int8 products
    input  logic [edgemoe_pkg::P_OUT*32-1:0]    m_word,   // channel multipliers (int32)
    input  logic [edgemoe_pkg::P_OUT*BBITS-1:0] b_word,   // raw biases
    input  int                                  b_sh,     // ACT_F + dq_shift - bias frac
    output logic [edgemoe_pkg::P_OUT*64-1:0]    dq_acc    // acc * m + aligned bias
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
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

  logic [PO-1:0] acc_hi;  // the upper halves of the sums are sign bits (int32 range)
  for (genvar o = 0; o < PO; o++) begin : g_out
    assign acc_hi[o] = ^acc[o*64+32+:32];
    logic signed [31:0] a, m;  // int32: in_features <= 2**17 (op spec), a 32 x 32 product
    logic signed [63:0] b, bsh;
    assign a = $signed(acc[o*64+:32]);
    assign m = $signed(m_word[o*32+:32]);
    assign b = 64'($signed(b_word[o*BBITS+:BBITS]));
    assign bsh = (b_sh >= 0) ? (b <<< b_sh) : (b >>> (-b_sh));
    assign dq_acc[o*64+:64] = 64'(a) * 64'(m) + bsh;
  end
  logic unused;
  assign unused = ^acc_hi;
endmodule
