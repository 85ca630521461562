// Row loader of the linear engine: fills a row slot per token (LINEAR_ROW_SLOTS of them,
// token r in slot r mod LINEAR_ROW_SLOTS) while the MAC array works on an earlier one.
//
// A generator issues read commands and pushes a descriptor per command (or per run of
// zeros) into a FIFO; a consumer takes the DMA words in the same order and scatters them
// into the P_IN row-buffer banks (element at position p -> bank p mod P_IN), up to P_IN
// elements per cycle when the positions' stride is odd, else one.  Per token:
//   [index chunk (GATHER/SCATTER)] [score (SCORE_ACC)] source segments [base row] END
// GATHER and SCATTER read the index list ahead, INDEX_CHUNK u32 a command, into the index
// ring (edgemoe_lin_index.sv), so a token's row (GATHER) or base row and fill_row (SCATTER)
// wait for no index read.
// LINEAR: one segment (the source row).  CONV (im2col, columns ordered c, ky, kx):
//   HWC act input: per (ky, kx) the C_in channels of the input pixel, stride k*k;
//   CHW pixel input: per (c, ky) the k pixels of the input row, stride 1;
//   taps outside the input are zeros.
// Line buffer (CONV_LINE_WORDS > 0, HWC input with C_in a multiple of P_IN whose k + s
// input rows fit, edgemoe/layout.py conv_uses_line): row iy lives in slot iy mod (k + s).
// Pixel 0 first reads the kernel's first rows whole (G_FILL); every in-bounds tap is then
// copied from the buffer, and each pixel of output row oy reads ahead its share of the s
// rows the next output row adds (G_PRE: input pixels [ox*s, ox*s + s), the row's last
// pixel the rest), so each input pixel crosses the bus once per strip, not k*k times,
// and the reads overlap the MACs (perf: edgemoe/perf/traffic.py conv_line_schedule).
module edgemoe_lin_loader #(
    parameter int XBITS = 33   // row element bits (act or pixel, signed)
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        go,                // start loading rows 0..t-1 of a strip
    input  logic        conv,
    input  logic [31:0] t, n, k,
    input  logic [63:0] src, base, index, scores,
    input  logic        gather, scatter, sacc, base_en, pix,
    input  logic        codes,             // LINEAR rows of int8 codes (hidden_codes: fc2)
    input  logic [1:0]  xlg,
    input  logic [31:0] in_h, in_w, ci, ow,
    input  logic [7:0]  kk, ks, kp,
    input  logic [31:0] col0, strip_cols,
    // slots
    input  logic [edgemoe_pkg::LINEAR_ROW_SLOTS-1:0] slot_busy,  // holds a row for the MAC array
    output logic        fill,              // a slot is complete (pulse)
    output logic [$clog2(edgemoe_pkg::LINEAR_ROW_SLOTS)-1:0] fill_slot,
    output logic [31:0] fill_row,          // destination row (scatter index or token)
    output logic [31:0] fill_tok,          // token number
    output logic signed [63:0] fill_score,
    output logic        all_loaded,
    // row buffer banks
    output logic [edgemoe_pkg::P_IN-1:0] rb_we,
    output logic [edgemoe_pkg::P_IN-1:0]
                 [$clog2(edgemoe_pkg::LINEAR_ROW_SLOTS * edgemoe_pkg::MAX_IN_FEATURES / edgemoe_pkg::P_IN)-1:0]
                                          rb_addr,
    output logic [edgemoe_pkg::P_IN-1:0][XBITS-1:0] rb_data,
    // base buffer
    output logic        bb_we,
    output logic [$clog2(edgemoe_pkg::LINEAR_ROW_SLOTS * edgemoe_pkg::MAX_OUT_FEATURES / edgemoe_pkg::P_OUT)-1:0]
                        bb_addr,
    output logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] bb_data,
    // DMA
    output logic        rd_cmd_valid,
    input  logic        rd_cmd_ready,
    output logic [63:0] rd_cmd_addr,
    output logic [31:0] rd_cmd_len,
    output logic [3:0]  rd_cmd_wlg,
    input  logic        rd_valid,
    output logic        rd_ready,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] rd_data
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int PBITS = 8 << edgemoe_pkg::PIXEL_LG;
  localparam int KT = edgemoe_pkg::MAX_IN_FEATURES / PI;      // row words per slot
  localparam int TOM = edgemoe_pkg::MAX_OUT_FEATURES / PO;    // base words per slot
  localparam int RS = edgemoe_pkg::LINEAR_ROW_SLOTS;           // row slots
  localparam int SB = $clog2(RS);                              // slot index bits
  localparam int RAW = $clog2(RS * KT);
  localparam int BAW = $clog2(RS * TOM);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  // descriptor kinds
  localparam logic [2:0] D_IDX = 3'd0, D_SCORE = 3'd1, D_DATA = 3'd2, D_ZERO = 3'd3,
                         D_BASE = 3'd4, D_END = 3'd5, D_FILL = 3'd6, D_LINE = 3'd7;
  localparam int DW = 3 + SB + 32 + 32 + 32 + 32;  // kind, slot, count, pos, stride, line word
  localparam int LINE_WORDS = edgemoe_pkg::CONV_LINE_WORDS / PI;  // line buffer words
  localparam logic [31:0] INDEX_RING = 32'(edgemoe_pkg::INDEX_RING);   // the ring's entries
  localparam logic [31:0] INDEX_CHUNK = 32'(edgemoe_pkg::INDEX_CHUNK); // indices a command

  // ------------------------------------------------------------------ generator
  typedef enum logic [3:0] {G_IDLE, G_TOKEN, G_SCORE, G_FILL, G_SEG, G_PRE, G_BASE, G_END,
                            G_NEXT} gen_t;
  gen_t gs;
  logic [31:0] r;                       // token / pixel
  logic [SB-1:0] gslot;
  logic [31:0] oy, ox;
  logic [31:0] ga, gb;                  // segment loop counters: (ky, kx) or (c, ky)
  logic [1:0] gpart;                    // CHW: left zeros, data, right zeros
  logic signed [31:0] idx_val;          // this token's index
  logic [31:0] idx_req, idx_n;          // indices requested this job, the next command's
  logic [31:0] idx_head;
  logic indexed, idx_more, idx_have, idx_push, slot_free, take;
  assign indexed = gather || scatter;
  assign idx_n = (t - idx_req < INDEX_CHUNK) ? t - idx_req : INDEX_CHUNK;
  // the next chunk's ring entries are free: its last index is below r + INDEX_RING
  assign idx_more = indexed && idx_req < t && idx_req + idx_n <= r + INDEX_RING;
  assign slot_free = !slot_busy[gslot] && !filling[gslot] && !(fill && fill_slot == gslot);
  assign take = gs == G_TOKEN && !idx_more && slot_free && (!indexed || idx_have);
  edgemoe_lin_index #(.RING(edgemoe_pkg::INDEX_RING)) u_index (
      .clk, .rst_n, .push(idx_push), .push_data(rd_data[31:0]), .pop(take && indexed),
      .have(idx_have), .head(idx_head));
  logic [RS-1:0] filling;
  // descriptor fifo
  logic dq_in_valid, dq_in_ready, dq_valid, dq_pop;
  logic [DW-1:0] dq_in, dq_out;
  logic [2:0] d_kind;
  logic [SB-1:0] d_slot;
  logic [31:0] d_count, d_pos, d_stride, d_line;
  // command
  logic cmd_ok;                        // command and descriptor can both be pushed
  assign cmd_ok = (!rd_cmd_valid || rd_cmd_ready) && dq_in_ready;

  // conv geometry of the current segment
  logic [31:0] kk32, ks32, kp32, kk2;
  assign kk32 = {24'd0, kk};
  assign ks32 = {24'd0, ks};
  assign kp32 = {24'd0, kp};
  assign kk2 = kk32 * kk32;
  logic signed [33:0] iy, ix, ix0, lo_kx, hi_kx;
  logic [31:0] kx0, kx1;
  logic in_y, in_x;
  always_comb begin
    if (pix) iy = $signed({2'b0, oy * ks32}) - $signed({2'b0, kp32}) + $signed({2'b0, gb});
    else iy = $signed({2'b0, oy * ks32}) - $signed({2'b0, kp32}) + $signed({2'b0, ga});
    ix0 = $signed({2'b0, ox * ks32}) - $signed({2'b0, kp32});
    ix = ix0 + $signed({2'b0, gb});
    in_y = iy >= 0 && iy < $signed({2'b0, in_h});
    in_x = ix >= 0 && ix < $signed({2'b0, in_w});
    // CHW: taps kx in [kx0, kx1) are inside the row
    lo_kx = -ix0;
    hi_kx = $signed({2'b0, in_w}) - ix0;
    kx0 = (lo_kx < 0) ? 32'd0 : (lo_kx > $signed({2'b0, kk32})) ? kk32 : 32'(lo_kx);
    kx1 = (hi_kx < 0) ? 32'd0 : (hi_kx > $signed({2'b0, kk32})) ? kk32 : 32'(hi_kx);
  end
  logic [63:0] pix_addr, hwc_addr;
  assign hwc_addr = src + ((64'(iy[31:0]) * 64'(in_w) + 64'(ix[31:0])) * 64'(ci) << AL);
  assign pix_addr = src + (((64'(ga) * 64'(in_h) + 64'(iy[31:0])) * 64'(in_w) +
                            64'(ix0[31:0]) + 64'(kx0)) << xlg);
  logic [31:0] src_row;
  assign src_row = gather ? idx_val : r;
  logic [1:0] row_lg;  // a LINEAR row's element bytes (log2): act, or int8 codes
  assign row_lg = codes ? 2'd0 : 2'(AL);

  // line buffer geometry: line_on for this job; rows = k + s slots; ry0 = (oy*s - p) mod
  // rows is the slot of the output row's first input row, lslot the slot of row ga of
  // the window (ga < k: a tap's row, k <= ga < k + s: a row read ahead)
  logic line_on;
  logic [31:0] rows, ry0, p_mod, lslot_sum, lslot, row_words, line_addr;
  logic [31:0] px0, px1, pre_words, pre_addr;
  logic [63:0] line_need;
  logic next_row;                       // output row oy + 1 exists
  assign rows = kk32 + ks32;
  assign line_need = 64'(rows) * 64'(in_w) * 64'(ci);
  assign p_mod = 32'({1'b0, kp} % rows[8:0]);  // 9-bit operands: a small divider
  assign lslot_sum = ry0 + ga;
  assign lslot = (lslot_sum >= rows) ? lslot_sum - rows : lslot_sum;
  assign row_words = (in_w * ci) >> PI_LG;
  assign line_addr = lslot * row_words + ((32'(ix[31:0]) * ci) >> PI_LG);
  assign next_row = r - ox + ow < t;
  // input pixels [px0, px1) of a row read ahead by this output pixel
  assign px0 = (ox * ks32 < in_w) ? ox * ks32 : in_w;
  assign px1 = (ox + 32'd1 == ow) ? in_w : (ox * ks32 + ks32 < in_w) ? ox * ks32 + ks32 : in_w;
  assign pre_words = ((px1 - px0) * ci) >> PI_LG;
  assign pre_addr = lslot * row_words + ((px0 * ci) >> PI_LG);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      r <= '0; gslot <= '0; oy <= '0; ox <= '0; ga <= '0; gb <= '0; gpart <= '0;
      filling <= '0; line_on <= 1'b0; ry0 <= '0;
      idx_val <= '0; idx_req <= '0;
      rd_cmd_valid <= 1'b0; rd_cmd_addr <= '0; rd_cmd_len <= '0; rd_cmd_wlg <= '0;
      dq_in_valid <= 1'b0; dq_in <= '0;
    end else begin
      if (rd_cmd_valid && rd_cmd_ready) rd_cmd_valid <= 1'b0;
      if (dq_in_valid && dq_in_ready) dq_in_valid <= 1'b0;
      if (fill) filling[fill_slot] <= 1'b0;
      case (gs)
        G_IDLE: if (go) begin
          r <= '0; gslot <= '0; oy <= '0; ox <= '0; idx_req <= '0;
          line_on <= LINE_WORDS > 0 && conv && !pix && ci[PI_LG-1:0] == '0 &&
                     line_need <= 64'(edgemoe_pkg::CONV_LINE_WORDS);
          ry0 <= (p_mod == 32'd0) ? 32'd0 : rows - p_mod;
          gs <= (t == 32'd0) ? G_IDLE : G_TOKEN;
        end
        G_TOKEN: if (idx_more) begin
          // read the next chunk of the index list ahead (while the slot is still busy)
          if (cmd_ok) begin
            rd_cmd_valid <= 1'b1;
            rd_cmd_addr <= index + (64'(idx_req) << 2);
            rd_cmd_len <= idx_n << 2;
            rd_cmd_wlg <= 4'd2;
            dq_in_valid <= 1'b1;
            dq_in <= {D_IDX, gslot, idx_n, 32'd0, 32'd0, 32'd0};
            idx_req <= idx_req + idx_n;
          end
        end else if (take) begin
          filling[gslot] <= 1'b1;
          ga <= '0; gb <= '0; gpart <= '0;
          idx_val <= idx_head;
          gs <= sacc ? G_SCORE : (line_on && r == 32'd0) ? G_FILL : G_SEG;
        end
        G_SCORE: if (cmd_ok) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= scores + (64'(r) << 2);  // int32 words holding raw act values
          rd_cmd_len <= 32'd4;
          rd_cmd_wlg <= 4'd2;
          dq_in_valid <= 1'b1;
          dq_in <= {D_SCORE, gslot, 32'd1, 32'd0, 32'd0, 32'd0};
          gs <= G_SEG;
        end
        G_FILL: if (cmd_ok) begin
          // pixel 0, (ga) = ky: read input row ky - p whole into its slot
          if (in_y) begin
            rd_cmd_valid <= 1'b1;
            rd_cmd_addr <= src + ((64'(iy[31:0]) * 64'(in_w) * 64'(ci)) << AL);
            rd_cmd_len <= (in_w * ci) << AL;
            rd_cmd_wlg <= 4'(PI_LG + AL);
            dq_in_valid <= 1'b1;
            dq_in <= {D_FILL, gslot, row_words, 32'd0, 32'd0, lslot * row_words};
          end
          if (ga + 32'd1 == kk32) begin
            ga <= '0;
            gs <= G_SEG;
          end else ga <= ga + 32'd1;
        end
        G_SEG: if (cmd_ok) begin
          if (!conv) begin
            rd_cmd_valid <= 1'b1;
            rd_cmd_addr <= src + (64'(src_row) * 64'(k) << row_lg);
            rd_cmd_len <= k << row_lg;
            rd_cmd_wlg <= 4'(PI_LG) + {2'd0, row_lg};
            dq_in_valid <= 1'b1;
            dq_in <= {D_DATA, gslot, k, 32'd0, 32'd1, 32'd0};
            gs <= base_en ? G_BASE : G_END;
          end else if (!pix) begin
            // HWC: (ga, gb) = (ky, kx); C_in channels at stride k*k
            dq_in_valid <= 1'b1;
            if (in_y && in_x && line_on) begin
              dq_in <= {D_LINE, gslot, ci, ga * kk32 + gb, kk2, line_addr};
            end else if (in_y && in_x) begin
              rd_cmd_valid <= 1'b1;
              rd_cmd_addr <= hwc_addr;
              rd_cmd_len <= ci << AL;
              rd_cmd_wlg <= 4'(PI_LG + AL);
              dq_in <= {D_DATA, gslot, ci, ga * kk32 + gb, kk2, 32'd0};
            end else begin
              dq_in <= {D_ZERO, gslot, ci, ga * kk32 + gb, kk2, 32'd0};
            end
            if (gb + 32'd1 == kk32) begin
              gb <= '0;
              ga <= ga + 32'd1;
              if (ga + 32'd1 == kk32) gs <= line_on ? G_PRE : base_en ? G_BASE : G_END;
            end else gb <= gb + 32'd1;
          end else begin
            // CHW pixels: (ga, gb) = (c, ky): zeros left of the input, the pixels inside,
            // zeros right of it (gpart 0, 1, 2); a row outside the input is all zeros
            if (!in_y || kx1 <= kx0) begin
              dq_in_valid <= 1'b1;
              dq_in <= {D_ZERO, gslot, kk32, ga * kk2 + gb * kk32, 32'd1, 32'd0};
            end else if (gpart == 2'd0) begin
              dq_in_valid <= kx0 != 32'd0;
              dq_in <= {D_ZERO, gslot, kx0, ga * kk2 + gb * kk32, 32'd1, 32'd0};
            end else if (gpart == 2'd1) begin
              rd_cmd_valid <= 1'b1;
              rd_cmd_addr <= pix_addr;
              rd_cmd_len <= (kx1 - kx0) << xlg;
              rd_cmd_wlg <= 4'(PI_LG) + {2'd0, xlg};
              dq_in_valid <= 1'b1;
              dq_in <= {D_DATA, gslot, kx1 - kx0, ga * kk2 + gb * kk32 + kx0, 32'd1, 32'd0};
            end else begin
              dq_in_valid <= kk32 != kx1;
              dq_in <= {D_ZERO, gslot, kk32 - kx1, ga * kk2 + gb * kk32 + kx1, 32'd1, 32'd0};
            end
            if (!in_y || kx1 <= kx0 || gpart == 2'd2) begin
              gpart <= 2'd0;
              if (gb + 32'd1 == kk32) begin
                gb <= '0;
                ga <= ga + 32'd1;
                if (ga + 32'd1 == ci) gs <= base_en ? G_BASE : G_END;
              end else gb <= gb + 32'd1;
            end else gpart <= gpart + 2'd1;
          end
        end
        G_PRE: if (cmd_ok) begin
          // (ga) = k + j: this pixel's share of row oy*s - p + k + j for the next output row
          if (in_y && next_row && px1 > px0) begin
            rd_cmd_valid <= 1'b1;
            rd_cmd_addr <= src + (((64'(iy[31:0]) * 64'(in_w) + 64'(px0)) * 64'(ci)) << AL);
            rd_cmd_len <= ((px1 - px0) * ci) << AL;
            rd_cmd_wlg <= 4'(PI_LG + AL);
            dq_in_valid <= 1'b1;
            dq_in <= {D_FILL, gslot, pre_words, 32'd0, 32'd0, pre_addr};
          end
          if (ga + 32'd1 == rows) gs <= base_en ? G_BASE : G_END;
          else ga <= ga + 32'd1;
        end
        G_BASE: if (cmd_ok) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= base + ((64'(scatter ? idx_val : r) * 64'(n) + 64'(col0)) << AL);
          rd_cmd_len <= strip_cols << AL;
          rd_cmd_wlg <= 4'(edgemoe_pkg::P_OUT_LG + AL);
          dq_in_valid <= 1'b1;
          dq_in <= {D_BASE, gslot, 32'd0, 32'd0, 32'd0, 32'd0};
          gs <= G_END;
        end
        G_END: if (dq_in_ready && !dq_in_valid) begin
          dq_in_valid <= 1'b1;
          dq_in <= {D_END, gslot, r, scatter ? idx_val : r, 32'd0, 32'd0};
          gs <= G_NEXT;
        end
        G_NEXT: begin
          gslot <= gslot + SB'(1);
          r <= r + 32'd1;
          if (ox + 32'd1 == ow) begin
            ox <= '0;
            oy <= oy + 32'd1;
            ry0 <= (ry0 + ks32 >= rows) ? ry0 + ks32 - rows : ry0 + ks32;
          end else ox <= ox + 32'd1;
          gs <= (r + 32'd1 == t) ? G_IDLE : G_TOKEN;
        end
        default: gs <= G_IDLE;
      endcase
    end
  end

  // four descriptors a slot: a token's score, row, base row and end (index chunks ride along)
  edgemoe_fifo #(.WIDTH(DW), .DEPTH(4 * RS)) u_desc (
      .clk, .rst_n, .in_valid(dq_in_valid), .in_ready(dq_in_ready), .in_data(dq_in),
      .out_valid(dq_valid), .out_ready(dq_pop), .out_data(dq_out));
  assign {d_kind, d_slot, d_count, d_pos, d_stride, d_line} = dq_out;

  // ------------------------------------------------------------------ consumer
  logic [31:0] c_done;                 // elements (DATA/ZERO) or words (BASE) done
  logic [31:0] c_sub;                  // element within the current DMA word
  logic [31:0] n_now;                  // elements written this cycle
  logic word_end;                      // the current DMA word is used up this cycle
  logic seg_end;
  logic signed [63:0] score_r[RS];
  logic [31:0] base_words;
  logic data_k;                        // descriptor consumes DMA words
  assign base_words = (strip_cols + 32'(PO - 1)) >> edgemoe_pkg::P_OUT_LG;
  assign data_k = dq_valid && (d_kind == D_DATA || d_kind == D_IDX || d_kind == D_SCORE ||
                               d_kind == D_BASE || d_kind == D_FILL);
  logic [31:0] left_el;
  assign left_el = d_count - c_done;
  always_comb begin
    // odd stride: all remaining elements of the word at once, else one per cycle
    if (!d_stride[0]) n_now = 32'd1;
    else n_now = (left_el < 32'(PI) - c_sub) ? left_el : 32'(PI) - c_sub;
    seg_end = (d_kind == D_DATA || d_kind == D_ZERO || d_kind == D_LINE) ?
                  (c_done + n_now >= d_count) :
              (d_kind == D_BASE) ? (c_done + 32'd1 >= base_words) :
              (d_kind == D_FILL || d_kind == D_IDX) ? (c_done + 32'd1 >= d_count) : 1'b1;
    word_end = (d_kind == D_DATA || d_kind == D_LINE) ? (c_sub + n_now >= 32'(PI) || seg_end)
                                                      : 1'b1;
  end

  // line buffer: a D_LINE tap reads a word a cycle (edgemoe_lin_line)
  logic [PI*ABITS-1:0] lb_q;
  logic lb_ok, lb_we;
  logic go_data;                       // a DATA/ZERO/LINE step happens this cycle
  assign lb_we = dq_valid && d_kind == D_FILL && rd_valid;
  edgemoe_lin_line u_line (
      .clk, .rst_n, .we(lb_we), .wa(d_line + c_done), .wdata(rd_data), .want(d_line + (c_done >> PI_LG)),
      .ahead(go_data && d_kind == D_LINE && word_end && !seg_end), .q(lb_q), .ok(lb_ok));
  assign go_data = dq_valid && ((d_kind == D_DATA && rd_valid) || d_kind == D_ZERO ||
                                (d_kind == D_LINE && lb_ok));
  assign rd_ready = data_k && (d_kind != D_DATA || word_end);
  assign dq_pop = dq_valid && (
      (d_kind == D_SCORE && rd_valid) || (go_data && seg_end) ||
      ((d_kind == D_BASE || d_kind == D_FILL || d_kind == D_IDX) && rd_valid && seg_end) ||
      d_kind == D_END);

  // element scatter into the banks: element j of this cycle (j < n_now) goes to position
  // d_pos + (c_done + j) * d_stride, bank (position mod P_IN).  The bank and the row-buffer
  // address wrap at SW bits, so the positions are only that wide; and each bank picks the
  // one element that lands in it (odd stride: the j with j * stride = bank - p0 mod P_IN,
  // through the stride's inverse; even stride: n_now = 1, element 0) instead of every
  // element being routed to every bank.
  localparam int BL = PI_LG > 0 ? PI_LG : 1;
  localparam int SW = BL + RAW;
  if (PI < 2) begin : g_pi_check
    $error("edgemoe_lin_loader: P_IN must be at least 2, it is %0d", PI);
  end
  // the word the elements come from (the line buffer's or the DMA's; pixels and codes spread
  // to act-wide lanes), chosen once for all banks: each picks its element with a P_IN:1 mux
  if (PBITS > ABITS) begin : g_pix_check
    $error("edgemoe_lin_loader: pixels (%0d bits) wider than act (%0d)", PBITS, ABITS);
  end
  logic [WB-1:0] a_word;
  always_comb begin
    a_word = (d_kind == D_LINE) ? WB'(lb_q) : rd_data;
    if (pix)
      for (int i = 0; i < PI; i++) a_word[i*ABITS+:ABITS] = ABITS'(rd_data[i*PBITS+:PBITS]);
    if (codes) for (int i = 0; i < PI; i++) a_word[i*ABITS+:ABITS] = ABITS'(rd_data[i*8+:8]);
  end
  // the inverse of an odd stride mod P_IN
  function automatic logic [BL-1:0] odd_inverse(input logic [BL-1:0] s);
    odd_inverse = '0;
    for (int v = 1; v < PI; v += 2)
      if (BL'(v * int'(s)) == BL'(1)) odd_inverse = BL'(v);
  endfunction
  logic [SW-1:0] st;  // the stride
  logic [PI-1:0][SW-1:0] pj;  // the position of element j (mod 2**SW)
  logic [BL-1:0] st_inv;
  assign st = SW'(d_stride);
  assign st_inv = odd_inverse(st[BL-1:0]);
  assign pj[0] = SW'(d_pos) + SW'(c_done) * st;
  for (genvar j = 1; j < PI; j++) begin : g_pos
    assign pj[j] = pj[j-1] + st;
  end
  for (genvar b = 0; b < PI; b++) begin : g_bank
    logic [BL-1:0] jb;  // the element of this cycle that lands in bank b
    logic [SW-1:0] pb;
    logic [BL-1:0] eb;  // its index in the DMA word (< P_IN whenever the bank writes)
    logic [ABITS-1:0] ea;
    assign jb = d_stride[0] ? BL'((BL'(b) - pj[0][BL-1:0]) * st_inv) : '0;
    assign pb = pj[jb];
    assign eb = BL'(c_sub) + jb;
    assign ea = a_word[32'(eb)*ABITS+:ABITS];
    assign rb_we[b] = go_data && 32'(jb) < n_now && pb[BL-1:0] == BL'(b);
    assign rb_addr[b] = RAW'(32'(d_slot) * 32'(KT) + 32'(pb >> PI_LG));
    assign rb_data[b] = (d_kind == D_ZERO) ? '0 :
        pix ? XBITS'(edgemoe_pkg::sext(64'(ea[PBITS-1:0]), 2'(edgemoe_pkg::PIXEL_LG),
                                       edgemoe_pkg::PIXEL_SIGNED))
            : codes ? XBITS'(edgemoe_pkg::sext(64'(ea[7:0]), 2'd0, 1'b1))
            : XBITS'(edgemoe_pkg::sext(64'(ea), 2'(AL), 1'b1));
  end
  assign bb_we = dq_valid && d_kind == D_BASE && rd_valid;
  assign idx_push = dq_valid && d_kind == D_IDX && rd_valid;
  assign bb_addr = BAW'(32'(d_slot) * 32'(TOM)) + BAW'(c_done);
  assign bb_data = rd_data[PO*ABITS-1:0];

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      c_done <= '0;
      c_sub <= '0;
      fill <= 1'b0;
      fill_slot <= '0;
      fill_row <= '0;
      fill_tok <= '0;
      fill_score <= '0;
      for (int i = 0; i < RS; i++) score_r[i] <= '0;
    end else begin
      fill <= 1'b0;
      if (dq_valid) begin
        case (d_kind)
          D_IDX: if (rd_valid) c_done <= seg_end ? 32'd0 : c_done + 32'd1;
          D_SCORE: if (rd_valid)
            score_r[d_slot] <= edgemoe_pkg::sext(64'(rd_data[31:0]), 2'd2, 1'b1);
          D_DATA, D_ZERO, D_LINE: if (go_data) begin
            c_done <= seg_end ? 32'd0 : c_done + n_now;
            c_sub <= word_end ? 32'd0 : c_sub + n_now;
          end
          D_BASE, D_FILL: if (rd_valid) c_done <= seg_end ? 32'd0 : c_done + 32'd1;
          default: begin  // D_END
            fill <= 1'b1;
            fill_slot <= d_slot;
            fill_tok <= d_count;
            fill_row <= d_pos;
            fill_score <= score_r[d_slot];
          end
        endcase
      end
    end
  end

  assign all_loaded = gs == G_IDLE && !dq_valid && !dq_in_valid;

  logic unused;
  assign unused = ^{rd_data, d_count[0], d_stride};  // positions wrap at SW bits
endmodule
