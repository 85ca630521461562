// MoE router: per token, single-pass softmax over the expert logits (computed by the
// linear engine into the logits buffer), top-k with ties to the lower expert index, the
// chosen experts' probabilities (exp(l - max) * 1/sum, not renormalised), appended in
// token order to per-expert queues; then the whole queue region is written:
// counts u32[experts] (64-byte padded), per expert its token list, per expert its scores
// (edgemoe.layout.queue_layout), unused slots zero.
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
  localparam int TE = (ME + PO - 1) / PO;            // logit words per token
  localparam int LAW = $clog2(MT * TE > 1 ? MT * TE : 2);
  localparam int QAW = $clog2(ME * MT > 1 ? ME * MT : 2);
  localparam int EW = $clog2(ME > 1 ? ME : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  // logits of every token, written while the linear engine runs the gate matmul
  logic [PO*ABITS-1:0] lbuf[MT*TE];
  always_ff @(posedge clk) begin
    if (lg_valid) lbuf[LAW'(lg_tok * 32'(TE) + lg_tile)] <= lg_data;
  end

  typedef enum logic [3:0] {R_IDLE, R_LOAD, R_SOFT, R_RECIP, R_TOPK, R_APPEND, R_NEXT,
                            R_CMD, R_DATA, R_END} st_t;
  st_t st;
  logic [31:0] tok, i, j;
  logic signed [63:0] lg[ME];
  logic signed [63:0] bias, sum, recip;
  logic [ME-1:0] taken;
  logic [EW-1:0] chosen[edgemoe_pkg::MAX_TOP_K];
  logic [31:0] cnt[ME];
  logic [31:0] qidx[ME*MT];
  logic [31:0] qsc[ME*MT];                 // int32 words holding raw act values
  // output stream position
  logic [1:0] area;                   // 0 counts, 1 token lists, 2 scores
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

  logic [EW-1:0] ex_j;
  assign ex_j = chosen[j[$clog2(edgemoe_pkg::MAX_TOP_K > 1 ? edgemoe_pkg::MAX_TOP_K : 2)-1:0]];
  logic [64:0] prob;                       // {overflowed, score}
  assign prob = edgemoe_pkg::sm_prob_c(lg[ex_j], bias, recip);
  logic [PO*ABITS-1:0] lword;
  assign lword = lbuf[LAW'(tok * 32'(TE) + i)];

  logic [31:0] out_word;
  always_comb begin
    if (area == 2'd0) out_word = (q_w < e) ? cnt[EW'(q_w)] : 32'd0;
    else if (q_p < cnt[EW'(q_ex)])
      out_word = (area == 2'd1) ? qidx[QAW'(q_ex * 32'(MT) + q_p)]
                                : qsc[QAW'(q_ex * 32'(MT) + q_p)];
    else out_word = 32'd0;
  end
  assign dma_req.wr_valid = st == R_DATA;
  assign dma_req.wr_data = WB'(out_word);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= R_IDLE;
      done <= 1'b0;
      tok <= '0; i <= '0; j <= '0; overflows <= '0;
      bias <= '0; sum <= '0; recip <= '0;
      taken <= '0;
      area <= '0; q_ex <= '0; q_p <= '0; q_w <= '0; total_w <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
      for (int x = 0; x < ME; x++) begin
        cnt[x] <= '0;
        lg[x] <= '0;
      end
      for (int x = 0; x < edgemoe_pkg::MAX_TOP_K; x++) chosen[x] <= '0;
    end else begin
      done <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (st)
        R_IDLE: if (start) begin
          for (int x = 0; x < ME; x++) cnt[x] <= '0;
          tok <= '0;
          i <= '0;
          st <= R_LOAD;
        end
        R_LOAD: begin
          for (int o = 0; o < PO; o++)
            if (i * 32'(PO) + 32'(o) < 32'(ME))
              lg[EW'(i * 32'(PO) + 32'(o))] <= edgemoe_pkg::sext(
                  64'(lword[o*ABITS+:ABITS]), 2'(AL), 1'b1);
          i <= i + 32'd1;
          if (i + 32'd1 == 32'(TE)) begin
            i <= '0;
            bias <= edgemoe_pkg::ACT_RAW_MIN;
            sum <= 64'sd0;
            st <= R_SOFT;
          end
        end
        R_SOFT: begin
          sum <= edgemoe_pkg::sm_sum(bias, sum, lg[EW'(i)]);
          if (lg[EW'(i)] > bias) bias <= lg[EW'(i)];
          i <= i + 32'd1;
          if (i + 32'd1 == e) st <= R_RECIP;
        end
        R_RECIP: begin
          recip <= edgemoe_pkg::recip_act(sum);
          taken <= '0;
          j <= '0;
          st <= R_TOPK;
        end
        R_TOPK: begin
          chosen[j[$clog2(edgemoe_pkg::MAX_TOP_K > 1 ? edgemoe_pkg::MAX_TOP_K : 2)-1:0]] <= best;
          taken[best] <= 1'b1;
          j <= j + 32'd1;
          if (j + 32'd1 == topk) begin
            j <= '0;
            st <= R_APPEND;
          end
        end
        R_APPEND: begin
          qidx[QAW'(32'(ex_j) * 32'(MT) + cnt[ex_j])] <= tok;
          qsc[QAW'(32'(ex_j) * 32'(MT) + cnt[ex_j])] <= prob[31:0];
          cnt[ex_j] <= cnt[ex_j] + 32'd1;
          overflows <= overflows + 64'(prob[64]);  // edgemoe_ctrl_prof reports the increase
          j <= j + 32'd1;
          if (j + 32'd1 == topk) st <= R_NEXT;
        end
        R_NEXT: begin
          tok <= tok + 32'd1;
          i <= '0;
          st <= (tok + 32'd1 == t) ? R_CMD : R_LOAD;
        end
        R_CMD: begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= queues;
          total_w <= cnt_w + ((e * slot_w) << 1);
          dma_req.wr_cmd_len <= (cnt_w + ((e * slot_w) << 1)) << 2;
          dma_req.wr_cmd_wlg <= 4'd2;
          area <= '0; q_ex <= '0; q_p <= '0; q_w <= '0;
          st <= R_DATA;
        end
        R_DATA: if (dma_resp.wr_ready) begin
          q_w <= q_w + 32'd1;
          if (area != 2'd0) begin
            if (q_p + 32'd1 == slot_w) begin
              q_p <= '0;
              if (q_ex + 32'd1 == e) begin
                q_ex <= '0;
                area <= area + 2'd1;
              end else q_ex <= q_ex + 32'd1;
            end else q_p <= q_p + 32'd1;
          end else if (q_w + 32'd1 == cnt_w) area <= 2'd1;
          if (q_w + 32'd1 == total_w) st <= R_END;
        end
        R_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          st <= R_IDLE;
        end
        default: st <= R_IDLE;
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
