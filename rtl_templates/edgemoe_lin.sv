// Unified linear engine: a P_OUT x P_IN MAC array for LINEAR, CONV (im2col rows) and the
// MOE_GATE logits (MOE_EXPERTS runs its fc1/fc2 as LINEAR jobs).
//
// Per strip of output tiles that fits the weight buffer: load the strip's bias and tile-
// packed weights, then for every token (or output pixel) the row loader fills a row slot
// (LINEAR_ROW_SLOTS of them, edgemoe_lin_rows) while the MAC array works on an earlier
// token: for each output tile, P_IN x P_OUT products per cycle accumulate exactly (64-bit,
// wrap-around) from the bias, then one quantization into act, GELU / ReLU, and the
// SCORE_ACC / RESIDUAL combine with the base row; finished rows
// are written by the writer while the next token computes.  MOE_GATE logits go to the
// router instead of memory.  WSKIP: edgemoe_lin_skip fetches and issues non-zero tiles only.
// W8A8: pairs of output tiles share the multipliers (edgemoe_lin_pair, edgemoe_lin_dot).
module edgemoe_lin (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [1:0]  mode,            // 0 LINEAR, 1 CONV, 2 MOE_GATE logits
    input  logic [31:0] t, n, k,
    input  logic [63:0] src, dst, wts, bias, base, index, scores,
    input  logic [15:0] flags,
    input  logic [31:0] in_h, in_w, ci, ow,
    input  logic [7:0]  kk, ks, kp,
    input  logic [63:0] scales,          // W8A8 (FLAG_WFMT_Q8): edgemoe_lin_q8
    input  logic [31:0] x_mul,
    input  logic [7:0]  dq,
    input  logic [31:0] q4_split, input logic [63:0] q4_index,  // WFMT_Q4: edgemoe_lin_q4
    input  logic [2:0]  hidden_codes, input logic [31:0] hidden_x_mul,  // W8A8 int8 code rows
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic        lg_valid,
    output logic [31:0] lg_tok, lg_tile,
    output logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] lg_data,
    // weight prefetch (ping/pong): the next job's first strip loads into the other bank
    // through a second read DMA while this job computes
    input  logic        pf_req,
    output logic        pf_ack,
    input  logic [63:0] pf_wts,
    input  logic [31:0] pf_n, pf_k,
    input  logic [1:0]  pf_wlg,
    input  logic        pf_dirty,          // a write hit the prefetch window
    output logic        pf_win,            // the window [pf_lo, pf_hi) is watched
    output logic [63:0] pf_lo, pf_hi,
    output logic        pf_cmd_valid,
    input  logic        pf_cmd_ready,
    output logic [63:0] pf_cmd_addr,
    output logic [31:0] pf_cmd_len,
    output logic [3:0]  pf_cmd_wlg,
    input  logic        pf_rd_valid,
    output logic        pf_rd_ready,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] pf_rd_data,
    input  logic        pf_rd_last,
    output logic [63:0] overflows          // values that overflowed act (running count)
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  localparam int BBITS = edgemoe_pkg::BIAS_BITS;
  localparam int PBITS = 8 << edgemoe_pkg::PIXEL_LG;
  localparam int XBITS = (ABITS > PBITS + 1) ? ABITS : PBITS + 1;
  localparam int KT = edgemoe_pkg::MAX_IN_FEATURES / PI;
  localparam int TOM = edgemoe_pkg::MAX_OUT_FEATURES / PO;
  localparam int WT = edgemoe_pkg::WBUF_TILES;
  localparam int WAW = $clog2(WT > 1 ? WT : 2);
  localparam int RS = edgemoe_pkg::LINEAR_ROW_SLOTS;  // row slots (edgemoe_lin_rows)
  localparam int SB = $clog2(RS);
  localparam int RAW = $clog2(RS * KT);
  localparam int BAW = $clog2(RS * TOM);
  localparam int OAW = $clog2(2 * TOM);  // two output slots (edgemoe_lin_writer)

  // ------------------------------------------------------------------ job
  logic [1:0] jm;
  logic [31:0] jt, jn, jk;
  logic [63:0] jsrc, jdst, jwts, jbias, jbase, jindex, jscores, jscales, jq4i;
  logic f_gelu, f_relu, f_res, f_gat, f_sca, f_sacc, f_pix, f_wconv, f_wpatch, f_battn, f_q8, f_wskip, f_q4;
  logic [31:0] j_in_h, j_in_w, j_ci, j_ow, j_xmul, j_q4s, j_hxm;
  logic [7:0] j_kk, j_ks, j_kp, j_dq;
  logic [1:0] wlg, blg, xlg; logic [2:0] j_hc;  // j_hc: hidden_codes (_writer, _loader, _bbuf)
  int q_sh, b_sh;
  logic base_en, gate; logic [1:0] scl_ph, ph_next;  // the strip load's phase (edgemoe_lin_bbuf)
  assign base_en = f_sacc || f_res;
  assign gate = jm == 2'd2;
  edgemoe_lin_fmt u_fmt (.f_q8(f_q8 || f_q4), .f_wpatch, .f_wconv, .f_battn, .f_pix, .dq(j_dq), .wlg, .blg, .xlg,
                        .q_sh, .b_sh);

  // strip geometry
  logic [31:0] tiles_in, to_total, to0, srows, strip_cols;
  logic [63:0] tile_bytes;
  assign tiles_in = (jk + 32'(PI - 1)) >> PI_LG;
  assign to_total = (jn + 32'(PO - 1)) >> PO_LG;
  assign tile_bytes = 64'(PO * PI) << wlg;
  assign strip_cols = (jn - (to0 << PO_LG) < (srows << PO_LG)) ? jn - (to0 << PO_LG)
                                                                  : srows << PO_LG;

  // ------------------------------------------------------------------ buffers
  logic [PO*PI*WBITS-1:0] w_q;  // the MAC array's weights (edgemoe_lin_wbuf, ping / pong)
  logic cur_bank;
  logic [PI-1:0][XBITS-1:0] x_q;  // the MAC array's input tile (edgemoe_lin_rows)
  logic [PO*ABITS-1:0] obuf[2*TOM];  // two output slots

  // ------------------------------------------------------------------ strip sequencer
  typedef enum logic [3:0] {J_IDLE, J_SIZE, J_BIAS, J_BIAS_W, J_W0, J_WTS, J_WTS_W, J_SKIP,
                            J_RUN, J_NEXT, J_DRAIN, J_DONE, J_Q4} job_t;
  job_t js;
  logic [31:0] wcount;
  logic [31:0] rows_done;               // tokens finished (written or sent to the router)
  logic ld_go, s_rd_cmd_valid;
  logic [63:0] s_rd_cmd_addr;
  logic [31:0] s_rd_cmd_len;
  logic [3:0] s_rd_cmd_wlg;
  logic s_loading;
  assign s_loading = js == J_BIAS_W || js == J_WTS_W;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      js <= J_IDLE;
      done <= 1'b0;
      jm <= '0; jt <= '0; jn <= '0; jk <= '0;
      jsrc <= '0; jdst <= '0; jwts <= '0; jbias <= '0; jbase <= '0; jindex <= '0;
      jscores <= '0; jscales <= '0; j_xmul <= '0; j_dq <= '0; scl_ph <= '0; j_q4s <= '0; jq4i <= '0;
      {j_hc, j_hxm} <= '0;
      {f_gelu, f_relu, f_res, f_gat, f_sca, f_sacc, f_pix, f_wconv, f_wpatch, f_battn, f_q8, f_wskip, f_q4} <= '0;
      sk_go <= 1'b0; sk_fetch <= 1'b0;
      j_in_h <= '0; j_in_w <= '0; j_ci <= '0; j_ow <= '0; j_kk <= '0; j_ks <= '0; j_kp <= '0;
      to0 <= '0; srows <= '0; wcount <= '0; ld_go <= 1'b0;
      cur_bank <= 1'b0; w0_decided <= 1'b0;
      s_rd_cmd_valid <= 1'b0; s_rd_cmd_addr <= '0; s_rd_cmd_len <= '0; s_rd_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      ld_go <= 1'b0;
      sk_go <= 1'b0;
      if (s_rd_cmd_valid && dma_resp.rd_cmd_ready) s_rd_cmd_valid <= 1'b0;
      case (js)
        J_IDLE: if (start) begin
          jm <= mode; jt <= t; jn <= n; jk <= k;
          jsrc <= src; jdst <= dst; jwts <= wts; jbias <= bias; jbase <= base;
          jindex <= index; jscores <= scores; jscales <= scales; j_xmul <= x_mul; j_dq <= dq;
          {j_hc, j_hxm} <= {mode == 2'd0 ? hidden_codes : 3'd0, hidden_x_mul};
          f_q8 <= mode != 2'd2 && flags[edgemoe_pkg::FLAG_BIT_WFMT_Q8];  // LINEAR, CONV
          f_wskip <= mode == 2'd0 && flags[edgemoe_pkg::FLAG_BIT_WSKIP];
          {f_q4, j_q4s, jq4i} <= {mode == 2'd0 && flags[edgemoe_pkg::FLAG_BIT_WFMT_Q4], q4_split, q4_index};
          f_gelu <= flags[edgemoe_pkg::FLAG_BIT_GELU]; f_relu <= flags[edgemoe_pkg::FLAG_BIT_RELU];
          f_res <= flags[edgemoe_pkg::FLAG_BIT_RESIDUAL]; f_gat <= flags[edgemoe_pkg::FLAG_BIT_GATHER];
          f_sca <= flags[edgemoe_pkg::FLAG_BIT_SCATTER];
          f_sacc <= flags[edgemoe_pkg::FLAG_BIT_SCORE_ACC];
          f_pix <= flags[edgemoe_pkg::FLAG_BIT_PIXEL_INPUT];
          f_wconv <= flags[edgemoe_pkg::FLAG_BIT_WFMT_CONV];
          f_wpatch <= flags[edgemoe_pkg::FLAG_BIT_WFMT_PATCH];
          f_battn <= flags[edgemoe_pkg::FLAG_BIT_BFMT_ATTN];
          j_in_h <= in_h; j_in_w <= in_w; j_ci <= ci; j_ow <= ow;
          j_kk <= kk; j_ks <= ks; j_kp <= kp;
          to0 <= '0;
          srows <= 32'd1;
          w0_decided <= 1'b0;
          js <= J_SIZE;
        end
        // the largest strip of output tiles whose weights fit the buffer
        J_SIZE: begin
          if (to0 + srows < to_total && (srows + 32'd1) * tiles_in <= 32'(WT))
            srows <= srows + 32'd1;
          else js <= (gate || f_q4) ? (to0 == 32'd0 ? J_W0 : f_q4 ? J_Q4 : J_WTS) : J_BIAS;
        end
        J_BIAS: begin
          s_rd_cmd_valid <= 1'b1;
          {s_rd_cmd_addr, s_rd_cmd_len, s_rd_cmd_wlg} <= {bl_addr, bl_len, bl_wlg};
          wcount <= '0;
          js <= J_BIAS_W;
        end
        J_BIAS_W: if (dma_resp.rd_valid) begin
          wcount <= wcount + 32'd1;
          if (dma_resp.rd_last) begin
            scl_ph <= ph_next;
            js <= ph_next != '0 ? J_BIAS : (to0 == 32'd0) ? J_W0 : J_WTS;
          end
        end
        // strip 0: use the prefetched bank when it holds exactly these weights, unchanged
        J_W0: begin
          if (pf_match && pf_busy && pf_fit) begin
            js <= J_W0;  // the prefetch of these weights is still arriving
          end else if (pf_match && pf_clean && pf_fit) begin
            cur_bank <= !cur_bank;
            w0_decided <= 1'b1;
            {ld_go, sk_go, sk_fetch} <= {!f_wskip, f_wskip, 1'b0};  // WSKIP: the map only
            js <= f_wskip ? J_SKIP : J_RUN;
          end else begin
            w0_decided <= 1'b1;
            js <= f_q4 ? J_Q4 : J_WTS;
          end
        end
        J_WTS: if (f_wskip) begin
          {sk_go, sk_fetch} <= 2'b11;
          js <= J_SKIP;
        end else begin
          s_rd_cmd_valid <= 1'b1;
          s_rd_cmd_addr <= jwts + 64'(to0) * 64'(tiles_in) * tile_bytes;
          s_rd_cmd_len <= 32'(64'(srows) * 64'(tiles_in) * tile_bytes);
          s_rd_cmd_wlg <= 4'(PO_LG + PI_LG) + {2'd0, wlg};
          wcount <= '0;
          js <= J_WTS_W;
        end
        J_WTS_W: if (dma_resp.rd_valid) begin
          wcount <= wcount + 32'd1;
          if (dma_resp.rd_last) begin
            ld_go <= 1'b1;
            js <= J_RUN;
          end
        end
        J_SKIP: if (sk_done) begin ld_go <= 1'b1; js <= J_RUN; end  // beats listed, tiles in
        J_Q4: if (q4_done) begin ld_go <= 1'b1; js <= J_RUN; end  // weights, biases, multipliers in
        J_RUN: if (rows_done == jt && !ld_go) js <= J_NEXT;
        J_NEXT: begin
          if (to0 + srows >= to_total) js <= J_DRAIN;
          else begin
            to0 <= to0 + srows;
            srows <= 32'd1;
            js <= J_SIZE;
          end
        end
        J_DRAIN: if (!dma_req.wr_cmd_valid) js <= J_DONE;
        J_DONE: begin
          done <= 1'b1;
          js <= J_IDLE;
        end
        default: js <= J_IDLE;
      endcase
    end
  end

  // WFMT_Q4: edgemoe_lin_q4 loads each strip (13-bit weights) for an unpaired W8A8 pass; built
  // only where weight_formats lists q4 (else the checker refuses WFMT_Q4: J_Q4 never runs)
  logic q4_done, q4_we, q4_bwe;
  logic [31:0] q4_at, q4_bat;
  logic [PO*PI*WBITS-1:0] q4_word;
  logic [PO*PI*WBITS/8-1:0] q4_be;
  logic [PO*BBITS-1:0] q4_bword, b2_word;  // edgemoe_lin_bbuf: biases, multipliers
  logic [PO*32-1:0] q4_sword, s2_word, w_muls;  // w_muls: the writer's code multipliers
  logic [63:0] bl_addr; logic [31:0] bl_len, rd_i; logic [3:0] bl_wlg;  // rd_i: edgemoe_lin_writer
  edgemoe_pkg::dma_req_t q4_dma;
  if (edgemoe_pkg::WFMT_Q4_BUILT != 0) begin : g_q4
    edgemoe_lin_q4 #(.TW(PO * PI * WBITS), .BBITS(BBITS)) u_q4 (
        .clk, .rst_n, .start(js == J_Q4), .wts(jwts), .bias(jbias), .scales(jscales), .index(jq4i),
        .n(jn), .k(jk), .split(j_q4s), .blg, .col0(to0 << PO_LG), .strip_cols, .tiles_in, .done(q4_done),
        .dma_req(q4_dma), .dma_resp, .w_we(q4_we), .w_at(q4_at), .w_word(q4_word), .w_be(q4_be),
        .b_we(q4_bwe), .b_at(q4_bat), .b_word(q4_bword), .s_word(q4_sword));
  end else begin : g_no_q4
    assign {q4_done, q4_we, q4_at, q4_be, q4_bwe, q4_bat} = '0;
    assign q4_dma = '0; assign q4_word = '0; assign q4_bword = '0; assign q4_sword = '0;
    logic unused_q4; assign unused_q4 = ^jq4i;  // the experts' channel_index address
  end

  edgemoe_lin_bbuf #(.TOM(TOM), .BBITS(BBITS)) u_bbuf (
      .clk, .ph(scl_ph), .q8(f_q8), .cm_on(j_hc[2]), .bias(jbias), .scales(jscales), .col0(to0 << PO_LG),
      .cols(srows << PO_LG), .n_pad(to_total << PO_LG), .ph_next, .ld_addr(bl_addr), .ld_len(bl_len),
      .ld_wlg(bl_wlg), .ld_we(js == J_BIAS_W && dma_resp.rd_valid), .ld_at(wcount), .blg,
      .ld_data(dma_resp.rd_data), .q4_we(q4_bwe), .q4_at(q4_bat), .q4_bword, .q4_sword,
      .rd_at(e_to_nx), .b_word_q(b2_word), .s_word_q(s2_word), .w_at(rd_i), .hx_mul(j_hxm), .c_word_q(w_muls));

  // ------------------------------------------------------------------ tile skipping (WSKIP)
  logic sk_go, sk_fetch, sk_done, sk_cmd_valid, sk_rd_ready, sk_we, sk_first, sk_last, sk_zero;
  logic [63:0] sk_cmd_addr;
  logic [31:0] sk_cmd_len, sk_widx, sk_nb, sk_to, sk_ti, sk_w;
  logic [3:0] sk_cmd_wlg;
  edgemoe_lin_skip #(.WT(WT), .KT(KT)) u_skip (
      .clk, .rst_n, .start(sk_go), .fetch(sk_fetch), .map(jscales), .tile_bytes, .srows, .tiles_in,
      .wts(jwts + 64'(to0) * 64'(tiles_in) * tile_bytes), .tile_wlg(4'(PO_LG + PI_LG) + {2'd0, wlg}),
      .first(to0 * tiles_in), .done(sk_done), .cmd_valid(sk_cmd_valid), .cmd_ready(dma_resp.rd_cmd_ready),
      .cmd_addr(sk_cmd_addr), .cmd_len(sk_cmd_len), .cmd_wlg(sk_cmd_wlg), .rd_valid(dma_resp.rd_valid),
      .rd_ready(sk_rd_ready), .rd_byte(dma_resp.rd_data[7:0]), .we(sk_we), .widx(sk_widx), .bj(WAW'(c_bj)),
      .n_beats(sk_nb), .b_to(sk_to), .b_ti(sk_ti), .b_w(sk_w), .b_first(sk_first), .b_last(sk_last),
      .b_zero(sk_zero));

  // ------------------------------------------------------------------ weight prefetch
  logic pf_match, pf_busy, pf_clean, pf_we, w0_decided, pf_q8, pf_half, pf_fit;
  logic [31:0] pf_at;
  assign pf_fit = pf_q8 == f_q8;  // the bank's layout is this job's: pairs iff int8 (not Q4)
  logic [PO*PI*WBITS-1:0] pf_word;
  edgemoe_lin_prefetch u_prefetch (
      .clk, .rst_n, .pf_req, .pf_ack, .pf_wts, .pf_n, .pf_k, .pf_wlg, .pf_dirty, .pf_win,
      .pf_lo, .pf_hi, .job_idle(js == J_IDLE), .start, .w0_decided, .w0_check(js == J_W0),
      .jwts, .wlg, .jn, .jk, .pf_match, .pf_busy, .pf_clean, .pf_we, .pf_at, .pf_q8, .pf_half, .pf_word,
      .pf_cmd_valid, .pf_cmd_ready, .pf_cmd_addr, .pf_cmd_len, .pf_cmd_wlg, .pf_rd_valid,
      .pf_rd_ready, .pf_rd_data, .pf_rd_last);

  // ------------------------------------------------------------------ row loader
  logic [RS-1:0] row_full;
  logic fill;
  logic [SB-1:0] fill_slot;
  logic [31:0] fill_row, fill_tok;
  logic signed [63:0] fill_score;
  logic all_loaded;
  logic [PI-1:0] rb_we;
  logic [PI-1:0][RAW-1:0] rb_addr;
  logic [PI-1:0][XBITS-1:0] rb_data;
  logic bb_we;
  logic [BAW-1:0] bb_addr;
  logic [PO*ABITS-1:0] bb_data;
  logic l_rd_cmd_valid, l_rd_ready;
  logic [63:0] l_rd_cmd_addr;
  logic [31:0] l_rd_cmd_len;
  logic [3:0] l_rd_cmd_wlg;
  edgemoe_lin_loader #(.XBITS(XBITS)) u_loader (
      .clk, .rst_n, .go(ld_go), .conv(jm == 2'd1), .t(jt), .n(jn), .k(jk), .src(jsrc),
      .base(jbase), .index(jindex), .scores(jscores), .gather(f_gat), .scatter(f_sca),
      .sacc(f_sacc), .base_en, .pix(f_pix), .codes(j_hc[1]), .xlg, .in_h(j_in_h), .in_w(j_in_w),
      .ci(j_ci), .ow(j_ow), .kk(j_kk), .ks(j_ks), .kp(j_kp), .col0(to0 << PO_LG),
      .strip_cols, .slot_busy(row_full), .fill, .fill_slot, .fill_row, .fill_tok,
      .fill_score, .all_loaded, .rb_we, .rb_addr, .rb_data, .bb_we, .bb_addr, .bb_data,
      .rd_cmd_valid(l_rd_cmd_valid), .rd_cmd_ready(dma_resp.rd_cmd_ready), .rd_cmd_addr(l_rd_cmd_addr),
      .rd_cmd_len(l_rd_cmd_len), .rd_cmd_wlg(l_rd_cmd_wlg), .rd_valid(dma_resp.rd_valid),
      .rd_ready(l_rd_ready), .rd_data(dma_resp.rd_data));
  assign dma_req.rd_cmd_valid = js == J_Q4 ? q4_dma.rd_cmd_valid : js == J_SKIP ? sk_cmd_valid :
                                s_loading || js == J_BIAS || js == J_WTS ? s_rd_cmd_valid : l_rd_cmd_valid;
  assign dma_req.rd_cmd_addr = (js == J_RUN) ? l_rd_cmd_addr : js == J_SKIP ? sk_cmd_addr : js == J_Q4 ? q4_dma.rd_cmd_addr : s_rd_cmd_addr;
  assign dma_req.rd_cmd_len = (js == J_RUN) ? l_rd_cmd_len : js == J_SKIP ? sk_cmd_len : js == J_Q4 ? q4_dma.rd_cmd_len : s_rd_cmd_len;
  assign dma_req.rd_cmd_wlg = (js == J_RUN) ? l_rd_cmd_wlg : js == J_SKIP ? sk_cmd_wlg : js == J_Q4 ? q4_dma.rd_cmd_wlg : s_rd_cmd_wlg;
  assign dma_req.rd_ready = s_loading ? 1'b1 : js == J_SKIP ? sk_rd_ready : js == J_Q4 ? q4_dma.rd_ready : (js == J_RUN) && l_rd_ready;

  // ------------------------------------------------------------------ MAC pipeline
  // stage 0: issue (token slot, output tile, input tile) and the buffer reads
  logic c_act;
  logic [SB-1:0] c_slot;
  // token r's row slot is r mod LINEAR_ROW_SLOTS, its output slot r mod 2: the row slot's
  // low bit (the writer drains a row per token, two output slots keep it busy)
  logic c_oslot, e_oslot;
  logic [31:0] c_to, c_ti, c_wb, c_bj;  // c_bj: WSKIP beat (edgemoe_lin_skip's list)
  logic [31:0] i_to, i_ti;  // the issued beat's output tile and input tile
  assign {i_to, i_ti} = f_wskip ? {sk_to, sk_ti} : {c_to, c_ti};
  logic [1:0] out_full;
  logic c_issue, e_hold, e_done;  // e_done: the epilogue's y_word is complete
  logic c_first, c_last, c_tile_last;
  assign c_first = f_wskip ? sk_first : c_ti == 32'd0;
  assign c_tile_last = f_wskip ? sk_last : c_ti + 32'd1 == tiles_in;
  logic [31:0] c_rows;  // output tiles, W8A8: tile pairs, of the strip
  assign c_rows = f_q8 ? (srows + 32'd1) >> 1 : srows;
  assign c_last = f_wskip ? c_bj + 32'd1 == sk_nb : c_tile_last && c_to + 32'd1 == c_rows;
  // a token starts when its row is loaded and its output slot is free
  logic can_start;
  assign can_start = js == J_RUN && row_full[c_slot] && (gate || !out_full[c_oslot]);
  assign c_issue = (c_act || can_start) && !(c_tile_last && e_hold);  // epilogue pace

  // stage 1 registers
  logic p1_v, p1_first, p1_last, p1_tok_last;
  logic [SB-1:0] p1_slot;
  logic [31:0] p1_to, p1_ti;
  // stage 2 registers
  logic p2_v, p2_tok_last;
  logic [SB-1:0] p2_slot;
  logic [31:0] p2_to;
  // W8A8: acc_hi / p2_acc_hi the pair's high tile; W8A8 sums are int32 (the epilogue reads
  // their low 32 bits only), so that bank is 32 bits wide
  logic signed [63:0] acc[PO], p2_acc[PO];
  logic signed [31:0] acc_hi[PO], p2_acc_hi[PO];
  logic pr_half, e_start, e_hi, e_tok_last;
  logic [SB-1:0] e_slot;
  logic [31:0] pr_at, e_to, e_to_nx, p2_to_nx;
  logic [SB-1:0] p2_slot_nx;
  assign e_slot = p2_slot;  // the epilogue's tile is p2's
  assign {c_oslot, e_oslot} = {c_slot[0], e_slot[0]};
  // p2 next cycle: the epilogue's buffer reads are registered, addressed a cycle ahead
  assign p2_to_nx = (p1_v && p1_last) ? p1_to : p2_to;
  assign p2_slot_nx = (p1_v && p1_last) ? p1_slot : p2_slot;
  edgemoe_lin_pair u_pair (
      .clk, .rst_n, .q8(f_q8), .tiles_in, .srows, .ld_start(js == J_WTS), .ld_count(wcount),
      .ld_beat(js == J_WTS_W && dma_resp.rd_valid), .ld_at(pr_at), .ld_half(pr_half),
      .p2_v, .p2_tok_last, .p2_to, .e_done, .e_start, .e_hi, .e_tok_last,
      .e_to, .p2_to_nx, .e_to_nx);

  edgemoe_lin_wbuf #(.WT(WT), .TW(PO * PI * WBITS)) u_wbuf (
      .clk, .cur_bank, .ld_we(js == J_WTS_W && dma_resp.rd_valid || sk_we || q4_we), .wlg, .ld_q8(f_q8),
      .ld_half(pr_half), .ld_at(WAW'(q4_we ? q4_at : sk_we ? sk_widx : pr_at)), .ld_data(dma_resp.rd_data),
      .q4_we, .q4_word, .q4_be, .pf_we, .pf_q8, .pf_half, .pf_word, .pf_at(WAW'(pf_at)),
      .rd_at(WAW'(f_wskip ? sk_w : c_wb + c_ti)), .rd_zero(f_wskip && sk_zero), .w_q);

  // stage 1: P_OUT dot products of P_IN terms, exact in 64 bits
  logic signed [63:0] part[PO];
  logic signed [31:0] part_hi[PO];
  logic [PI*XBITS-1:0] xm;  // the MAC array's input lanes (signed)
  logic [PI*XBITS-1:0] x_lanes, x8_lanes;  // W8A8: input lanes and their int8 codes
  logic [PI-1:0] x_in_row; logic [31:0] x_clamped;
  for (genvar i = 0; i < PI; i++) begin : g_x
    // elements past the input row are zero (the padding of the weights is not read)
    assign x_in_row[i] = (p1_ti << PI_LG) + 32'(i) < jk;
    assign x_lanes[i*XBITS+:XBITS] = x_q[i];
    assign xm[i*XBITS+:XBITS] = !x_in_row[i] ? '0 : (f_q8 || f_q4) && !j_hc[1] ? x8_lanes[i*XBITS+:XBITS] : x_q[i];
  end
  logic [2*PO*64-1:0] dot;
  edgemoe_lin_dot #(.XBITS(XBITS)) u_dot (.q8(f_q8), .x(xm), .w(w_q), .dot(dot));
  // the bias joins in the epilogue (sums wrap mod 2**64, so the order is free; W8A8:
  // after the channel multiplier)
  logic [PO-1:0] dot_hi_top;  // the high tile's sums above bit 31 (sign bits)
  for (genvar o = 0; o < PO; o++) begin : g_part_hi
    assign part_hi[o] = $signed(dot[(PO+o)*64+:32]) + (p1_first ? 32'sd0 : acc_hi[o]);
    assign dot_hi_top[o] = ^dot[(PO+o)*64+32+:32];
  end
  for (genvar o = 0; o < PO; o++) begin : g_part
    assign part[o] = p1_first ? $signed(dot[o*64+:64]) : acc[o] + $signed(dot[o*64+:64]);
  end

  // stage 2: quantize, epilogue, combine with the base row
  logic [PO*ABITS-1:0] y_word;
  // the row slots; the base row (and edgemoe_lin_bbuf's biases, multipliers) read one
  // cycle ahead (e_slot = p2_slot): block RAM, not LUT RAM read combinationally
  logic [PO*ABITS-1:0] base_word;
  logic [31:0] m_row, m_tok;  // slot e_slot's destination row, token and score
  logic signed [63:0] m_score;
  edgemoe_lin_rows #(.XBITS(XBITS)) u_rows (
      .clk, .rb_we, .rb_addr, .rb_data, .bb_we, .bb_addr, .bb_data, .fill, .fill_slot, .fill_row,
      .fill_tok, .fill_score, .x_slot(c_slot), .x_ti(i_ti), .x_q, .b_slot(p2_slot_nx),
      .b_to(e_to_nx), .base_word, .m_slot(e_slot), .m_row, .m_tok, .m_score);
  logic [63:0] tile_ovf;
  logic [PO*64-1:0] p2_acc_word;
  for (genvar o = 0; o < PO; o++) begin : g_acc_word  // W8A8: the pair's tile e_hi
    assign p2_acc_word[o*64+:64] = {p2_acc[o][63:32], e_hi ? p2_acc_hi[o] : p2_acc[o][31:0]};
  end
  edgemoe_lin_q8 #(.XBITS(XBITS)) u_q8 (
      .x_in(x_lanes), .x_valid(x_in_row), .x_mul(j_xmul), .x_q8(x8_lanes), .clamped(x_clamped));
  edgemoe_lin_epilogue u_epi (
      .clk, .rst_n, .issue_last(c_issue && c_tile_last), .pair(f_q8), .hold(e_hold),
      .start(e_start), .acc(p2_acc_word), .b_word(b2_word), .q8(f_q8 || f_q4),
      .m_word(s2_word), .b_sh, .b_on(!gate), .q_sh, .f_gelu, .f_relu, .f_sacc, .f_res, .score(m_score),
      .base_word, .col0((to0 + e_to) << PO_LG), .n(jn), .done(e_done), .y_word, .ovf(tile_ovf));
  // running count since reset; edgemoe_ctrl_prof reports each instruction's increase
  always_ff @(posedge clk) begin
    if (!rst_n) overflows <= '0;
    else overflows <= overflows + tile_ovf + 64'(w_clamped)  // + hidden codes (writer)
                      // W8A8 input clamps, once per token: on the first tile of the layer
                      + ((p1_v && (f_q8 || f_q4) && !j_hc[1] && p1_to == '0 && to0 == '0) ? 64'(x_clamped) : '0);
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      c_act <= 1'b0; c_slot <= '0; c_to <= '0; c_ti <= '0; c_wb <= '0; c_bj <= '0;
      p1_v <= 1'b0; p1_first <= 1'b0; p1_last <= 1'b0; p1_tok_last <= 1'b0; p1_slot <= '0;
      p1_to <= '0; p1_ti <= '0; p2_v <= 1'b0; p2_tok_last <= 1'b0; p2_slot <= '0; p2_to <= '0;
      row_full <= '0; out_full <= '0; rows_done <= '0;
      lg_valid <= 1'b0; lg_tok <= '0; lg_tile <= '0; lg_data <= '0;
      for (int o = 0; o < PO; o++) {acc[o], p2_acc[o], acc_hi[o], p2_acc_hi[o]} <= '0;
    end else begin
      lg_valid <= 1'b0;
      if (ld_go) {c_slot, rows_done} <= '0;
      // stage 0
      p1_v <= c_issue; p1_first <= c_first; p1_last <= c_tile_last; p1_tok_last <= c_last;
      p1_to <= i_to; p1_ti <= i_ti; p1_slot <= c_slot;
      if (c_issue) begin
        c_bj <= c_last ? '0 : c_bj + 32'd1;
        if (c_last) begin
          {c_act, c_to, c_ti, c_wb} <= '0;
          c_slot <= c_slot + SB'(1);
        end else begin
          c_act <= 1'b1;
          if (c_tile_last) {c_ti, c_to, c_wb} <= {32'd0, c_to + 32'd1, c_wb + tiles_in};
          else c_ti <= c_ti + 32'd1;
        end
      end
      // stage 1
      if (p1_v) for (int o = 0; o < PO; o++) {acc[o], acc_hi[o]} <= {part[o], part_hi[o]};
      p2_v <= p1_v && p1_last;
      if (p1_v && p1_last) begin  // held while the epilogue works through the tile (pair)
        for (int o = 0; o < PO; o++) {p2_acc[o], p2_acc_hi[o]} <= {part[o], part_hi[o]};
        {p2_tok_last, p2_to, p2_slot} <= {p1_tok_last, p1_to, p1_slot};
      end
      // stage 2
      if (e_done) begin
        if (gate) {lg_valid, lg_tok, lg_tile, lg_data} <= {1'b1, m_tok, to0 + e_to, y_word};
        else obuf[OAW'((e_oslot ? TOM : 0) + 32'(e_to))] <= y_word;
      end
      // slots
      if (fill) row_full[fill_slot] <= 1'b1;
      if (e_done && e_tok_last) begin
        row_full[e_slot] <= 1'b0;
        if (gate) rows_done <= rows_done + 32'd1;
        else out_full[e_oslot] <= 1'b1;
      end
      if (w_done_pulse) begin
        out_full[w_clr] <= 1'b0;
        rows_done <= rows_done + 32'd1;
      end
    end
  end

  // ------------------------------------------------------------------ writer
  logic rd_slot, w_done_pulse, w_clr; logic [31:0] w_clamped; logic [PO*ABITS-1:0] w_word;
  edgemoe_lin_writer u_writer (
      .clk, .rst_n, .ld_go, .out_full, .row_done(e_done && e_tok_last && !gate),
      .row_slot(e_oslot), .row_idx(m_row), .dst(jdst), .n(jn), .col0(to0 << PO_LG),
      .strip_cols, .codes(j_hc[0]), .x_muls(w_muls), .obuf_q(w_word), .wr_data(dma_req.wr_data), .clamped(w_clamped), .rd_slot, .rd_i, .w_done_pulse, .w_clr, .wr_cmd_valid(dma_req.wr_cmd_valid), .wr_cmd_ready(dma_resp.wr_cmd_ready),
      .wr_cmd_addr(dma_req.wr_cmd_addr), .wr_cmd_len(dma_req.wr_cmd_len), .wr_cmd_wlg(dma_req.wr_cmd_wlg), .wr_valid(dma_req.wr_valid), .wr_ready(dma_resp.wr_ready));
  always_ff @(posedge clk) w_word <= obuf[OAW'((rd_slot ? TOM : 0) + rd_i)];  // a cycle ahead: block RAM
  // flags the linear engine does not act on (COPY, DYN_COUNT: the dispatcher handles them)
  logic unused; assign unused = ^{dma_resp, q4_dma, all_loaded, wcount[31], pf_at, p1_slot, flags[15:13], dot_hi_top,
                    flags[edgemoe_pkg::FLAG_BIT_COPY], flags[edgemoe_pkg::FLAG_BIT_DYN_COUNT], j_q4s};
endmodule
