// Attention engine: LANES query lanes on the staggered (rotated key order) schedule.
//
// Per head and block of up to LANES queries, step s = 0 .. nq + t - 2 streams key row
// (s mod t), one AXI beat (ATTN_E elements) per cycle, broadcast to every lane; lane j's
// query row is read once, right before key step j, so each step reads at most one Q beat
// and one K beat whatever LANES is.  Lane j is active at steps j .. j + t - 1 and so visits
// the keys j, j+1, ..., t-1, 0, ..., j-1 (golden.vector_ops.key_order).  When a key's dot
// product completes: score = q(q.k * scale), the exact 96-bit product rounded once (q.k
// itself may exceed the activation range), folded into the lane's single-pass softmax
// (running max, running sum) and kept in the lane's score memory.  Then 1/sum per lane, and
// the same schedule streams the value rows: out_j += exp(score - max) * (1/sum) * v, exact
// in 64 bits, quantized once when the block's rows are written.
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

  logic [31:0] jt, jnh, jhd, cpr;          // cpr: beats per head row
  logic [63:0] jqkv, jdst, rstride, hw_bytes;
  logic signed [63:0] jscale;
  assign cpr = (jhd + 32'(E - 1)) >> $clog2(E);

  // ------------------------------------------------------------------ command generator
  typedef enum logic [2:0] {G_IDLE, G_QK, G_AV, G_NEXT, G_DONE} gen_t;
  gen_t gs;
  logic [31:0] gh, gqb, gs_step, gkey, gnq;
  logic gq_done;                           // Q of this step already issued
  logic cmd_free;
  assign cmd_free = !dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready;
  logic [63:0] head_off;
  assign head_off = 64'(gh) * 64'(jhd) << AL;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      gh <= '0; gqb <= '0; gs_step <= '0; gkey <= '0; gnq <= '0; gq_done <= 1'b0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          gh <= '0; gqb <= '0; gs_step <= '0; gkey <= '0; gq_done <= 1'b0;
          gnq <= (t < 32'(P)) ? t : 32'(P);
          gs <= G_QK;
        end
        G_QK: if (cmd_free) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_len <= jhd << AL;
          dma_req.rd_cmd_wlg <= 4'(LG_B);
          if (gs_step < gnq && !gq_done) begin
            // query row of lane gs_step
            dma_req.rd_cmd_addr <= jqkv + 64'(gqb * 32'(P) + gs_step) * rstride + head_off;
            gq_done <= 1'b1;
          end else begin
            dma_req.rd_cmd_addr <= jqkv + 64'(gkey) * rstride + hw_bytes + head_off;
            gq_done <= 1'b0;
            gkey <= (gkey + 32'd1 == jt) ? 32'd0 : gkey + 32'd1;
            gs_step <= gs_step + 32'd1;
            if (gs_step + 32'd1 == gnq + jt - 32'd1) begin
              gs_step <= '0;
              gkey <= '0;
              gs <= G_AV;
            end
          end
        end
        G_AV: if (cmd_free) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_len <= jhd << AL;
          dma_req.rd_cmd_wlg <= 4'(LG_B);
          dma_req.rd_cmd_addr <= jqkv + 64'(gkey) * rstride + (hw_bytes << 1) + head_off;
          gkey <= (gkey + 32'd1 == jt) ? 32'd0 : gkey + 32'd1;
          gs_step <= gs_step + 32'd1;
          if (gs_step + 32'd1 == gnq + jt - 32'd1) gs <= G_NEXT;
        end
        G_NEXT: begin
          gs_step <= '0;
          gkey <= '0;
          if (gqb * 32'(P) + gnq >= jt) begin
            gqb <= '0;
            gnq <= (jt < 32'(P)) ? jt : 32'(P);
            gh <= gh + 32'd1;
            gs <= (gh + 32'd1 == jnh) ? G_DONE : G_QK;
          end else begin
            gqb <= gqb + 32'd1;
            gnq <= (jt - (gqb + 32'd1) * 32'(P) < 32'(P)) ? jt - (gqb + 32'd1) * 32'(P)
                                                           : 32'(P);
            gs <= G_QK;
          end
        end
        G_DONE: if (done) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ lanes
  typedef enum logic [2:0] {C_IDLE, C_QK, C_RECIP, C_AV, C_NEXT, C_END} con_t;
  con_t cs;
  logic [31:0] ch, cqb, cnq, cstep, ckey, cc;
  logic cq_phase;                          // consuming the Q row of lane cstep
  logic [ABITS-1:0] qreg[P][CM][E];
  logic signed [63:0] dot[P];
  logic signed [63:0] bias[P], sum[P], recip[P];
  logic signed [63:0] acc[P][CM][E];
  logic [P-1:0] active;
  logic [P-1:0] score_ovf;                 // lane j stores a score that wrapped/saturated
  // output writer: drains block b's rows while block b+1 runs its QK^T phase
  typedef enum logic [1:0] {W_IDLE, W_CMD, W_DATA} wr_t;
  wr_t ws;
  logic w_go;
  logic [31:0] wqb, wnq, wh;
  logic [31:0] oj, oc;                     // output lane / word

  // elements of the current beat (act values: every product below is ABITS x ABITS)
  logic signed [ABITS-1:0] beat[E];
  for (genvar e = 0; e < E; e++) begin : g_beat
    assign beat[e] = $signed(dma_resp.rd_data[e*ABITS+:ABITS]);
  end

  for (genvar j = 0; j < P; j++) begin : g_lane
    // lane j sees keys at steps j .. j + t - 1
    if (j == 0) begin : g_a0
      assign active[j] = cstep < jt;
    end else begin : g_aj
      assign active[j] = 32'(j) < cnq && cstep >= 32'(j) && cstep - 32'(j) < jt;
    end
    // QK^T: one beat of the dot product
    logic signed [63:0] part, full_dot, score;
    always_comb begin
      part = 64'sd0;
      for (int e = 0; e < E; e++)
        part = part + 64'($signed(qreg[j][CAW'(cc)][e])) * 64'(beat[e]);
    end
    assign full_dot = dot[j] + part;
    // scaled before it is stored: the exact q.k * scale is rounded once into act
    logic [64:0] red;
    assign red = edgemoe_pkg::prod_reduce(full_dot, jscale[31:0], 2 * F);
    assign score = edgemoe_pkg::q_act(red[63:0], edgemoe_pkg::prod_shift(2 * F));
    assign score_ovf[j] = cs == C_QK && dma_resp.rd_valid && !cq_phase && active[j] && cc + 32'd1 == cpr &&
        (red[64] || edgemoe_pkg::act_overflows(
                        edgemoe_pkg::act_round(red[63:0], edgemoe_pkg::prod_shift(2 * F))));
    // AV: this key's probability for lane j
    logic signed [63:0] prob;
    logic [ABITS-1:0] smem[MT];            // this lane's scores, by key
    logic unused_lane;
    assign unused_lane = ^prob[63:ABITS];
    assign prob = edgemoe_pkg::sm_prob(
        edgemoe_pkg::sext(64'(smem[TAW'(ckey)]), 2'(AL), 1'b1), bias[j], recip[j]);
    always_ff @(posedge clk) begin
      if (cs == C_QK && dma_resp.rd_valid && !cq_phase && active[j]) begin
        if (cc + 32'd1 == cpr) begin
          dot[j] <= 64'sd0;
          sum[j] <= edgemoe_pkg::sm_sum(bias[j], sum[j], score);
          if (score > bias[j]) bias[j] <= score;
          smem[TAW'(ckey)] <= ABITS'(score);
        end else begin
          dot[j] <= full_dot;
        end
      end
      if (cs == C_QK && dma_resp.rd_valid && cq_phase && cstep == 32'(j))
        for (int e = 0; e < E; e++) qreg[j][CAW'(cc)][e] <= dma_resp.rd_data[e*ABITS+:ABITS];
      if (cs == C_RECIP) recip[j] <= edgemoe_pkg::recip_act(sum[j]);
      if (cs == C_AV && dma_resp.rd_valid && active[j])
        for (int e = 0; e < E; e++)
          acc[j][CAW'(cc)][e] <= acc[j][CAW'(cc)][e] +
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
  assign dma_req.rd_ready = cs == C_QK || cs == C_AV;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      w_go <= 1'b0;
      ch <= '0; cqb <= '0; cnq <= '0; cstep <= '0; ckey <= '0; cc <= '0; cq_phase <= 1'b0;
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
          ch <= '0; cqb <= '0; cstep <= '0; ckey <= '0; cc <= '0;
          cnq <= (t < 32'(P)) ? t : 32'(P);
          cq_phase <= 1'b1;
          cs <= C_QK;
        end
        C_QK: if (dma_resp.rd_valid) begin
          cc <= cc + 32'd1;
          if (cc + 32'd1 == cpr) begin
            cc <= '0;
            if (cq_phase) cq_phase <= 1'b0;
            else begin
              ckey <= (ckey + 32'd1 == jt) ? 32'd0 : ckey + 32'd1;
              cstep <= cstep + 32'd1;
              cq_phase <= cstep + 32'd1 < cnq;
              if (cstep + 32'd1 == cnq + jt - 32'd1) cs <= C_RECIP;
            end
          end
        end
        // 1/sum per lane; the accumulators are cleared once the previous rows are out
        C_RECIP: if (ws == W_IDLE && !w_go) begin
          cstep <= '0;
          ckey <= '0;
          cc <= '0;
          cs <= C_AV;
        end
        C_AV: if (dma_resp.rd_valid) begin
          cc <= cc + 32'd1;
          if (cc + 32'd1 == cpr) begin
            cc <= '0;
            ckey <= (ckey + 32'd1 == jt) ? 32'd0 : ckey + 32'd1;
            cstep <= cstep + 32'd1;
            if (cstep + 32'd1 == cnq + jt - 32'd1) begin
              w_go <= 1'b1;
              cs <= C_NEXT;
            end
          end
        end
        C_NEXT: begin
          cstep <= '0;
          ckey <= '0;
          cc <= '0;
          cq_phase <= 1'b1;
          if (cqb * 32'(P) + cnq >= jt) begin
            cqb <= '0;
            cnq <= (jt < 32'(P)) ? jt : 32'(P);
            ch <= ch + 32'd1;
            cs <= (ch + 32'd1 == jnh) ? C_END : C_QK;
          end else begin
            cqb <= cqb + 32'd1;
            cnq <= (jt - (cqb + 32'd1) * 32'(P) < 32'(P)) ? jt - (cqb + 32'd1) * 32'(P)
                                                           : 32'(P);
            cs <= C_QK;
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
