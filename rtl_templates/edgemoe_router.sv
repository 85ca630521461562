// MoE router: per token, single-pass softmax over the expert logits (computed by the
// linear engine into the logits buffer), top-k with ties to the lower expert index, the
// chosen experts' probabilities (exp(l - max) * 1/sum, not renormalised), appended in
// token order to per-expert queues; then the whole queue region is written:
// counts u32[experts] (64-byte padded), per expert its token list, per expert its scores
// (edgemoe.layout.queue_layout), unused slots zero.
//
// Streaming: the router starts on the gate's first logits (its job fields are loaded
// with the instruction) and takes each token as soon as its last logit tile is in, so it
// runs under the linear engine's logits; `start` (after the linear job) means every
// logit is in.  Two stages: softmax + top-k of one token (top-k picks during the softmax
// steps), then 1/sum and the appends of the previous token.  The queues are kept in
// AXI-word rows and written one AXI word (AXI_BYTES / 4 entries) per beat.
// The logits and the queues are block RAM: their reads are registered, issued one cycle
// ahead (in LUT RAM, read combinationally, they took about a quarter of the module's LUTs).
module edgemoe_router (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] t, e, topk,
    input  logic [63:0] queues,
    input  logic        lg_valid,
    input  logic [31:0] lg_tok, lg_tile,
    input  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] lg_data,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows          // chosen scores that overflowed act (running count)
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int ME = edgemoe_pkg::MAX_EXPERTS;
  localparam int MT = edgemoe_pkg::MAX_TOKENS;
  localparam int MK = edgemoe_pkg::MAX_TOP_K;
  localparam int TE = (ME + PO - 1) / PO;            // logit words per token
  localparam int LAW = $clog2(MT * TE > 1 ? MT * TE : 2);
  localparam int EW = $clog2(ME > 1 ? ME : 2);
  localparam int KW = $clog2(MK > 1 ? MK : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  localparam int Q = edgemoe_pkg::AXI_BYTES / 4;     // queue entries per write beat
  localparam int QL = $clog2(Q);
  localparam int MR = (MT + Q - 1) / Q;              // beats of one expert's list
  localparam int RAW = $clog2(ME * MR > 1 ? ME * MR : 2);
  localparam int CW = $clog2(MT + 1);               // a count: 0..MAX_TOKENS
  localparam int TKW = $clog2(MT > 1 ? MT : 2);    // a token index
  localparam int TB = (TKW + 7) / 8 * 8;            // ... stored in whole bytes
  // a beat never straddles two areas: they are 64-byte aligned and AXI words are at most
  // 64 bytes (params.accel limits axi_bits)

  // logits of every token, written while the linear engine runs the gate matmul
  logic [PO*ABITS-1:0] lbuf[MT*TE];
  logic [LAW-1:0] lg_wa;
  assign lg_wa = LAW'(lg_tok * 32'(TE) + lg_tile);
  always_ff @(posedge clk) begin
    if (lg_valid) lbuf[lg_wa] <= lg_data;
  end

  logic [31:0] te_job;                     // logit words per token of this job
  assign te_job = (e + 32'(PO - 1)) / 32'(PO);
  logic [MT-1:0] rdy;                      // a token's last logit word is in
  logic lg_all;                            // start seen: every logit is in

  typedef enum logic [3:0] {R_IDLE, R_LOAD, R_SOFT, R_HAND, R_FLUSH, R_CMD, R_DATA,
                            R_END} st_t;
  st_t st;
  typedef enum logic [1:0] {B_IDLE, B_RECIP, B_APPEND} bst_t;
  bst_t bs;
  logic [31:0] tok, i, jb;
  logic signed [ABITS-1:0] lg[ME];         // act values: ABITS bits, sign-extended on use
  logic signed [63:0] bias, sum, recip;
  logic [EW-1:0] chosen[MK];               // the top-k so far, best first
  logic signed [ABITS-1:0] ch_lg[MK];      // their logits
  // the previous token, appended by the second stage
  logic [31:0] b_tok;
  logic signed [63:0] b_bias, b_sum;
  logic [EW-1:0] b_ch[MK];
  logic signed [ABITS-1:0] b_lg[MK];
  logic [CW-1:0] cnt[ME];
  // output stream position
  logic [1:0] area;                        // 0 counts, 1 token lists, 2 scores
  logic [31:0] q_ex, q_p, q_w;
  logic [31:0] slot_w, cnt_w, total_w;
  assign slot_w = ((t << 2) + 32'd63 >> 6) << 4;   // align(4t) / 4
  assign cnt_w = ((e << 2) + 32'd63 >> 6) << 4;    // align(4e) / 4

  // top-k by insertion: softmax step i puts expert i after every kept logit >= its own
  // (experts come in index order, so ties keep the lower index); entries past top_k are
  // never appended.  The list after this step:
  logic [EW-1:0] ins_ch[MK];
  logic signed [ABITS-1:0] ins_lg[MK];
  logic signed [ABITS-1:0] cur_lg;         // the logit of softmax step i
  assign cur_lg = lg[EW'(i)];
  always_comb begin
    logic placed;
    placed = 1'b0;
    for (int k = 0; k < MK; k++) begin
      ins_ch[k] = chosen[k];
      ins_lg[k] = ch_lg[k];
      if (placed) begin  // shifted down by the inserted entry
        ins_ch[k] = chosen[k - 1 < 0 ? 0 : k - 1];
        ins_lg[k] = ch_lg[k - 1 < 0 ? 0 : k - 1];
      end else if (32'(k) >= i || cur_lg > ch_lg[k]) begin
        ins_ch[k] = EW'(i);
        ins_lg[k] = cur_lg;
        placed = 1'b1;
      end
    end
  end

  logic [EW-1:0] ex_b;                     // the expert the second stage appends to
  assign ex_b = b_ch[KW'(jb)];
  logic [64:0] prob;                       // {overflowed, score}
  assign prob = edgemoe_pkg::sm_prob_c(64'(b_lg[KW'(jb)]), b_bias, recip);
  logic last_soft, ahead;                  // the token's last softmax step; next one loads
  assign last_soft = st == R_SOFT && i + 32'd1 == e;
  assign ahead = TE == 1 && tok + 32'd1 < t && (rdy[TKW'(tok + 32'd1)] ||
                                                 lg_all);
  logic load_go, hand_now;                 // R_LOAD takes word i; R_SOFT hands the token over
  assign load_go = st == R_LOAD && (rdy[TKW'(tok)] || lg_all);
  assign hand_now = last_soft && bs == B_IDLE;

  // The logit word: R_LOAD uses word i of token tok, R_SOFT the next token's first word
  // (read ahead for one-word tokens).  l_ra is the word used on the next cycle; a word
  // written on this cycle bypasses the block RAM (its read returns the old contents).
  logic [LAW-1:0] l_ra;
  always_comb begin
    if (st == R_IDLE) l_ra = '0;
    else if (st == R_LOAD)
      l_ra = LAW'(!load_go ? tok * 32'(TE) + i :
                  (i + 32'd1 == 32'(TE)) ? (tok + 32'd1) * 32'(TE) : tok * 32'(TE) + i + 32'd1);
    else if (hand_now && ahead) l_ra = LAW'((tok + 32'd2) * 32'(TE));
    else l_ra = LAW'((tok + 32'd1) * 32'(TE));
  end
  logic [PO*ABITS-1:0] l_rd, l_new, lword;
  logic l_byp;
  always_ff @(posedge clk) begin
    l_rd <= lbuf[l_ra];
    l_byp <= lg_valid && lg_wa == l_ra;
    l_new <= lg_data;
  end
  assign lword = l_byp ? l_new : l_rd;

  logic signed [63:0] sum_n, bias_n;       // the state after this softmax step
  assign sum_n = edgemoe_pkg::sm_sum(bias, sum, 64'(cur_lg));
  assign bias_n = (64'(cur_lg) > bias) ? 64'(cur_lg) : bias;

  // the queues: per expert its token list and its scores (raw act values) in AXI-word
  // rows, one memory per lane of the row so that every write fills a whole memory word
  logic [RAW-1:0] a_row;                   // the row and lane of expert ex_b's next entry
  logic [31:0] a_lane;
  assign a_row = RAW'(32'(ex_b) * 32'(MR) + 32'(cnt[ex_b] >> QL));
  assign a_lane = 32'(cnt[ex_b]) & 32'(Q - 1);
  logic append;
  assign append = bs == B_APPEND;
  // the output stream's position on the next cycle (its registers and the row read ahead)
  logic [1:0] area_n;
  logic [31:0] q_ex_n, q_p_n, q_w_n;
  always_comb begin
    area_n = area; q_ex_n = q_ex; q_p_n = q_p; q_w_n = q_w;
    if (st == R_CMD) begin
      area_n = '0; q_ex_n = '0; q_p_n = '0; q_w_n = '0;
    end else if (st == R_DATA && dma_resp.wr_ready) begin
      q_w_n = q_w + 32'(Q);
      if (area != 2'd0) begin
        if (q_p + 32'(Q) == slot_w) begin
          q_p_n = '0;
          if (q_ex + 32'd1 == e) begin
            q_ex_n = '0;
            area_n = area + 2'd1;
          end else q_ex_n = q_ex + 32'd1;
        end else q_p_n = q_p + 32'(Q);
      end else if (q_w + 32'(Q) == cnt_w) area_n = 2'd1;
    end
  end
  logic [RAW-1:0] q_ra;
  assign q_ra = RAW'(q_ex_n * 32'(MR) + (q_p_n >> QL));
  logic [Q*32-1:0] idx_row, sc_row, qrow;
  for (genvar l = 0; l < Q; l++) begin : g_lane
    // block RAM although narrow: LUTs are the scarce resource (Yosys would pick LUT RAM)
    (* ram_style = "block" *) logic [TB-1:0] qidx[ME*MR];
    logic [31:0] qsc[ME*MR];
    logic [TB-1:0] idx_rd;
    always_ff @(posedge clk)
      if (rst_n && append && a_lane == 32'(l)) qidx[a_row] <= TB'(b_tok);
    always_ff @(posedge clk)
      if (rst_n && append && a_lane == 32'(l)) qsc[a_row] <= prob[31:0];
    always_ff @(posedge clk) begin
      idx_rd <= qidx[q_ra];
      sc_row[l*32+:32] <= qsc[q_ra];
    end
    assign idx_row[l*32+:32] = 32'(idx_rd);
  end

  // one write beat: Q counts, or Q entries of one expert's list (zero past its count);
  // q_w is a multiple of Q: the counts' lanes select by its upper bits alone
  logic [Q*32-1:0] beat;
  logic [CW-1:0] cnt_ex;
  logic row_ok;
  assign cnt_ex = cnt[EW'(q_ex)];
  assign row_ok = (q_p >> QL) < 32'(MR);
  assign qrow = !row_ok ? '0 : (area == 2'd1) ? idx_row : sc_row;
  always_comb begin
    for (int l = 0; l < Q; l++) begin
      if (area == 2'd0)
        beat[l*32+:32] = (q_w + 32'(l) < e) ? 32'(cnt[EW'((q_w & ~32'(Q - 1)) | 32'(l))]) : 32'd0;
      else beat[l*32+:32] = (q_p + 32'(l) < 32'(cnt_ex)) ? qrow[l*32+:32] : 32'd0;
    end
  end
  assign dma_req.wr_valid = st == R_DATA;
  assign dma_req.wr_data = WB'(beat);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= R_IDLE; bs <= B_IDLE;
      done <= 1'b0;
      tok <= '0; i <= '0; jb <= '0; b_tok <= '0; overflows <= '0;
      bias <= '0; sum <= '0; recip <= '0; b_bias <= '0; b_sum <= '0;
      rdy <= '0; lg_all <= 1'b0;
      area <= '0; q_ex <= '0; q_p <= '0; q_w <= '0; total_w <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
      for (int x = 0; x < ME; x++) begin
        cnt[x] <= '0;
        lg[x] <= '0;
      end
      for (int x = 0; x < MK; x++) begin
        chosen[x] <= '0; ch_lg[x] <= '0; b_ch[x] <= '0; b_lg[x] <= '0;
      end
    end else begin
      done <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      if (start) lg_all <= 1'b1;
      if (lg_valid && lg_tile + 32'd1 == te_job) rdy[TKW'(lg_tok)] <= 1'b1;
      // ---- first stage: softmax and top-k of token tok
      case (st)
        R_IDLE: if (lg_valid || start) begin  // the gate's logits have begun
          for (int x = 0; x < ME; x++) cnt[x] <= '0;
          tok <= '0;
          i <= '0;
          st <= R_LOAD;
        end
        R_LOAD: if (load_go) begin
          for (int o = 0; o < PO; o++)
            if (i * 32'(PO) + 32'(o) < 32'(ME))
              lg[EW'(i * 32'(PO) + 32'(o))] <= lword[o*ABITS+:ABITS];
          i <= i + 32'd1;
          if (i + 32'd1 == 32'(TE)) begin
            i <= '0;
            bias <= edgemoe_pkg::ACT_RAW_MIN;
            sum <= 64'sd0;
            st <= R_SOFT;
          end
        end
        R_SOFT: begin  // one expert's softmax step; its top-k insertion rides along
          sum <= sum_n;
          bias <= bias_n;
          for (int x = 0; x < MK; x++) begin
            chosen[x] <= ins_ch[x];
            ch_lg[x] <= ins_lg[x];
          end
          i <= i + 32'd1;
          if (last_soft) begin
            if (bs == B_IDLE) begin  // hand the token over now (B needs 1 + top_k cycles)
              b_tok <= tok; b_bias <= bias_n; b_sum <= sum_n;
              for (int x = 0; x < MK; x++) begin
                b_ch[x] <= ins_ch[x];
                b_lg[x] <= ins_lg[x];
              end
              bs <= B_RECIP;
              tok <= tok + 32'd1;
              i <= '0;
              if (ahead) begin  // and load the next token's logits in the same cycle
                for (int o = 0; o < PO; o++)
                  if (32'(o) < 32'(ME)) lg[EW'(o)] <= lword[o*ABITS+:ABITS];
                bias <= edgemoe_pkg::ACT_RAW_MIN;
                sum <= 64'sd0;
              end else st <= (tok + 32'd1 == t) ? R_FLUSH : R_LOAD;
            end else st <= R_HAND;
          end
        end
        R_HAND: if (bs == B_IDLE) begin  // hand the token to the second stage
          b_tok <= tok; b_bias <= bias; b_sum <= sum;
          for (int x = 0; x < MK; x++) begin
            b_ch[x] <= chosen[x];
            b_lg[x] <= ch_lg[x];
          end
          bs <= B_RECIP;
          tok <= tok + 32'd1;
          i <= '0;
          st <= (tok + 32'd1 == t) ? R_FLUSH : R_LOAD;
        end
        R_FLUSH: if (bs == B_IDLE && lg_all) st <= R_CMD;
        R_CMD: begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= queues;
          total_w <= cnt_w + ((e * slot_w) << 1);
          dma_req.wr_cmd_len <= (cnt_w + ((e * slot_w) << 1)) << 2;
          dma_req.wr_cmd_wlg <= 4'(edgemoe_pkg::AXI_LG);
          st <= R_DATA;
        end
        R_DATA: if (dma_resp.wr_ready && q_w + 32'(Q) == total_w) st <= R_END;
        R_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          rdy <= '0;
          lg_all <= 1'b0;
          st <= R_IDLE;
        end
        default: st <= R_IDLE;
      endcase
      // ---- second stage: 1/sum and the appends of token b_tok
      area <= area_n; q_ex <= q_ex_n; q_p <= q_p_n; q_w <= q_w_n;
      case (bs)
        B_IDLE: ;  // R_HAND starts it
        B_RECIP: begin
          recip <= edgemoe_pkg::recip_act(b_sum);
          jb <= '0;
          bs <= B_APPEND;
        end
        B_APPEND: begin
          cnt[ex_b] <= cnt[ex_b] + CW'(1);  // the entry itself: the lane memories (g_lane)
          overflows <= overflows + 64'(prob[64]);  // edgemoe_ctrl_prof reports the increase
          jb <= jb + 32'd1;
          if (jb + 32'd1 == topk) bs <= B_IDLE;
        end
        default: bs <= B_IDLE;
      endcase
    end
  end
  logic unused;
  assign unused = ^{prob[63:32], dma_resp, b_tok[31:TB]};
  // the router only writes (its logits come from the linear engine)
  assign dma_req.rd_cmd_valid = 1'b0;
  assign dma_req.rd_cmd_addr = '0;
  assign dma_req.rd_cmd_len = '0;
  assign dma_req.rd_cmd_wlg = '0;
  assign dma_req.rd_ready = 1'b0;
endmodule
