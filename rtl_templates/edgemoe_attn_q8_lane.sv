// One attention lane's int8 arithmetic (edgemoe_attn with FLAG_WFMT_Q8; steps 2 and 4 of
// edgemoe/numerics/attn_q8.py).  The lane's Q, K and V words hold N = ATTN_E * ABITS / 8
// int8 codes (edgemoe_attn_q8_load), so one step covers N elements:
//   QK^T: part = sum of N code products (exact); when the key's dot product is complete,
//         score = act.from_raw(dot * s_mul, s_shift), the product in 64-bit wrap-around;
//   AV:   N accumulators acc += p * vc (exact) per word, in this lane's own
//         accumulator memory; the writer reads them a beat (ATTN_E elements) at a time.
// The softmax between them is the dense engine's, unchanged (edgemoe_attn).
module edgemoe_attn_q8_lane (
    input  logic        clk,
    input  logic [edgemoe_pkg::ATTN_E*(8 << edgemoe_pkg::ACT_LG)-1:0] q_word, k_word, v_word,
    input  logic signed [63:0] dot,        // the key's dot product including part
    input  logic signed [31:0] s_mul,
    input  logic [5:0]  s_shift,
    output logic signed [63:0] part,       // this step's code products
    output logic signed [63:0] score,      // act raw score of dot
    output logic        score_ovf,         // it wrapped or saturated
    input  logic        av_on,             // this step adds p * v of one key
    input  logic [31:0] acc_a,             // the AV step's word, else the writer's
    input  logic signed [(8 << edgemoe_pkg::ACT_LG)-1:0] prob,  // the key's probability (act)
    input  logic        clear,             // phase hand-over: every word reads as 0 again
    input  logic [31:0] out_slot,          // the writer's beat within word acc_a
    output logic [edgemoe_pkg::ATTN_E*64-1:0] out_acc  // its ATTN_E accumulators
);
  localparam int E = edgemoe_pkg::ATTN_E;
  localparam int ABITS = 8 << edgemoe_pkg::ACT_LG;
  localparam int QS = ABITS / 8;           // act beats a code word holds
  localparam int N = E * QS;               // codes a word
  localparam int CQ = (edgemoe_pkg::ATTN_C_MAX + QS - 1) / QS;  // code words a head row
  localparam int CQW = $clog2(CQ > 1 ? CQ : 2);
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int Q = edgemoe_pkg::Q8_MAX;
  // Exact widths (the arithmetic's, narrower than its 64-bit definition): |dot| <= Q**2 *
  // MAX_HEAD_DIM (codes past head_dim are 0), so DW bits hold it and dot * s_mul fits 64
  // bits (the definition's wrap-around cannot happen); |acc| <= 2**(ABITS-1) * Q *
  // MAX_TOKENS, so AW bits hold every AV accumulator
  localparam int DW = $clog2(Q * Q * edgemoe_pkg::MAX_HEAD_DIM) + 2;
  localparam int TW = $clog2(edgemoe_pkg::MAX_TOKENS > 1 ? edgemoe_pkg::MAX_TOKENS : 2);
  localparam int AW = ABITS + $clog2(Q + 1) + TW + 1;

  always_comb begin
    part = 64'sd0;
    for (int i = 0; i < N; i++)
      part = part + 64'(16'($signed(q_word[i*8+:8]) * $signed(k_word[i*8+:8])));
  end
  logic [64:0] sq;
  logic signed [63:0] sv;
  assign sv = 64'($signed(dot[DW-1:0]) * s_mul);
  assign sq = edgemoe_pkg::q_act_c(sv, int'({26'd0, s_shift}) - F);
  assign score = sq[63:0];
  assign score_ovf = sq[64];

  // AV accumulators: a word memory (one write a cycle); unwritten since the hand-over: 0
  logic [N*AW-1:0] accm[CQ], acc_word, acc_rd, acc_nx, acc_sel;
  logic [CQ-1:0] acc_new;
  logic [CQW-1:0] aw;
  assign aw = CQW'(acc_a);
  assign acc_word = accm[aw];
  assign acc_rd = acc_new[aw] ? '0 : acc_word;
  for (genvar i = 0; i < N; i++) begin : g_acc
    assign acc_nx[i*AW+:AW] = AW'($signed(acc_rd[i*AW+:AW]) + prob * $signed(v_word[i*8+:8]));
  end
  always_ff @(posedge clk) begin
    if (av_on) begin
      accm[aw] <= acc_nx;
      acc_new[aw] <= 1'b0;
    end
    if (clear) acc_new <= '1;
  end
  assign acc_sel = acc_rd >> (out_slot * 32'(E * AW));
  for (genvar e = 0; e < E; e++) begin : g_out
    assign out_acc[e*64+:64] = 64'($signed(acc_sel[e*AW+:AW]));
  end

  logic unused;
  assign unused = ^{acc_a, q_word, k_word, v_word, dot[63:DW], acc_sel};
endmodule
