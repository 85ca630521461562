// Attention engine, fused on chip: per head, K and V of every token are read from DDR once
// into the K/V memory (2 x MAX_TOKENS x ATTN_C_MAX beats, BRAM); then per block of up to
// LANES queries the block's Q rows are read once and QK^T, the single-pass softmax and AV
// run from on-chip memory: scores stay in the lanes' score memories, outputs are written
// once.
//
// Lanes keep Edge-MoE's staggered (rotated key order) schedule on the on-chip K/V: step
// s = 0 .. nq + t - 2 reads key row (s mod t), one beat (ATTN_E elements) per cycle,
// broadcast to every lane; lane j is active at steps j .. j + t - 1 and so visits the keys
// j, j+1, ..., t-1, 0, ..., j-1 (golden.vector_ops.key_order), which fixes the numerics.
// When a key's dot product completes: score = q(q.k * scale), the exact 96-bit product
// rounded once (q.k itself may exceed the activation range), folded into the lane's
// single-pass softmax (running max, running sum) and kept in the lane's score memory.
// Then 1/sum per lane, and the same schedule walks the value rows: out_j += exp(score -
// max) * (1/sum) * v, exact in 64 bits, quantized once when the block's rows are written.
//
// DDR traffic: every read command is one head row and the DMA delivers at most one beat a
// cycle: K/V loads stream at the port's rate, then each block reads its nq Q rows (the
// next block's Q rows are already queued while this block computes).  The K/V memory is
// read one cycle after its address (registered read: block RAM), so the lanes work one
// pipeline stage behind the step counters (s1_* below).
module edgemoe_attn (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] t, nh, hd,
    input  logic [63:0] qkv, dst,
    input  logic [31:0] scale,
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
  localparam int LG_B = edgemoe_pkg::AXI_LG;
  localparam int CAW = $clog2(CM > 1 ? CM : 2);
  localparam int TAW = $clog2(MT > 1 ? MT : 2);
  localparam int PAW = $clog2(P > 1 ? P : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int KVD = 2 * MT * CM;                 // K rows, then V rows, CM beats each
  localparam int KVW = $clog2(KVD);

  logic [31:0] jt, jnh, jhd, cpr;          // cpr: beats per head row
  logic [63:0] jqkv, jdst, rstride, hw_bytes;
  logic signed [63:0] jscale;
  assign cpr = (jhd + 32'(E - 1)) >> $clog2(E);

  // ------------------------------------------------------------------ command generator
  // per head: K rows 0..t-1, V rows 0..t-1; then per query block its Q rows
  typedef enum logic [2:0] {G_IDLE, G_KV, G_Q, G_NEXT, G_DONE} gen_t;
  gen_t gs;
  logic [31:0] gh, gqb, grow, gnq;
  logic gv;                                // loading V rows (else K rows)
  logic cmd_free;
  assign cmd_free = !dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready;
  logic [63:0] head_off;
  assign head_off = 64'(gh) * 64'(jhd) << AL;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      gh <= '0; gqb <= '0; grow <= '0; gnq <= '0; gv <= 1'b0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          gh <= '0; gqb <= '0; grow <= '0; gv <= 1'b0;
          gnq <= (t < 32'(P)) ? t : 32'(P);
          gs <= G_KV;
        end
        G_KV: if (cmd_free) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_len <= jhd << AL;
          dma_req.rd_cmd_wlg <= 4'(LG_B);
          dma_req.rd_cmd_addr <= jqkv + 64'(grow) * rstride + (gv ? hw_bytes << 1 : hw_bytes) +
                                 head_off;
          grow <= grow + 32'd1;
          if (grow + 32'd1 == jt) begin
            grow <= '0;
            gv <= !gv;
            if (gv) gs <= G_Q;
          end
        end
        G_Q: if (cmd_free) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_len <= jhd << AL;
          dma_req.rd_cmd_wlg <= 4'(LG_B);
          dma_req.rd_cmd_addr <= jqkv + 64'(gqb * 32'(P) + grow) * rstride + head_off;
          grow <= grow + 32'd1;
          if (grow + 32'd1 == gnq) begin
            grow <= '0;
            gs <= G_NEXT;
          end
        end
        G_NEXT: begin
          if (gqb * 32'(P) + gnq >= jt) begin
            gqb <= '0;
            gnq <= (jt < 32'(P)) ? jt : 32'(P);
            gh <= gh + 32'd1;
            gs <= (gh + 32'd1 == jnh) ? G_DONE : G_KV;
          end else begin
            gqb <= gqb + 32'd1;
            gnq <= (jt - (gqb + 32'd1) * 32'(P) < 32'(P)) ? jt - (gqb + 32'd1) * 32'(P)
                                                           : 32'(P);
            gs <= G_Q;
          end
        end
        G_DONE: if (done) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ step counters
  typedef enum logic [3:0] {C_IDLE, C_LOAD, C_Q, C_QK, C_DRAIN, C_RECIP, C_AV, C_NEXT,
                            C_END} con_t;
  con_t cs;
  logic [31:0] ch, cqb, cnq, cstep, ckey, cc;
  logic cv;                                // C_LOAD: receiving V rows (else K rows)
  // output writer: drains block b's rows while block b+1 reads Q and runs QK^T
  typedef enum logic [1:0] {W_IDLE, W_CMD, W_DATA} wr_t;
  wr_t ws;
  logic w_go;
  logic [31:0] wqb, wnq, wh;
  logic [31:0] oj, oc;                     // output lane / word

  // K/V memory: one write port (DMA beats of C_LOAD), one registered read port (the steps)
  logic [E*ABITS-1:0] kvmem[KVD];
  logic [E*ABITS-1:0] kv_beat;
  logic [KVW-1:0] kv_waddr, kv_raddr;
  assign kv_waddr = KVW'((cv ? MT * CM : 0) + ckey * CM + cc);
  assign kv_raddr = KVW'((cs == C_AV ? MT * CM : 0) + ckey * CM + cc);
  always_ff @(posedge clk) begin
    if (cs == C_LOAD && dma_resp.rd_valid) kvmem[kv_waddr] <= dma_resp.rd_data[E*ABITS-1:0];
    kv_beat <= kvmem[kv_raddr];
  end

  // stage 1: the beat read last cycle, with its step, key and word
  logic s1_qk, s1_av, s1_last;
  logic [31:0] s1_step, s1_key, s1_cc;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_qk <= 1'b0; s1_av <= 1'b0; s1_last <= 1'b0;
      s1_step <= '0; s1_key <= '0; s1_cc <= '0;
    end else begin
      s1_qk <= cs == C_QK;
      s1_av <= cs == C_AV;
      s1_last <= cc + 32'd1 == cpr;
      s1_step <= cstep; s1_key <= ckey; s1_cc <= cc;
    end
  end

  // ------------------------------------------------------------------ lanes
  logic [ABITS-1:0] qreg[P][CM][E];
  logic signed [63:0] dot[P];
  logic signed [63:0] bias[P], sum[P], recip[P];
  logic signed [63:0] acc[P][CM][E];
  logic [P-1:0] active;
  logic [P-1:0] score_ovf;                 // lane j stores a score that wrapped/saturated

  // elements of the beat (act values: every product below is ABITS x ABITS)
  logic signed [ABITS-1:0] beat[E];
  for (genvar e = 0; e < E; e++) begin : g_beat
    assign beat[e] = $signed(kv_beat[e*ABITS+:ABITS]);
  end

  for (genvar j = 0; j < P; j++) begin : g_lane
    // lane j sees keys at steps j .. j + t - 1
    if (j == 0) begin : g_a0
      assign active[j] = s1_step < jt;
    end else begin : g_aj
      assign active[j] = 32'(j) < cnq && s1_step >= 32'(j) && s1_step - 32'(j) < jt;
    end
    // QK^T: one beat of the dot product
    logic signed [63:0] part, full_dot, score;
    always_comb begin
      part = 64'sd0;
      for (int e = 0; e < E; e++)
        part = part + 64'($signed(qreg[j][CAW'(s1_cc)][e])) * 64'(beat[e]);
    end
    assign full_dot = dot[j] + part;
    // scaled before it is stored: the exact q.k * scale is rounded once into act
    logic [64:0] red;
    assign red = edgemoe_pkg::prod_reduce(full_dot, jscale[31:0], 2 * F);
    assign score = edgemoe_pkg::q_act(red[63:0], edgemoe_pkg::prod_shift(2 * F));
    assign score_ovf[j] = s1_qk && active[j] && s1_last &&
        (red[64] || edgemoe_pkg::act_overflows(
                        edgemoe_pkg::act_round(red[63:0], edgemoe_pkg::prod_shift(2 * F))));
    // AV: this key's probability for lane j
    logic signed [63:0] prob;
    logic [ABITS-1:0] smem[MT];            // this lane's scores, by key
    logic unused_lane;
    assign unused_lane = ^prob[63:ABITS];
    assign prob = edgemoe_pkg::sm_prob(
        edgemoe_pkg::sext(64'(smem[TAW'(s1_key)]), 2'(AL), 1'b1), bias[j], recip[j]);
    always_ff @(posedge clk) begin
      if (s1_qk && active[j]) begin
        if (s1_last) begin
          dot[j] <= 64'sd0;
          sum[j] <= edgemoe_pkg::sm_sum(bias[j], sum[j], score);
          if (score > bias[j]) bias[j] <= score;
          smem[TAW'(s1_key)] <= ABITS'(score);
        end else begin
          dot[j] <= full_dot;
        end
      end
      // the block's Q rows arrive before its first step: row ckey goes to lane ckey
      if (cs == C_Q && dma_resp.rd_valid && ckey == 32'(j))
        for (int e = 0; e < E; e++) qreg[j][CAW'(cc)][e] <= dma_resp.rd_data[e*ABITS+:ABITS];
      if (cs == C_RECIP) recip[j] <= edgemoe_pkg::recip_act(sum[j]);
      if (s1_av && active[j])
        for (int e = 0; e < E; e++)
          acc[j][CAW'(s1_cc)][e] <= acc[j][CAW'(s1_cc)][e] +
                                    64'($signed(prob[ABITS-1:0])) * 64'(beat[e]);
      if (cs == C_NEXT || cs == C_IDLE) begin
        dot[j] <= 64'sd0;
        bias[j] <= edgemoe_pkg::ACT_RAW_MIN;
        sum[j] <= 64'sd0;
      end
      if (cs == C_RECIP && ws == W_IDLE && !w_go)
        for (int c = 0; c < CM; c++)
          for (int e = 0; e < E; e++) acc[j][c][e] <= 64'sd0;
    end
  end

  // output beat of lane oj, word oc
  logic [E*ABITS-1:0] out_beat;
  logic [E-1:0] out_ovf;                   // elements of the beat that wrap/saturate
  for (genvar e = 0; e < E; e++) begin : g_out
    assign out_beat[e*ABITS+:ABITS] =
        ABITS'(edgemoe_pkg::q_act(acc[PAW'(oj)][CAW'(oc)][e], F));
    assign out_ovf[e] = oc * 32'(E) + 32'(e) < jhd &&
        edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(acc[PAW'(oj)][CAW'(oc)][e], F));
  end

  // count of values that overflowed since reset (profile field `overflows`)
  always_ff @(posedge clk) begin
    if (!rst_n) overflows <= '0;  // running: edgemoe_ctrl_prof reports the increase
    else overflows <= overflows + 64'($countones(score_ovf)) +
                      ((ws == W_DATA && dma_resp.wr_ready) ? 64'($countones(out_ovf)) : 64'd0);
  end
  assign dma_req.wr_valid = ws == W_DATA;
  assign dma_req.wr_data = WB'(out_beat);
  assign dma_req.rd_ready = cs == C_LOAD || cs == C_Q;

  // the step counters walk one row of cpr words per key (C_LOAD: per row read)
  logic row_end;
  assign row_end = cc + 32'd1 == cpr;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      w_go <= 1'b0;
      ch <= '0; cqb <= '0; cnq <= '0; cstep <= '0; ckey <= '0; cc <= '0; cv <= 1'b0;
      jt <= '0; jnh <= '0; jhd <= '0; jqkv <= '0; jdst <= '0; jscale <= '0;
      rstride <= '0; hw_bytes <= '0;
    end else begin
      done <= 1'b0;
      w_go <= 1'b0;
      case (cs)
        C_IDLE: if (start) begin
          jt <= t; jnh <= nh; jhd <= hd; jqkv <= qkv; jdst <= dst;
          jscale <= {{32{scale[31]}}, scale};
          rstride <= (64'(nh) * 64'(hd) * 64'd3) << AL;
          hw_bytes <= (64'(nh) * 64'(hd)) << AL;
          ch <= '0; cqb <= '0; cstep <= '0; ckey <= '0; cc <= '0; cv <= 1'b0;
          cnq <= (t < 32'(P)) ? t : 32'(P);
          cs <= C_LOAD;
        end
        C_LOAD: if (dma_resp.rd_valid) begin
          cc <= row_end ? '0 : cc + 32'd1;
          if (row_end) begin
            ckey <= (ckey + 32'd1 == jt) ? '0 : ckey + 32'd1;
            if (ckey + 32'd1 == jt) begin
              cv <= !cv;
              if (cv) cs <= C_Q;
            end
          end
        end
        C_Q: if (dma_resp.rd_valid) begin
          cc <= row_end ? '0 : cc + 32'd1;
          if (row_end) begin
            ckey <= ckey + 32'd1;
            if (ckey + 32'd1 == cnq) begin
              ckey <= '0;
              cs <= C_QK;
            end
          end
        end
        C_QK, C_AV: begin
          cc <= row_end ? '0 : cc + 32'd1;
          if (row_end) begin
            ckey <= (ckey + 32'd1 == jt) ? 32'd0 : ckey + 32'd1;
            cstep <= cstep + 32'd1;
            if (cstep + 32'd1 == cnq + jt - 32'd1) begin
              cstep <= '0;
              ckey <= '0;
              if (cs == C_QK) cs <= C_DRAIN;
              else begin
                w_go <= 1'b1;
                cs <= C_NEXT;
              end
            end
          end
        end
        C_DRAIN: cs <= C_RECIP;            // the last score reaches its lane's softmax
        // 1/sum per lane; the accumulators are cleared once the previous rows are out
        C_RECIP: if (ws == W_IDLE && !w_go) cs <= C_AV;
        C_NEXT: begin
          if (cqb * 32'(P) + cnq >= jt) begin
            cqb <= '0;
            cnq <= (jt < 32'(P)) ? jt : 32'(P);
            ch <= ch + 32'd1;
            cs <= (ch + 32'd1 == jnh) ? C_END : C_LOAD;
          end else begin
            cqb <= cqb + 32'd1;
            cnq <= (jt - (cqb + 32'd1) * 32'(P) < 32'(P)) ? jt - (cqb + 32'd1) * 32'(P)
                                                           : 32'(P);
            cs <= C_Q;
          end
        end
        C_END: if (ws == W_IDLE && !w_go && !dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          cs <= C_IDLE;
        end
        default: cs <= C_IDLE;
      endcase
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ws <= W_IDLE;
      wqb <= '0; wnq <= '0; wh <= '0; oj <= '0; oc <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
    end else begin
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (ws)
        W_IDLE: if (w_go) begin
          wqb <= cqb;
          wnq <= cnq;
          wh <= ch;
          oj <= '0;
          ws <= W_CMD;
        end
        W_CMD: if (!dma_req.wr_cmd_valid) begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= jdst + (((64'(wqb * 32'(P) + oj) * 64'(jnh) + 64'(wh)) * 64'(jhd))
                                 << AL);
          dma_req.wr_cmd_len <= jhd << AL;
          dma_req.wr_cmd_wlg <= 4'(LG_B);
          oc <= '0;
          ws <= W_DATA;
        end
        W_DATA: if (dma_resp.wr_ready) begin
          oc <= oc + 32'd1;
          if (oc + 32'd1 == cpr) begin
            oj <= oj + 32'd1;
            ws <= (oj + 32'd1 == wnq) ? W_IDLE : W_CMD;
          end
        end
        default: ws <= W_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{dma_resp, jscale[63:32]};
endmodule
