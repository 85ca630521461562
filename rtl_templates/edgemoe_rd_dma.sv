// Read DMA: byte-addressed read commands -> AXI4 read bursts -> a stream of words.
//
// A command (addr, len bytes, wlg) returns ceil(len / 2**wlg) words of 2**wlg bytes, the
// first word starting at byte addr (any alignment); bytes past len read as zero; out_last
// marks the command's last word.  Commands are served in order; the AR side runs ahead of
// the data by up to META_DEPTH commands, so back-to-back small reads keep the R channel
// busy.  Bursts never cross a 4 KiB boundary.
module edgemoe_rd_dma #(
    parameter int B = 16,           // AXI data bytes (power of two)
    parameter int WORD_MAX = 32,    // widest word in bytes (power of two)
    parameter int MAX_BURST = 64,   // beats per burst
    parameter int META_DEPTH = 8    // commands in flight
) (
    input  logic                    clk,
    input  logic                    rst_n,
    // commands
    input  logic                    cmd_valid,
    output logic                    cmd_ready,
    input  logic [63:0]             cmd_addr,
    input  logic [31:0]             cmd_len,
    input  logic [3:0]              cmd_wlg,
    // words
    output logic                    out_valid,
    input  logic                    out_ready,
    output logic [WORD_MAX*8-1:0]   out_data,
    output logic                    out_last,
    // AXI4 read channels
    output logic                    arvalid,
    input  logic                    arready,
    output logic [63:0]             araddr,
    output logic [7:0]              arlen,
    input  logic                    rvalid,
    output logic                    rready,
    input  logic [B*8-1:0]          rdata,
    output logic                    busy
);
  localparam int LG_B = $clog2(B);
  localparam int MW = LG_B + 32 + 4 + 32;  // meta: off, len, wlg, beats

  // ------------------------------------------------------------------ AR issuer
  logic act;
  logic [63:0] cur;
  logic [31:0] left;
  logic [31:0] burst;
  logic [31:0] to_4k;
  logic meta_in_valid, meta_in_ready, meta_out_valid, meta_pop;
  logic [MW-1:0] meta_in, meta_out;
  logic [32:0] span;
  logic [31:0] nin_new;

  assign span = {1'b0, cmd_len} + 33'(cmd_addr[LG_B-1:0]) + 33'(B - 1);
  assign nin_new = 32'(span >> LG_B);
  assign meta_in = {cmd_addr[LG_B-1:0], cmd_len, cmd_wlg, nin_new};
  assign meta_in_valid = cmd_valid && !act;
  assign cmd_ready = !act && meta_in_ready;
  logic [12:0] rem4k;
  assign rem4k = 13'd4096 - {1'b0, cur[11:0]};
  assign to_4k = {19'd0, rem4k} >> LG_B;
  always_comb begin
    burst = left;
    if (burst > 32'(MAX_BURST)) burst = 32'(MAX_BURST);
    if (burst > to_4k) burst = to_4k;
  end
  assign arvalid = act;
  assign araddr = cur;
  assign arlen = 8'(burst - 32'd1);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      act <= 1'b0;
      cur <= '0;
      left <= '0;
    end else if (!act) begin
      if (cmd_valid && meta_in_ready) begin
        act <= 1'b1;
        cur <= {cmd_addr[63:LG_B], {LG_B{1'b0}}};
        left <= nin_new;
      end
    end else if (arready) begin
      cur <= cur + {32'd0, burst[31-LG_B:0], {LG_B{1'b0}}};
      left <= left - burst;
      if (left == burst) act <= 1'b0;
    end
  end

  edgemoe_fifo #(.WIDTH(MW), .DEPTH(META_DEPTH)) u_meta (
      .clk, .rst_n, .in_valid(meta_in_valid), .in_ready(meta_in_ready), .in_data(meta_in),
      .out_valid(meta_out_valid), .out_ready(meta_pop), .out_data(meta_out));

  // ------------------------------------------------------------------ realign
  logic [LG_B-1:0] m_off;
  logic [31:0] m_len, m_nin, m_nout;
  logic [3:0] m_wlg;
  assign {m_off, m_len, m_wlg, m_nin} = meta_out;
  assign m_nout = 32'(({1'b0, m_len} + 33'(B - 1)) >> LG_B);

  logic [31:0] in_cnt, out_cnt;
  logic [B*8-1:0] prev;
  logic flush;
  // realigned beat register
  logic rb_valid, rb_first, rb_last;
  logic [B*8-1:0] rb_data;
  logic [3:0] rb_wlg;
  logic [31:0] rb_len;
  logic rb_take;                 // stage C accepts the realigned beat
  logic rb_free;
  logic [B*8-1:0] aligned;
  logic [B*8-1:0] mask;
  logic [31:0] remain;
  logic emit_now;

  assign rb_free = !rb_valid || rb_take;
  assign rready = meta_out_valid && rb_free && !flush;
  assign remain = m_len - {out_cnt[31-LG_B:0], {LG_B{1'b0}}};

  // One byte shifter for every case: the bytes past the command's end are masked off
  // below, and they are the only ones in which {x, x} >> off differs from x >> off (the
  // flush beat and a one-beat unaligned command both end within x's bytes off..B-1).
  logic [2*B*8-1:0] shifted;
  logic [B*8-1:0] sh_lo, sh_hi;
  always_comb begin
    sh_hi = flush ? prev : rdata;
    sh_lo = (m_off == '0 || (in_cnt == 32'd0 && !flush)) ? rdata : prev;
    shifted = {sh_hi, sh_lo} >> {m_off, 3'b000};
    aligned = shifted[B*8-1:0];
    for (int i = 0; i < B; i++) mask[i*8+:8] = (32'(i) < remain) ? 8'hFF : 8'h00;
    // a beat is emitted for every R beat except the first one of an unaligned command
    // (unless that command is one beat long), plus the flush beat
    emit_now = (flush && rb_free) || (rvalid && rready && (m_off == '0 || in_cnt != 32'd0 || m_nin == 32'd1));
  end

  assign meta_pop = emit_now && (out_cnt + 32'd1 == m_nout);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      in_cnt <= '0;
      out_cnt <= '0;
      flush <= 1'b0;
      rb_valid <= 1'b0;
      prev <= '0;
      rb_data <= '0;
      rb_first <= 1'b0;
      rb_last <= 1'b0;
      rb_wlg <= '0;
      rb_len <= '0;
    end else begin
      if (rb_take) rb_valid <= 1'b0;
      if (rvalid && rready) begin
        prev <= rdata;
        in_cnt <= in_cnt + 32'd1;
        // unaligned command whose data ends in the last R beat: one more beat to flush
        if (m_off != '0 && in_cnt + 32'd1 == m_nin && m_nin == m_nout && m_nin != 32'd1)
          flush <= 1'b1;
      end
      if (emit_now) begin
        rb_valid <= 1'b1;
        rb_data <= aligned & mask;
        rb_first <= out_cnt == 32'd0;
        rb_last <= out_cnt + 32'd1 == m_nout;
        rb_wlg <= m_wlg;
        rb_len <= m_len;
        if (flush) flush <= 1'b0;
        if (out_cnt + 32'd1 == m_nout) begin
          out_cnt <= '0;
          in_cnt <= '0;
        end else begin
          out_cnt <= out_cnt + 32'd1;
        end
      end
    end
  end
  logic unused;
  assign unused = ^{shifted};

  // ------------------------------------------------------------------ words
  // wlg >= LG_B: collect 2**(wlg-LG_B) beats per word; wlg < LG_B: split each beat.
  // The collected word is written beat by beat into acc (one enable per beat slot), which
  // is also the output register: a WORD_MAX-wide word costs flip-flops, not multiplexers.
  // A split word is the low beat ow_lo over an all-zero acc.  Each beat slot has one load
  // and one clear, so its flip-flops map to clock-enable and synchronous-reset pins
  // (no LUT per bit).
  logic [WORD_MAX*8-1:0] acc;
  logic [B*8-1:0] ow_lo;
  logic ow_split;
  logic [31:0] slot;           // beat slot within a word (collect) / word within beat (split)
  logic [31:0] words_left;     // words still to emit in this command (split mode)
  logic ov;                    // output word valid
  logic ol;
  logic o_free;
  logic collect;
  logic [31:0] per;            // beats per word (collect) or words per beat (split)
  logic [31:0] wcount;         // words in the command
  logic [31:0] wl;
  logic [B*8-1:0] wmask;
  logic [B*8-1:0] split_beat;
  logic [LG_B-1:0] byte_off;

  assign o_free = !ov || out_ready;
  assign collect = 32'(rb_wlg) >= 32'(LG_B);
  assign per = collect ? (32'd1 << (32'(rb_wlg) - 32'(LG_B))) : (32'd1 << (32'(LG_B) - 32'(rb_wlg)));
  assign wcount = 32'(({1'b0, rb_len} + (33'd1 << rb_wlg) - 33'd1) >> rb_wlg);
  assign wl = rb_first && slot == 32'd0 ? wcount : words_left;
  // split: the word at byte (slot << wlg) of the beat; collect: the beat goes to slot
  assign byte_off = LG_B'(slot << rb_wlg);
  assign split_beat = rb_data >> {byte_off, 3'b000};
  always_comb begin
    for (int i = 0; i < B; i++)
      wmask[i*8+:8] = (32'(i) < (32'd1 << rb_wlg)) ? 8'hFF : 8'h00;
  end
  // stage C takes the beat when its last word leaves (split) or it is stored (collect)
  assign rb_take = rb_valid && o_free &&
                   (collect || slot + 32'd1 == per || wl == 32'd1);

  logic [WORD_MAX/B-1:0] acc_ld, acc_clr;  // per beat slot
  always_comb begin
    for (int k = 0; k < WORD_MAX / B; k++) begin
      // the word's first beat clears the other slots (a short last word ends in zeros)
      acc_ld[k] = rb_valid && o_free && collect && slot == 32'(k);
      acc_clr[k] = rb_valid && o_free && (collect ? slot == 32'd0 && k != 0 : 1'b1);
    end
  end
  for (genvar k = 0; k < WORD_MAX / B; k++) begin : g_acc
    always_ff @(posedge clk) begin
      if (!rst_n || acc_clr[k]) acc[k*B*8+:B*8] <= '0;
      else if (acc_ld[k]) acc[k*B*8+:B*8] <= rb_data;
    end
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ow_lo <= '0;
      ow_split <= 1'b0;
      slot <= '0;
      words_left <= '0;
      ov <= 1'b0;
      ol <= 1'b0;
    end else begin
      if (ov && out_ready) ov <= 1'b0;
      if (rb_valid && o_free) begin
        if (collect) begin
          ow_split <= 1'b0;
          if (slot + 32'd1 == per || rb_last) begin
            ov <= 1'b1;
            ol <= rb_last;
            slot <= '0;
          end else begin
            slot <= slot + 32'd1;
          end
        end else begin
          ov <= 1'b1;
          ow_lo <= split_beat & wmask;
          ow_split <= 1'b1;
          ol <= wl == 32'd1;
          words_left <= wl - 32'd1;
          if (slot + 32'd1 == per || wl == 32'd1) slot <= '0;
          else slot <= slot + 32'd1;
        end
      end
    end
  end

  assign out_valid = ov;
  always_comb begin
    out_data = acc;
    if (ow_split) out_data[B*8-1:0] = ow_lo;
  end
  assign out_last = ol;
  assign busy = act || meta_out_valid || rb_valid || ov;
endmodule
