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
  // a beat never straddles two areas: they are 64-byte aligned and AXI words are at most
  // 64 bytes (params.accel limits axi_bits)

  // logits of every token, written while the linear engine runs the gate matmul
  logic [PO*ABITS-1:0] lbuf[MT*TE];
  always_ff @(posedge clk) begin
    if (lg_valid) lbuf[LAW'(lg_tok * 32'(TE) + lg_tile)] <= lg_data;
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
  logic [31:0] tok, i, j, jb;
  logic signed [63:0] lg[ME];
  logic signed [63:0] bias, sum, recip;
  logic [ME-1:0] taken;
  logic [EW-1:0] chosen[MK];
  logic signed [63:0] ch_lg[MK];           // the chosen experts' logits
  // the previous token, appended by the second stage
  logic [31:0] b_tok;
  logic signed [63:0] b_bias, b_sum;
  logic [EW-1:0] b_ch[MK];
  logic signed [63:0] b_lg[MK];
  logic [31:0] cnt[ME];
  logic [Q*32-1:0] qidx[ME*MR];            // per expert, its token list in AXI-word rows
  logic [Q*32-1:0] qsc[ME*MR];             // ... and its scores (raw act values in int32)
  // output stream position
  logic [1:0] area;                        // 0 counts, 1 token lists, 2 scores
  logic [31:0] q_ex, q_p, q_w;
  logic [31:0] slot_w, cnt_w, total_w;
  assign slot_w = ((t << 2) + 32'd63 >> 6) << 4;   // align(4t) / 4
  assign cnt_w = ((e << 2) + 32'd63 >> 6) << 4;    // align(4e) / 4

  // argmax over the experts not taken yet (strictly greater: ties keep the lower index)
  logic [EW-1:0] best;
  logic found;
  always_comb begin
    best = '0;
    found = 1'b0;
    for (int x = 0; x < ME; x++) begin
      if (32'(x) < e && !taken[x] && (!found || lg[x] > lg[best])) begin
        best = EW'(x);
        found = 1'b1;
      end
    end
  end

  logic [EW-1:0] ex_b;                     // the expert the second stage appends to
  assign ex_b = b_ch[KW'(jb)];
  logic [64:0] prob;                       // {overflowed, score}
  assign prob = edgemoe_pkg::sm_prob_c(b_lg[KW'(jb)], b_bias, recip);
  logic [PO*ABITS-1:0] lword;
  // R_SOFT reads the next token's word ahead (one-word tokens), R_LOAD word i of this one
  assign lword = lbuf[LAW'((st == R_SOFT) ? (tok + 32'd1) * 32'(TE) : tok * 32'(TE) + i)];
  logic last_soft, ahead;                  // the token's last softmax step; next one loads
  assign last_soft = st == R_SOFT && i + 32'd1 == e;
  assign ahead = TE == 1 && tok + 32'd1 < t && (rdy[$clog2(MT > 1 ? MT : 2)'(tok + 32'd1)] ||
                                                 lg_all);
  logic signed [63:0] sum_n, bias_n;       // the state after this softmax step
  assign sum_n = edgemoe_pkg::sm_sum(bias, sum, lg[EW'(i)]);
  assign bias_n = (lg[EW'(i)] > bias) ? lg[EW'(i)] : bias;
  logic [RAW-1:0] a_row;                   // the row and lane of expert ex_b's next entry
  logic [31:0] a_lane;
  assign a_row = RAW'(32'(ex_b) * 32'(MR) + (cnt[ex_b] >> QL));
  assign a_lane = cnt[ex_b] & 32'(Q - 1);

  // one write beat: Q counts, or Q entries of one expert's list (zero past its count)
  logic [Q*32-1:0] beat, qrow;
  logic row_ok;
  assign row_ok = (q_p >> QL) < 32'(MR);
  assign qrow = !row_ok ? '0 : (area == 2'd1) ? qidx[RAW'(q_ex * 32'(MR) + (q_p >> QL))]
                                              : qsc[RAW'(q_ex * 32'(MR) + (q_p >> QL))];
  always_comb begin
    for (int l = 0; l < Q; l++) begin
      if (area == 2'd0) beat[l*32+:32] = (q_w + 32'(l) < e) ? cnt[EW'(q_w + 32'(l))] : 32'd0;
      else beat[l*32+:32] = (q_p + 32'(l) < cnt[EW'(q_ex)]) ? qrow[l*32+:32] : 32'd0;
    end
  end
  assign dma_req.wr_valid = st == R_DATA;
  assign dma_req.wr_data = WB'(beat);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= R_IDLE; bs <= B_IDLE;
      done <= 1'b0;
      tok <= '0; i <= '0; j <= '0; jb <= '0; b_tok <= '0; overflows <= '0;
      bias <= '0; sum <= '0; recip <= '0; b_bias <= '0; b_sum <= '0;
      taken <= '0; rdy <= '0; lg_all <= 1'b0;
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
      if (lg_valid && lg_tile + 32'd1 == te_job) rdy[$clog2(MT > 1 ? MT : 2)'(lg_tok)] <= 1'b1;
      // ---- first stage: softmax and top-k of token tok
      case (st)
        R_IDLE: if (lg_valid || start) begin  // the gate's logits have begun
          for (int x = 0; x < ME; x++) cnt[x] <= '0;
          tok <= '0;
          i <= '0;
          st <= R_LOAD;
        end
        R_LOAD: if (rdy[$clog2(MT > 1 ? MT : 2)'(tok)] || lg_all) begin
          for (int o = 0; o < PO; o++)
            if (i * 32'(PO) + 32'(o) < 32'(ME))
              lg[EW'(i * 32'(PO) + 32'(o))] <= edgemoe_pkg::sext(
                  64'(lword[o*ABITS+:ABITS]), 2'(AL), 1'b1);
          i <= i + 32'd1;
          if (i + 32'd1 == 32'(TE)) begin
            i <= '0;
            j <= '0;
            taken <= '0;
            bias <= edgemoe_pkg::ACT_RAW_MIN;
            sum <= 64'sd0;
            st <= R_SOFT;
          end
        end
        R_SOFT: begin  // one expert's softmax step; the top-k picks ride along
          sum <= sum_n;
          bias <= bias_n;
          if (j < topk) begin
            chosen[KW'(j)] <= best;
            ch_lg[KW'(j)] <= lg[best];
            taken[best] <= 1'b1;
            j <= j + 32'd1;
          end
          i <= i + 32'd1;
          if (last_soft) begin
            if (bs == B_IDLE) begin  // hand the token over now (B needs 1 + top_k cycles)
              b_tok <= tok; b_bias <= bias_n; b_sum <= sum_n;
              for (int x = 0; x < MK; x++) begin
                b_ch[x] <= (32'(x) == j && j < topk) ? best : chosen[x];
                b_lg[x] <= (32'(x) == j && j < topk) ? lg[best] : ch_lg[x];
              end
              bs <= B_RECIP;
              tok <= tok + 32'd1;
              i <= '0;
              if (ahead) begin  // and load the next token's logits in the same cycle
                for (int o = 0; o < PO; o++)
                  if (32'(o) < 32'(ME))
                    lg[EW'(o)] <= edgemoe_pkg::sext(64'(lword[o*ABITS+:ABITS]), 2'(AL), 1'b1);
                j <= '0;
                taken <= '0;
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
          area <= '0; q_ex <= '0; q_p <= '0; q_w <= '0;
          st <= R_DATA;
        end
        R_DATA: if (dma_resp.wr_ready) begin
          q_w <= q_w + 32'(Q);
          if (area != 2'd0) begin
            if (q_p + 32'(Q) == slot_w) begin
              q_p <= '0;
              if (q_ex + 32'd1 == e) begin
                q_ex <= '0;
                area <= area + 2'd1;
              end else q_ex <= q_ex + 32'd1;
            end else q_p <= q_p + 32'(Q);
          end else if (q_w + 32'(Q) == cnt_w) area <= 2'd1;
          if (q_w + 32'(Q) == total_w) st <= R_END;
        end
        R_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          rdy <= '0;
          lg_all <= 1'b0;
          st <= R_IDLE;
        end
        default: st <= R_IDLE;
      endcase
      // ---- second stage: 1/sum and the appends of token b_tok
      case (bs)
        B_IDLE: ;  // R_HAND starts it
        B_RECIP: begin
          recip <= edgemoe_pkg::recip_act(b_sum);
          jb <= '0;
          bs <= B_APPEND;
        end
        B_APPEND: begin
          qidx[a_row][a_lane*32+:32] <= b_tok;
          qsc[a_row][a_lane*32+:32] <= prob[31:0];
          cnt[ex_b] <= cnt[ex_b] + 32'd1;
          overflows <= overflows + 64'(prob[64]);  // edgemoe_ctrl_prof reports the increase
          jb <= jb + 32'd1;
          if (jb + 32'd1 == topk) bs <= B_IDLE;
        end
        default: bs <= B_IDLE;
      endcase
    end
  end
  logic unused;
  assign unused = ^{prob[63:32], dma_resp};
  // the router only writes (its logits come from the linear engine)
  assign dma_req.rd_cmd_valid = 1'b0;
  assign dma_req.rd_cmd_addr = '0;
  assign dma_req.rd_cmd_len = '0;
  assign dma_req.rd_cmd_wlg = '0;
  assign dma_req.rd_ready = 1'b0;
endmodule
