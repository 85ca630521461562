// Stage 2 of the linear engine (edgemoe_lin): add the bias to one output tile's P_OUT raw
// sums (W8A8: each int32 sum times its channel multiplier first, 64-bit wrap-around,
// edgemoe/numerics/int8.py steps 3a/3b), quantize them into act, apply GELU, the router-score product and the residual or accumulate add
// with the base row, then ReLU on the final value (golden linear_ops: linear_core, op_linear,
// op_moe_experts), and count the values that overflowed at each of these quantization
// points (profile `overflows`, edgemoe/layout.py).
//
// The numerics exist for EPI_LANES = P_OUT / EPI_STEPS lanes only: a tile takes EPI_STEPS
// cycles, one lane group per cycle, the first in the cycle `start` is high (so with one
// step the tile finishes combinationally, in that cycle).  The MAC array needs
// ceil(K / P_IN) cycles per tile anyway, so this costs nothing while K / P_IN >= EPI_STEPS;
// `hold` keeps two tile-last beats at least EPI_STEPS cycles apart at issue (2 EPI_STEPS
// with `pair`: W8A8 beats finish two tiles, edgemoe_lin_pair), which keeps the caller's
// sums, base word and score steady until the tile (pair) is done.
module edgemoe_lin_epilogue (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               issue_last, // a tile's last MAC beat issues this cycle
    input  logic               pair,       // each tile-last beat brings two tiles
    output logic               hold,       // no tile-last beat may issue this cycle
    input  logic               start,      // the tile's sums are in acc (held until done)
    input  logic [edgemoe_pkg::P_OUT*64-1:0] acc,  // raw sums of the tile (64 bits each;
                                                   // packed: Yosys reads no array ports)
    input  logic [edgemoe_pkg::P_OUT*edgemoe_pkg::BIAS_BITS-1:0] b_word,  // the tile's biases
    input  logic               q8,         // W8A8: acc holds int32 sums to scale by m_word
    input  logic [edgemoe_pkg::P_OUT*32-1:0] m_word,  // W8A8 channel multipliers (int32)
    input  int                 b_sh,       // fraction bits of acc minus those of the bias
    input  logic               b_on,       // add the bias (not in acc yet)
    input  int                 q_sh,       // fraction bits of acc minus ACT_F
    input  logic               f_gelu, f_relu, f_sacc, f_res,
    input  logic signed [63:0] score,      // the token's router score (an int32 word)
    input  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] base_word,
    input  logic [31:0]        col0, n,    // first column of the tile, columns of the layer
    output logic               done,       // y_word holds the finished tile this cycle
    output logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] y_word,
    output logic [63:0]        ovf         // overflowed values of real columns, this cycle
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int EL = edgemoe_pkg::EPI_LANES;
  localparam int ES = edgemoe_pkg::EPI_STEPS;
  localparam int GW = ES > 1 ? $clog2(ES) : 1;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int BBITS = edgemoe_pkg::BIAS_BITS;

  // ------------------------------------------------------------------ lane-group sequence
  logic running;               // steps 1 .. ES-1 of a tile
  logic [GW-1:0] step, grp;    // the step in flight, the group this cycle computes
  logic [GW:0] gap;            // cycles until the next tile-last beat may issue
  logic active;
  assign grp = start ? '0 : step;
  assign active = start || running;
  assign done = active && 32'(grp) == ES - 1;
  assign hold = gap != '0;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      running <= 1'b0; step <= '0; gap <= '0;
    end else begin
      gap <= issue_last ? (GW + 1)'(pair ? 2 * ES - 1 : ES - 1) : gap == '0 ? '0 : gap - 1'b1;
      running <= active && !done;
      step <= (active && !done) ? grp + 1'b1 : '0;
    end
  end

  // ------------------------------------------------------------------ one lane group
  logic [EL*ABITS-1:0] g_word;
  logic [2:0] lane_ovf[EL];  // up to four quantization points per value
  for (genvar e = 0; e < EL; e++) begin : g_lane
    logic [64:0] q0, q1, qs, qa;  // {overflowed, value} of each quantization
    logic signed [63:0] y0, y1, yf, bv, a_in, a_sc, braw, bsh;
    logic signed [31:0] a32, m32;  // W8A8: in_features <= 2**17 (op spec), int32 sums
    logic signed [31:0] s_a;
    logic signed [ABITS-1:0] y_a;
    logic [ABITS-1:0] b_raw;
    logic [31:0] col;
    logic add_on;
    assign braw = b_on ? 64'($signed(b_word[(32'(grp) * EL + e) * BBITS+:BBITS])) : 64'sd0;
    assign bsh = (b_sh >= 0) ? (braw <<< b_sh) : (braw >>> (-b_sh));
    assign a32 = $signed(acc[(32'(grp) * EL + e) * 64+:32]);
    assign m32 = $signed(m_word[(32'(grp) * EL + e) * 32+:32]);
    assign a_sc = q8 ? 64'(a32) * 64'(m32) : $signed(acc[(32'(grp) * EL + e) * 64+:64]);
    assign a_in = a_sc + bsh;
    assign b_raw = base_word[(32'(grp) * EL + e) * ABITS+:ABITS];
    assign col = col0 + 32'(grp) * EL + 32'(e);
    assign q0 = edgemoe_pkg::q_act_c(a_in, q_sh);
    assign y0 = q0[63:0];
    assign q1 = edgemoe_pkg::gelu_act_c(y0);
    assign y1 = f_gelu ? q1[63:0] : y0;
    assign bv = edgemoe_pkg::sext(64'(b_raw), 2'(AL), 1'b1);
    assign s_a = score[31:0];
    assign y_a = ABITS'(y1);
    assign qs = edgemoe_pkg::q_act_c(64'(s_a) * 64'(y_a), edgemoe_pkg::ACT_F);
    assign add_on = f_sacc || f_res;
    assign qa = edgemoe_pkg::q_act_c(bv + (f_sacc ? $signed(qs[63:0]) : y1), 0);
    assign yf = add_on ? qa[63:0] : y1;
    // ReLU of the final value: accumulated pieces (OSA) rectify their sum
    assign g_word[e*ABITS+:ABITS] = ABITS'((f_relu && yf < 0) ? 64'sd0 : yf);
    assign lane_ovf[e] = (active && col < n) ?
        3'(q0[64]) + 3'(f_gelu && q1[64]) + 3'(f_sacc && qs[64]) + 3'(add_on && qa[64]) : 3'd0;
  end
  always_comb begin
    ovf = '0;
    for (int e = 0; e < EL; e++) ovf = ovf + 64'(lane_ovf[e]);
  end

  // ------------------------------------------------------------------ the tile's word
  // groups 0 .. ES-2 wait in y_part; the last group joins them combinationally
  logic [PO*ABITS-1:0] y_part;
  always_ff @(posedge clk) begin
    if (active) y_part[32'(grp) * EL * ABITS+:EL * ABITS] <= g_word;
  end
  always_comb begin
    y_word = y_part;
    y_word[(ES - 1) * EL * ABITS+:EL * ABITS] = g_word;
  end

  logic unused;
  assign unused = ^{score[63:32], y_part[(ES - 1) * EL * ABITS+:EL * ABITS]};
endmodule
