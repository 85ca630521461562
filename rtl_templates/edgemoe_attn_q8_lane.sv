// One attention lane's int8 arithmetic (edgemoe_attn with FLAG_WFMT_Q8; steps 2 and 4 of
// edgemoe/numerics/attn_q8.py).  The lane's Q, K and V words hold N = ATTN_E * ABITS / 8
// int8 codes (edgemoe_attn_q8_load), so one step covers N elements:
//   QK^T: part = sum of N code products (exact); when the key's dot product is complete,
//         score = act.from_raw(dot * s_mul, s_shift), the product in 64-bit wrap-around;
//   AV:   N accumulators acc += p * vc (exact) per word, in this lane's own
//         accumulator memory of two banks (edgemoe_attn_writer: the AV block accumulates
//         in one while the writer drains the block before it from the other, a beat,
//         ATTN_E elements, at a time).
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
    input  logic        av_on,             // this step adds p * v of one key ...
    input  logic        av_bank,           // ... in this bank ...
    input  logic [31:0] av_a,              // ... at this word
    input  logic signed [(8 << edgemoe_pkg::ACT_LG)-1:0] prob,  // the key's probability (act)
    input  logic        clear,             // phase hand-over: bank !av_bank reads as 0 again
    input  logic        out_bank,          // the writer's bank, word and beat in the word
    input  logic [31:0] out_a, out_slot,
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

  // AV accumulators: a word memory per bank (one write a cycle, a read port for the AV
  // step and one for the writer); a word unwritten since its bank was cleared reads as 0
  logic [N*AW-1:0] accm[2][CQ], acc_rd, acc_nx, out_rd, acc_sel;
  logic [2*CQ-1:0] acc_new;                // bank b's word w at b * CQ + w
  logic [CQW-1:0] aw, ow;
  assign aw = CQW'(av_a);
  assign ow = CQW'(out_a);
  assign acc_rd = acc_new[32'(av_bank) * CQ + 32'(aw)] ? '0 : accm[av_bank][aw];
  assign out_rd = acc_new[32'(out_bank) * CQ + 32'(ow)] ? '0 : accm[out_bank][ow];
  for (genvar i = 0; i < N; i++) begin : g_acc
    assign acc_nx[i*AW+:AW] = AW'($signed(acc_rd[i*AW+:AW]) + prob * $signed(v_word[i*8+:8]));
  end
  always_ff @(posedge clk) begin
    if (av_on) begin
      accm[av_bank][aw] <= acc_nx;
      acc_new[32'(av_bank) * CQ + 32'(aw)] <= 1'b0;
    end
    if (clear)
      for (int w = 0; w < CQ; w++) acc_new[(av_bank ? 0 : CQ) + w] <= 1'b1;
  end
  assign acc_sel = out_rd >> (out_slot * 32'(E * AW));
  for (genvar e = 0; e < E; e++) begin : g_out
    assign out_acc[e*64+:64] = 64'($signed(acc_sel[e*AW+:AW]));
  end

  logic unused;
  assign unused = ^{av_a, out_a, q_word, k_word, v_word, dot[63:DW], acc_sel};
endmodule
