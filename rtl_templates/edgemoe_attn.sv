// Attention engine, fused on chip: per head, K and V of every token are read from DDR once
// into the K and V memories (MAX_TOKENS x ATTN_C_MAX beats each, BRAM); then per query
// block of up to LANES queries the block's Q rows are read once and QK^T, the single-pass
// softmax and AV run from on-chip memory: scores stay in the lanes' score memories,
// outputs are written once.
//
// Phases: phase p of a head runs QK^T of block p on the K memory beside AV of block p - 1
// on the V memory (the two datapaths of a lane), so a head takes ceil(t / LANES) + 1
// phases; lane state (score memory, running max and sum) has two banks, pb for the QK^T
// block and !pb for the AV block, swapped when a phase ends.
//
// Lanes keep Edge-MoE's staggered (rotated key order) schedule: step s = 0 .. nq + t - 2
// reads key row (s mod t), one beat (ATTN_E elements) per cycle, broadcast to every lane;
// lane j is active at steps j .. j + t - 1 and so visits the keys j, j+1, ..., t-1, 0, ...,
// j-1 (golden.vector_ops.key_order), which fixes the numerics.  When a key's dot product
// completes: score = q(q.k * scale), the exact 96-bit product rounded once (q.k itself may
// exceed the activation range), folded into the lane's single-pass softmax (running max,
// running sum) and kept in the lane's score memory; 1/sum as the lane's block ends (one
// unit for all lanes: edgemoe_attn_recip).  The next phase's AV adds exp(score - max) *
// (1/sum) * v, exact in 64 bits, quantized once when the writer (edgemoe_attn_writer)
// stores the block's rows.
//
// DDR traffic: every read command is one head row and the DMA delivers at most one beat a
// cycle: K/V loads stream at the port's rate, then each block reads its nq Q rows once.
// Nothing but a phase's own work holds it: the lanes' Q rows and AV accumulators have two
// banks, so block p + 1's Q rows load (edgemoe_attn_qload) while phase p walks the K/V
// memories, and the writer drains block p - 1's outputs during phase p + 1 (the hand-over
// after phase p + 1 waits for that drain).  The K/V memories are read one cycle after
// their address (registered read: block RAM), so the lanes work one pipeline stage behind
// the step counters (s1_* below).
//
// Top-k mode (Flag ATTN_TOPK): edgemoe_attn_topk adds the codebook load (C_BOOK), key
// coding (C_CODE) and per block the key selection (C_SEL); a phase then has k' steps in
// which every lane reads its own kept keys through its own K/V read port.
//
// Int8 mode (FLAG_WFMT_Q8, edgemoe/numerics/attn_q8.py; built where ATTN_Q8_BUILT): the job
// starts by reading its parameter block (C_PRM); K, V and Q rows still arrive as act beats
// but are stored as int8 codes (edgemoe_attn_q8_load), QS beats' codes a memory word, so a
// step walks cpw = ceil(hd / (QS * ATTN_E)) words per key instead of cpr beats; scores,
// AV accumulators and output rescaling are edgemoe_attn_q8_lane's and the writer's.
// q8_codes (q8c): codes in, the K, V and Q rows are int8 codes in memory (a byte an element:
// a row is cpw bus words, each a memory word as it is, no quantizer, no clamps counted
// here); codes out, the writer stores the consumer's int8 input codes (out_x_mul).
module edgemoe_attn (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] t, nh, hd,
    input  logic [63:0] qkv, dst,
    input  logic [31:0] scale,
    // top-k mode (Flag ATTN_TOPK): codebook size, top_k, codebook / codes / picks regions
    input  logic        topk,
    input  logic [31:0] cb, k,
    input  logic [63:0] book, codes, picks,
    input  logic        q8,                // int8 mode (FLAG_WFMT_Q8): parameter block q8p
    input  logic [63:0] q8p,
    input  logic [1:0]  q8c,               // its q8_codes (ATTN_Q8_CODES_IN / _OUT)
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows          // scores and outputs that wrapped or saturated
);
  localparam int P = edgemoe_pkg::ATTN_LANES;
  localparam int E = edgemoe_pkg::ATTN_E;           // elements per beat
  localparam int CM = edgemoe_pkg::ATTN_C_MAX;      // beats per head row (max)
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int MT = edgemoe_pkg::MAX_TOKENS;
  localparam int CAW = $clog2(CM > 1 ? CM : 2);
  localparam int TAW = $clog2(MT > 1 ? MT : 2);
  localparam int PAW = $clog2(P > 1 ? P : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int KVW = $clog2(MT * CM > 1 ? MT * CM : 2);  // K (V) memory: CM beats a row
  localparam int QS = ABITS / 8;           // int8 mode: act beats' codes a memory word

  logic [31:0] jt, jnh, jhd, cpr;          // cpr: beats per head row
  logic jtopk;                             // this job selects keys (edgemoe_attn_topk)
  logic topk_on;                           // ATTN_TOPK asked and built into this design
  assign topk_on = topk && edgemoe_pkg::ATTN_TOPK_BUILT != 0;
  edgemoe_pkg::dma_req_t dreq;             // the dense datapath's requests
  // top-k selection (edgemoe_attn_topk): its job, codebook reads, lane masks, write port
  logic [31:0] jcb, jkept, tk_cmds, tk_kaddr, tk_word, tk_wlen;
  logic [63:0] jbook, jcodes, jpicks, tk_cmd_addr, tk_waddr;
  logic [31:0] tk_cmd_len;
  logic [3:0] tk_cmd_wlg;
  logic tk_book_done, tk_code_done, tk_sel_done, tk_wr, tk_wcmd, tk_wvalid, tk_busy;
  logic [32*P-1:0] tk_qk, tk_av;           // C_STEP: lane j's picked keys at [32 j +: 32]
  logic [63:0] jqkv, jdst, rstride, hw_bytes;
  logic signed [63:0] jscale;
  assign cpr = (jhd + 32'(E - 1)) >> $clog2(E);
  // int8 mode: its job, words per row in the phases (cpw), parameters, loaded code words
  logic jq8_r, jq8, ld_wr, q8_wr;
  logic [1:0] jq8c;
  logic jcin, jcout, jconv;                // codes in / out; codes made on chip (from act)
  logic start_cin;                         // at start: the job's rows are codes
  logic [63:0] jq8p;
  logic [31:0] cpw, ld_at, q8_clamped;
  logic [E*ABITS-1:0] ld_word, q8_word;
  logic signed [31:0] s_mul, o_mul, out_x_mul;
  logic [5:0] s_shift, o_shift;
  // (a design without the act mode runs every job int8: its checker refuses the others)
  assign jq8 = (jq8_r || edgemoe_pkg::ATTN_ACT_BUILT == 0) && edgemoe_pkg::ATTN_Q8_BUILT != 0;
  assign cpw = jq8 ? (jhd + 32'(QS * E - 1)) / 32'(QS * E) : cpr;
  assign jcin = jq8 && (jq8c & 2'(edgemoe_pkg::ATTN_Q8_CODES_IN)) != 0;
  assign jcout = jq8 && (jq8c & 2'(edgemoe_pkg::ATTN_Q8_CODES_OUT)) != 0;
  assign jconv = jq8 && !jcin;
  assign start_cin = q8 && edgemoe_pkg::ATTN_Q8_BUILT != 0 &&
                     (q8c & 2'(edgemoe_pkg::ATTN_Q8_CODES_IN)) != 0;

  // ------------------------------------------------------------------ command generator
  logic [31:0] gh, grow;                   // head and codebook row asked for (top-k)
  edgemoe_attn_gen u_gen (
      .clk, .rst_n, .start, .done, .topk_on, .q8_on(q8 && edgemoe_pkg::ATTN_Q8_BUILT != 0),
      .jq8p, .t, .jt, .jnh, .jhd, .jtopk, .jqkv, .rstride, .jxlg(jcin ? 2'd0 : 2'(AL)),
      .hw_bytes, .tk_cmds, .tk_cmd_len, .tk_cmd_addr, .tk_cmd_wlg, .gh, .grow,
      .rd_cmd_valid(dreq.rd_cmd_valid), .rd_cmd_ready(dma_resp.rd_cmd_ready),
      .rd_cmd_addr(dreq.rd_cmd_addr), .rd_cmd_len(dreq.rd_cmd_len), .rd_cmd_wlg(dreq.rd_cmd_wlg));

  // ------------------------------------------------------------------ step counters
  // Per head: C_LOAD, then phases p = 0 .. nb (nb query blocks): phase p runs QK^T of
  // block p (cnq > 0) alongside AV of block p - 1 (cnq_av > 0) on the two datapaths.
  typedef enum logic [3:0] {C_IDLE, C_LOAD, C_Q, C_STEP, C_DRAIN, C_RECIP, C_END, C_BOOK, C_CODE,
                            C_SEL, C_PRM} con_t;
  con_t cs;
  logic [31:0] ch, cqb, cnq, cnq_av, cstep, ckey, cc, csteps;
  logic cv;                                // C_LOAD: receiving V rows (else K rows)
  logic pb;                                // lane state bank of the QK^T block (AV: !pb)
  logic ab;                                // accumulator bank of the AV block
  // output writer (edgemoe_attn_writer): lane oj's beat oc of accumulator bank wb
  logic w_go, w_busy, wb;
  logic [31:0] oj, oc, w_ovf;
  // Q row loader (edgemoe_attn_qload): beat q_beat of row q_row (lane) of block q_blk
  logic q_take, q_in, q_row_end, q_blk_end, q_wr;
  logic [31:0] q_blk, q_row, q_beat, q_at;

  // K and V memories: one write port each (DMA beats of C_LOAD), a registered read port
  // per lane (the phase's step: QK^T reads K, AV reads V; the dense schedule gives every
  // lane the same key and word, the top-k mode each lane its own picks: tk_qk / tk_av)
  logic [E*ABITS-1:0] kmem[MT * CM], vmem[MT * CM];
  logic [E*ABITS-1:0] k_beat[P], v_beat[P];
  logic [KVW-1:0] kv_addr;
  assign kv_addr = cs == C_CODE ? KVW'(tk_kaddr) : KVW'(ckey * CM + (cs == C_LOAD ? ld_at : cc));
  // loads write the DMA's beats (dense; int8 codes in: a word of codes), or in int8 mode
  // from act rows the code word a beat completes
  assign ld_wr = jconv ? q8_wr : dma_resp.rd_valid;
  assign ld_word = jconv ? q8_word : dma_resp.rd_data[E*ABITS-1:0];
  assign ld_at = jconv ? cc / 32'(QS) : cc;
  assign q_wr = q_in && ld_wr;
  assign q_at = jconv ? q_beat / 32'(QS) : q_beat;
  always_ff @(posedge clk) begin
    if (cs == C_LOAD && ld_wr && !cv) kmem[kv_addr] <= ld_word;
    if (cs == C_LOAD && ld_wr && cv) vmem[kv_addr] <= ld_word;
    for (int j = 0; j < P; j++) begin
      k_beat[j] <= kmem[cs == C_STEP && jtopk ? KVW'(tk_qk[32*j+:32] * CM + cc) : kv_addr];
      v_beat[j] <= vmem[cs == C_STEP && jtopk ? KVW'(tk_av[32*j+:32] * CM + cc) : kv_addr];
    end
  end

  // stage 1: the beats read last cycle, with their step, keys and word
  logic s1_on, s1_last;
  logic [31:0] s1_step;
  logic [TAW-1:0] s1_qk[P], s1_av[P];
  logic [CAW-1:0] s1_cc;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_on <= 1'b0; s1_last <= 1'b0;
      s1_step <= '0; s1_cc <= '0;
    end else begin
      s1_on <= cs == C_STEP;
      s1_last <= cc + 32'd1 == cpw;
      s1_step <= cstep; s1_cc <= CAW'(cc);
      for (int j = 0; j < P; j++) begin
        s1_qk[j] <= jtopk ? TAW'(tk_qk[32*j+:32]) : TAW'(ckey);
        s1_av[j] <= jtopk ? TAW'(tk_av[32*j+:32]) : TAW'(ckey);
      end
    end
  end

  // ------------------------------------------------------------------ lanes
  logic signed [63:0] dot[P];
  logic signed [ABITS-1:0] bias[P][2], sum[P][2];  // act values: running max and sum
  logic [E*64-1:0] out_acc[P], q8_acc[P];  // lane j's accumulators of output beat oc (int8)
  logic [ABITS*P-1:0] sum_pb, recip_av;    // lane j's sum (bank pb) and 1/sum (bank !pb)
  logic recip_ready;                       // edgemoe_attn_recip lets the phase hand over
  logic [P-1:0] qk_on, av_on, qk_end;      // lane j takes this step's K / V beat; ends QK^T
  logic [P-1:0] score_ovf;                 // lane j stores a score that wrapped/saturated
  logic bank_go;                           // C_RECIP hands the phase over

  for (genvar j = 0; j < P; j++) begin : g_lane
    // lane j sees keys at steps j .. j + t - 1 (of its QK^T block and of its AV block);
    // top-k: its k' picks at steps 0 .. k' - 1
    logic in_window, dense_window;
    if (j == 0) begin : g_a0
      assign dense_window = s1_step < jt;
    end else begin : g_aj
      assign dense_window = s1_step >= 32'(j) && s1_step - 32'(j) < jt;
    end
    assign in_window = jtopk ? s1_step < jkept : dense_window;
    assign qk_on[j] = s1_on && in_window && 32'(j) < cnq;
    assign av_on[j] = s1_on && in_window && 32'(j) < cnq_av;
    assign qk_end[j] = qk_on[j] && s1_last &&
        (jtopk ? s1_step + 32'd1 == jkept : s1_step - 32'(j) + 32'd1 == jt);
    assign sum_pb[j*ABITS+:ABITS] = sum[j][pb];
    // the lane's Q rows and AV accumulators: word memories of two banks (LUT RAM: one
    // write a cycle, no word multiplexers): Q bank b holds the blocks b, b + 2, ...; the
    // AV block accumulates in bank ab while the writer reads bank wb.  An accumulator word
    // unwritten since its bank was cleared (the hand-over before its AV) reads as 0.
    logic [E*ABITS-1:0] qmem[2][CM], q_word;
    logic [E*64-1:0] accm[2][CM], acc_rd, acc_nx;
    logic [2*CM-1:0] acc_new;              // bank b's word w at b * CM + w
    logic [CAW-1:0] out_a;
    assign q_word = qmem[cqb[0]][s1_cc];
    assign out_a = CAW'(oc);
    assign acc_rd = acc_new[32'(ab) * CM + 32'(s1_cc)] ? '0 : accm[ab][s1_cc];
    assign out_acc[j] = edgemoe_pkg::ATTN_ACT_BUILT == 0 || acc_new[32'(wb) * CM + 32'(out_a)]
                        ? '0 : accm[wb][out_a];
    always_ff @(posedge clk) begin
      // row q_row of a block goes to lane q_row
      if (q_wr && q_row == 32'(j)) qmem[q_blk[0]][CAW'(q_at)] <= ld_word;
      if (av_on[j] && edgemoe_pkg::ATTN_ACT_BUILT != 0) accm[ab][s1_cc] <= acc_nx;
    end
    // QK^T: one beat of the dot product (act mode: part; int8 mode: part_q8)
    logic signed [63:0] part, full_dot, score, part_q8, score_q8, score_d;
    logic ovf_q8, ovf_d;
    assign full_dot = dot[j] + (jq8 ? part_q8 : part);
    assign score = jq8 ? score_q8 : score_d;
    assign score_ovf[j] = qk_on[j] && s1_last && (jq8 ? ovf_q8 : ovf_d);
    // AV: this key's probability for lane j, from the AV block's bank
    logic signed [63:0] prob;
    logic [ABITS-1:0] smem[2][MT];         // this lane's scores, by bank and key
    logic unused_lane;
    assign unused_lane = ^prob[63:ABITS];
    assign prob = edgemoe_pkg::sm_prob(
        edgemoe_pkg::sext(64'(smem[!pb][s1_av[j]]), 2'(AL), 1'b1), 64'(bias[j][!pb]),
        edgemoe_pkg::sext(64'(recip_av[j*ABITS+:ABITS]), 2'(AL), 1'b1));
    // the act mode's products (ABITS x ABITS) and score rescale, where the design builds
    // it (ATTN_ACT_BUILT; attn_act: false leaves them out, the int8 lane's stay)
    if (edgemoe_pkg::ATTN_ACT_BUILT != 0) begin : g_act
      // elements of the beats (act values: every product below is ABITS x ABITS)
      logic signed [ABITS-1:0] kb[E], vb[E];
      for (genvar e = 0; e < E; e++) begin : g_beat
        assign kb[e] = $signed(k_beat[j][e*ABITS+:ABITS]);
        assign vb[e] = $signed(v_beat[j][e*ABITS+:ABITS]);
      end
      always_comb begin
        part = 64'sd0;
        for (int e = 0; e < E; e++)
          part = part + 64'($signed(q_word[e*ABITS+:ABITS])) * 64'(kb[e]);
      end
      // scaled before it is stored: the exact q.k * scale is rounded once into act
      logic [64:0] red;
      assign red = edgemoe_pkg::prod_reduce(full_dot, jscale[31:0], 2 * F);
      assign score_d = edgemoe_pkg::q_act(red[63:0], edgemoe_pkg::prod_shift(2 * F));
      assign ovf_d = red[64] || edgemoe_pkg::act_overflows(
          edgemoe_pkg::act_round(red[63:0], edgemoe_pkg::prod_shift(2 * F)));
      for (genvar e = 0; e < E; e++) begin : g_acc
        assign acc_nx[e*64+:64] = $signed(acc_rd[e*64+:64]) +
                                  64'($signed(prob[ABITS-1:0])) * 64'(vb[e]);
      end
    end else begin : g_no_act
      logic unused_act;                    // what only the act products read
      assign unused_act = ^{jscale[31:0], acc_rd};
      assign {part, score_d, ovf_d} = '0;
      assign acc_nx = '0;
    end
    if (edgemoe_pkg::ATTN_Q8_BUILT != 0) begin : g_q8
      edgemoe_attn_q8_lane u_q8 (
          .clk, .q_word, .k_word(k_beat[j]), .v_word(v_beat[j]), .dot(full_dot), .s_mul,
          .s_shift, .part(part_q8), .score(score_q8), .score_ovf(ovf_q8), .av_on(av_on[j]),
          .av_bank(ab), .av_a(32'(s1_cc)), .prob(prob[ABITS-1:0]), .clear(bank_go),
          .out_bank(wb), .out_a(oc / 32'(QS)), .out_slot(oc % 32'(QS)), .out_acc(q8_acc[j]));
    end else begin : g_no_q8
      assign {part_q8, score_q8, ovf_q8} = '0;
      assign q8_acc[j] = '0;
    end
    always_ff @(posedge clk) begin
      if (qk_on[j]) begin
        if (s1_last) begin
          dot[j] <= 64'sd0;
          sum[j][pb] <= ABITS'(edgemoe_pkg::sm_sum(64'(bias[j][pb]), 64'(sum[j][pb]), score));
          if (score > 64'(bias[j][pb])) bias[j][pb] <= ABITS'(score);
          smem[pb][s1_qk[j]] <= ABITS'(score);
        end else begin
          dot[j] <= full_dot;
        end
      end
      if (av_on[j]) acc_new[32'(ab) * CM + 32'(s1_cc)] <= 1'b0;
      if (cs == C_IDLE || cs == C_LOAD) begin
        dot[j] <= 64'sd0;
        for (int b = 0; b < 2; b++) begin
          bias[j][b] <= ABITS'(edgemoe_pkg::ACT_RAW_MIN);
          sum[j][b] <= '0;
        end
      end
      // phase hand-over: fresh softmax state for the next QK^T block; the next AV block's
      // accumulator bank (!ab, drained) cleared
      if (bank_go) begin
        bias[j][!pb] <= ABITS'(edgemoe_pkg::ACT_RAW_MIN);
        sum[j][!pb] <= '0;
        for (int w = 0; w < CM; w++) acc_new[(ab ? 0 : CM) + w] <= 1'b1;
      end
    end
  end

  // output writer: the AV block's rows, lane oj's accumulators of beat oc from bank wb.
  // Dense and int8 start it at the hand-over (w_go: the next phase runs beside the drain);
  // top-k in C_DRAIN, before it (the selection writes its picks during the phase).
  logic [E*ABITS-1:0] out_beat;
  assign w_go = cnq_av != 0 && (jtopk ? cs == C_DRAIN && !tk_busy : bank_go);
  edgemoe_attn_writer u_wr (
      .clk, .rst_n, .go(w_go), .qb(cqb - 32'd1), .nq(cnq_av), .h(ch), .bank(ab), .dst(jdst),
      .nh(jnh), .hd(jhd), .cpr, .q8(jq8), .o_mul, .o_shift, .codes(jcout), .x_mul(out_x_mul),
      .busy(w_busy), .lane(oj),
      .beat(oc), .rd_bank(wb), .acc(out_acc[PAW'(oj)]), .acc_q8(q8_acc[PAW'(oj)]),
      .wr_cmd_valid(dreq.wr_cmd_valid), .wr_cmd_ready(dma_resp.wr_cmd_ready),
      .wr_cmd_addr(dreq.wr_cmd_addr), .wr_cmd_len(dreq.wr_cmd_len),
      .wr_cmd_wlg(dreq.wr_cmd_wlg), .wr_valid(dreq.wr_valid), .wr_data(out_beat),
      .wr_ready(dma_resp.wr_ready), .ovf(w_ovf));
  assign dreq.wr_data = WB'(out_beat);

  // count of values that overflowed since reset (profile field `overflows`)
  always_ff @(posedge clk) begin
    if (!rst_n) overflows <= '0;  // running: edgemoe_ctrl_prof reports the increase
    else overflows <= overflows + 64'($countones(score_ovf)) + 64'(q8_clamped) + 64'(w_ovf);
  end
  assign dreq.rd_ready = cs == C_LOAD || q_take || cs == C_BOOK || cs == C_PRM;

  // Q rows: block cqb's when the controller waits for them, else block cqb + 1's beside
  // phase cqb (top-k: not in C_SEL, whose score table reads the block's rows)
  edgemoe_attn_qload u_qload (
      .clk, .rst_n, .restart(cs == C_IDLE || cs == C_LOAD), .in_q(cs == C_Q),
      .in_phase(cs == C_STEP || cs == C_DRAIN || cs == C_RECIP), .qb(cqb),
      .nq(block_nq(q_blk, jt)), .cpr(jcin ? cpw : cpr), .rd_valid(dma_resp.rd_valid), .take(q_take),
      .beat_in(q_in), .row_end(q_row_end), .blk_end(q_blk_end), .blk(q_blk), .row(q_row),
      .beat(q_beat));

  // queries of block b (0 past the last block)
  // (assignments to the function name, not `return`: Yosys reads no return statements)
  function automatic logic [31:0] block_nq(input logic [31:0] b, input logic [31:0] tt);
    logic [31:0] first;
    first = b * 32'(P);
    if (first >= tt) block_nq = 32'd0;
    else if (tt - first < 32'(P)) block_nq = tt - first;
    else block_nq = 32'(P);
  endfunction

  // the step counters walk a row of cpr beats per row read (C_LOAD, C_Q; codes in: cpw
  // words), cpw words a key
  logic row_end;
  assign row_end = cc + 32'd1 == (cs == C_STEP || jcin ? cpw : cpr);
  assign bank_go = cs == C_RECIP && !w_busy && recip_ready;
  edgemoe_attn_recip u_recip (.clk, .rst_n, .done(qk_end), .pb, .sums(sum_pb),
                              .recips(recip_av), .ready(recip_ready));
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      ch <= '0; cqb <= '0; cnq <= '0; cnq_av <= '0; cstep <= '0; ckey <= '0; cc <= '0;
      csteps <= '0; cv <= 1'b0; pb <= 1'b0; ab <= 1'b0;
      jt <= '0; jnh <= '0; jhd <= '0; jqkv <= '0; jdst <= '0; jscale <= '0; jtopk <= 1'b0;
      jq8_r <= 1'b0; jq8p <= '0; jq8c <= '0;
      rstride <= '0; hw_bytes <= '0;
    end else begin
      done <= 1'b0;
      case (cs)
        C_IDLE: if (start) begin
          jt <= t; jnh <= nh; jhd <= hd; jqkv <= qkv; jdst <= dst; jtopk <= topk_on;
          jcb <= cb; jkept <= k < t ? k : t; jbook <= book; jcodes <= codes; jpicks <= picks;
          jscale <= {{32{scale[31]}}, scale};
          jq8_r <= q8; jq8p <= q8p; jq8c <= q8c;
          rstride <= (64'(nh) * 64'(hd) * 64'd3) << (start_cin ? 0 : AL);
          hw_bytes <= (64'(nh) * 64'(hd)) << (start_cin ? 0 : AL);
          ch <= '0; cstep <= '0; ckey <= '0; cc <= '0; cv <= 1'b0;
          cs <= q8 && edgemoe_pkg::ATTN_Q8_BUILT != 0 ? C_PRM : topk_on ? C_BOOK : C_LOAD;
        end
        C_PRM: if (dma_resp.rd_valid) begin  // the parameter block, a word a beat
          cc <= cc + 32'd1;
          if (cc + 32'd1 == 32'(edgemoe_pkg::ATTN_Q8_PARAM_BYTES / 4)) begin
            cc <= '0;
            cs <= C_LOAD;
          end
        end
        C_BOOK: if (tk_book_done) cs <= C_LOAD;
        C_CODE: if (tk_code_done) cs <= C_Q;
        C_SEL: if (tk_sel_done) cs <= C_STEP;
        C_LOAD: begin
          cqb <= '0; cnq <= block_nq('0, jt); cnq_av <= '0; pb <= 1'b0;
          if (dma_resp.rd_valid) begin
            cc <= row_end ? '0 : cc + 32'd1;
            if (row_end) begin
              ckey <= (ckey + 32'd1 == jt) ? '0 : ckey + 32'd1;
              if (ckey + 32'd1 == jt) begin
                cv <= !cv;
                if (cv) cs <= jtopk ? C_CODE : C_Q;
              end
            end
          end
        end
        C_Q: if (q_blk > cqb || q_blk_end) begin  // the block's rows are in
          csteps <= jtopk ? jkept : (cnq_av != 0 ? cnq_av : cnq) + jt - 32'd1;
          cs <= jtopk ? C_SEL : C_STEP;
        end
        C_STEP: begin
          cc <= row_end ? '0 : cc + 32'd1;
          if (row_end) begin
            ckey <= (ckey + 32'd1 == jt) ? 32'd0 : ckey + 32'd1;
            cstep <= cstep + 32'd1;
            if (cstep + 32'd1 == csteps) begin
              cstep <= '0;
              ckey <= '0;
              cs <= C_DRAIN;
            end
          end
        end
        C_DRAIN: if (!tk_busy) cs <= C_RECIP;  // the last beat reaches the lanes; picks out
        C_RECIP: if (bank_go) begin
          pb <= !pb;
          ab <= !ab;
          cnq_av <= cnq;
          cqb <= cqb + 32'd1;
          cnq <= block_nq(cqb + 32'd1, jt);
          if (cnq == 0) begin              // that was the head's last AV block
            ch <= ch + 32'd1;
            cs <= (ch + 32'd1 == jnh) ? C_END : jtopk ? C_BOOK : C_LOAD;
          end else if (block_nq(cqb + 32'd1, jt) != 0) begin
            // dense, int8: straight on when the block's rows loaded during this phase
            csteps <= cnq + jt - 32'd1;
            cs <= !jtopk && (q_blk > cqb + 32'd1 || q_blk_end) ? C_STEP : C_Q;
          end else begin
            csteps <= jtopk ? jkept : cnq + jt - 32'd1;  // AV of the last block alone
            cs <= C_STEP;
          end
        end
        C_END: if (!w_busy && !dreq.wr_cmd_valid) begin
          done <= 1'b1;
          cs <= C_IDLE;
        end
        default: cs <= C_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ int8 codes
  if (edgemoe_pkg::ATTN_Q8_BUILT != 0) begin : g_q8
    edgemoe_attn_q8_load u_q8 (
        .clk, .prm_beat(cs == C_PRM && dma_resp.rd_valid), .prm_idx(cc[2:0]),
        .row_beat(jconv && (cs == C_LOAD && dma_resp.rd_valid || q_in)),
        .part(q_in ? 2'd0 : cv ? 2'd2 : 2'd1), .beat_idx(q_in ? q_beat : cc),
        .row_end(q_in ? q_row_end : row_end), .hd(jhd),
        .rd_data(dma_resp.rd_data), .word(q8_word), .word_wr(q8_wr), .clamped(q8_clamped),
        .s_mul, .o_mul, .s_shift, .o_shift, .out_x_mul);
  end else begin : g_no_q8
    assign {q8_word, q8_wr, q8_clamped, s_mul, o_mul, s_shift, o_shift, out_x_mul} = '0;
  end

  // ------------------------------------------------------------------ top-k selection
  // built only where the design point sets attn_topk: else its outputs idle, the lanes' K/V
  // reads share kv_addr (synthesis merges their ports) and the unit is gone
  if (edgemoe_pkg::ATTN_TOPK_BUILT != 0) begin : g_topk
    edgemoe_attn_topk u_topk (
        .clk, .rst_n, .t(jt), .hd(jhd), .cpr, .c(jcb), .kept(jkept), .book(jbook),
        .codes(jcodes), .picks(jpicks), .gh, .grow, .book_cmd_addr(tk_cmd_addr),
        .book_cmd_len(tk_cmd_len), .book_cmd_wlg(tk_cmd_wlg), .book_cmds(tk_cmds),
        .in_book(cs == C_BOOK), .in_code(cs == C_CODE), .in_sel(cs == C_SEL), .h(ch), .qb(cqb),
        .nq(cnq), .pb, .q_beat(q_in), .q_lane(q_row), .q_word(q_beat),
        .rd_valid(dma_resp.rd_valid), .rd_data(dma_resp.rd_data), .book_done(tk_book_done),
        .code_done(tk_code_done), .sel_done(tk_sel_done), .wr_busy(tk_busy), .kaddr(tk_kaddr), .k_beat(k_beat[0]),
        .in_step(cs == C_STEP), .advance(cs == C_STEP && row_end), .flip(bank_go),
        .qk_key(tk_qk), .av_key(tk_av), .wr_cmd_valid(tk_wcmd),
        .wr_cmd_ready(dma_resp.wr_cmd_ready), .wr_cmd_addr(tk_waddr),
        .wr_cmd_len(tk_wlen), .wr_valid(tk_wvalid), .wr_ready(dma_resp.wr_ready),
        .wr_word(tk_word));
  end else begin : g_no_topk
    assign {tk_cmd_addr, tk_cmd_len, tk_cmd_wlg, tk_cmds, tk_kaddr, tk_qk, tk_av} = '0;
    assign {tk_book_done, tk_code_done, tk_sel_done, tk_busy, tk_wcmd, tk_wvalid} = '0;
    assign {tk_waddr, tk_wlen, tk_word} = '0;
  end
  // the selection owns the write port while it writes codes (C_CODE) or picks (beside C_STEP)
  assign tk_wr = cs == C_CODE || tk_busy;
  always_comb begin
    dma_req = dreq;
    if (tk_wr) begin
      dma_req.wr_cmd_valid = tk_wcmd;
      dma_req.wr_cmd_addr = tk_waddr;
      dma_req.wr_cmd_len = tk_wlen;
      dma_req.wr_cmd_wlg = 4'd2;              // u32 words
      dma_req.wr_valid = tk_wvalid;
      dma_req.wr_data = WB'(tk_word);
    end
  end

  // (oj, oc and q_at index by their low bits; q_row_end serves the int8 build only)
  logic unused;
  assign unused = ^{dma_resp, jscale[63:32], jq8p, s_mul, s_shift, tk_kaddr, jcb, jbook, jcodes,
                    jpicks, gh, grow, oj, oc, q_at, q_row_end};
endmodule
