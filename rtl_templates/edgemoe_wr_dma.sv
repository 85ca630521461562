// Write DMA: byte-addressed write commands + a stream of words -> AXI4 write bursts.
//
// A command (addr, len bytes, wlg) consumes ceil(len / 2**wlg) words of 2**wlg bytes and
// writes their first len bytes at addr (any alignment; byte strobes mask the edges).
// idle is high when every accepted command's bursts have been answered on B, so a later
// read of the same bytes sees the new data.  Bursts never cross a 4 KiB boundary.
module edgemoe_wr_dma #(
    parameter int B = 16,           // AXI data bytes (power of two)
    parameter int WORD_MAX = 32,    // widest word in bytes (power of two, >= B)
    parameter int MAX_BURST = 64,   // beats per burst
    parameter int META_DEPTH = 4    // commands in flight
) (
    input  logic                    clk,
    input  logic                    rst_n,
    input  logic                    cmd_valid,
    output logic                    cmd_ready,
    input  logic [63:0]             cmd_addr,
    input  logic [31:0]             cmd_len,
    input  logic [3:0]              cmd_wlg,
    input  logic                    in_valid,
    output logic                    in_ready,
    input  logic [WORD_MAX*8-1:0]   in_data,
    // AXI4 write channels
    output logic                    awvalid,
    input  logic                    awready,
    output logic [63:0]             awaddr,
    output logic [7:0]              awlen,
    output logic                    wvalid,
    input  logic                    wready,
    output logic [B*8-1:0]          wdata,
    output logic [B-1:0]            wstrb,
    output logic                    wlast,
    input  logic                    bvalid,
    output logic                    bready,
    output logic                    idle
);
  localparam int LG_B = $clog2(B);
  localparam int MW = LG_B + 32 + 4;

  // ------------------------------------------------------------------ AW issuer
  logic act;
  logic [63:0] cur;
  logic [31:0] left, burst, to_4k, nbeats_new;
  logic [32:0] span;
  logic mp_in_ready, mr_in_ready, mp_valid, mr_valid, mp_pop, mr_pop;
  logic [MW-1:0] meta_in, mp_out, mr_out;
  logic bl_in_ready, bl_valid, bl_pop;
  logic [7:0] bl_out;
  logic [15:0] outstanding;
  logic aw_fire, b_fire;

  assign span = {1'b0, cmd_len} + 33'(cmd_addr[LG_B-1:0]) + 33'(B - 1);
  assign nbeats_new = 32'(span >> LG_B);
  assign meta_in = {cmd_addr[LG_B-1:0], cmd_len, cmd_wlg};
  assign cmd_ready = !act && mp_in_ready && mr_in_ready;
  logic [12:0] rem4k;
  assign rem4k = 13'd4096 - {1'b0, cur[11:0]};
  assign to_4k = {19'd0, rem4k} >> LG_B;
  always_comb begin
    burst = left;
    if (burst > 32'(MAX_BURST)) burst = 32'(MAX_BURST);
    if (burst > to_4k) burst = to_4k;
  end
  assign awvalid = act && bl_in_ready;
  assign awaddr = cur;
  assign awlen = 8'(burst - 32'd1);
  assign aw_fire = awvalid && awready;
  assign b_fire = bvalid && bready;
  assign bready = 1'b1;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      act <= 1'b0;
      cur <= '0;
      left <= '0;
      outstanding <= '0;
    end else begin
      if (!act) begin
        if (cmd_valid && cmd_ready) begin
          act <= 1'b1;
          cur <= {cmd_addr[63:LG_B], {LG_B{1'b0}}};
          left <= nbeats_new;
        end
      end else if (aw_fire) begin
        cur <= cur + {32'd0, burst[31-LG_B:0], {LG_B{1'b0}}};
        left <= left - burst;
        if (left == burst) act <= 1'b0;
      end
      if (aw_fire && !b_fire) outstanding <= outstanding + 16'd1;
      else if (b_fire && !aw_fire) outstanding <= outstanding - 16'd1;
    end
  end

  edgemoe_fifo #(.WIDTH(MW), .DEPTH(META_DEPTH)) u_meta_pack (
      .clk, .rst_n, .in_valid(cmd_valid && cmd_ready), .in_ready(mp_in_ready), .in_data(meta_in),
      .out_valid(mp_valid), .out_ready(mp_pop), .out_data(mp_out));
  edgemoe_fifo #(.WIDTH(MW), .DEPTH(META_DEPTH)) u_meta_align (
      .clk, .rst_n, .in_valid(cmd_valid && cmd_ready), .in_ready(mr_in_ready), .in_data(meta_in),
      .out_valid(mr_valid), .out_ready(mr_pop), .out_data(mr_out));
  edgemoe_fifo #(.WIDTH(8), .DEPTH(8)) u_bursts (
      .clk, .rst_n, .in_valid(aw_fire), .in_ready(bl_in_ready), .in_data(8'(burst - 32'd1)),
      .out_valid(bl_valid), .out_ready(bl_pop), .out_data(bl_out));

  // ------------------------------------------------------------------ pack words into beats
  logic [LG_B-1:0] p_off_unused;
  logic [31:0] p_len;
  logic [3:0] p_wlg;
  assign {p_off_unused, p_len, p_wlg} = mp_out;
  logic split;                 // word wider than a beat: one word -> several beats
  logic [31:0] per;            // beats per word (split) or words per beat (pack)
  logic [31:0] slot;
  logic [31:0] n_left;         // beats (split) or words (pack) still to go
  logic started;
  logic [31:0] n_total;
  logic [31:0] nl;
  logic pb_valid, pb_free;     // packed beat register
  logic [B*8-1:0] pb_data;
  logic [B*8-1:0] acc;
  logic [B*8-1:0] piece;
  logic [B*8-1:0] placed;
  logic [B*8-1:0] low_masked;
  logic [LG_B-1:0] byte_off;
  logic pb_take;
  logic [WORD_MAX*8-1:0] wmask;

  assign split = 32'(p_wlg) >= 32'(LG_B);
  assign per = split ? (32'd1 << (32'(p_wlg) - 32'(LG_B))) : (32'd1 << (32'(LG_B) - 32'(p_wlg)));
  assign n_total = split ? 32'(({1'b0, p_len} + 33'(B - 1)) >> LG_B)
                         : 32'(({1'b0, p_len} + (33'd1 << p_wlg) - 33'd1) >> p_wlg);
  assign nl = started ? n_left : n_total;
  assign pb_free = !pb_valid || pb_take;
  // split: beat `slot` of the word; pack: the word placed at byte (slot << wlg) of a beat
  assign byte_off = LG_B'(slot << p_wlg);
  always_comb begin
    piece = '0;
    for (int k = 0; k < WORD_MAX / B; k++)
      if (slot == 32'(k)) piece = in_data[k*B*8+:B*8];
    for (int i = 0; i < WORD_MAX; i++)
      wmask[i*8+:8] = (32'(i) < (32'd1 << p_wlg)) ? 8'hFF : 8'h00;
    low_masked = in_data[B*8-1:0] & wmask[B*8-1:0];
    placed = low_masked << {byte_off, 3'b000};
  end
  // split: the word leaves after its last beat; pack: every word is taken at once
  assign in_ready = mp_valid && pb_free && (!split || slot + 32'd1 == per || nl == 32'd1);
  assign mp_pop = mp_valid && pb_free && in_valid && nl == 32'd1;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      slot <= '0;
      n_left <= '0;
      started <= 1'b0;
      pb_valid <= 1'b0;
      pb_data <= '0;
      acc <= '0;
    end else begin
      if (pb_take) pb_valid <= 1'b0;
      if (mp_valid && pb_free && in_valid) begin
        n_left <= nl - 32'd1;
        started <= nl != 32'd1;
        if (split) begin
          pb_valid <= 1'b1;
          pb_data <= piece;
          slot <= (slot + 32'd1 == per || nl == 32'd1) ? '0 : slot + 32'd1;
        end else if (slot + 32'd1 == per || nl == 32'd1) begin
          pb_valid <= 1'b1;
          pb_data <= (slot == 32'd0 ? '0 : acc) | placed;
          acc <= '0;
          slot <= '0;
        end else begin
          acc <= (slot == 32'd0 ? '0 : acc) | placed;
          slot <= slot + 32'd1;
        end
      end
    end
  end

  // ------------------------------------------------------------------ align to the address
  logic [LG_B-1:0] r_off;
  logic [31:0] r_len, r_np, r_na;
  logic [3:0] r_wlg_unused;
  assign {r_off, r_len, r_wlg_unused} = mr_out;
  assign r_np = 32'(({1'b0, r_len} + 33'(B - 1)) >> LG_B);
  assign r_na = 32'(({1'b0, r_len} + 33'(r_off) + 33'(B - 1)) >> LG_B);
  logic [31:0] a_cnt;          // AXI beats emitted in this command
  logic [B*8-1:0] prev;
  logic flush;
  logic w_free;
  logic [B*8-1:0] cur_beat;
  logic [2*B*8-1:0] both;
  logic [B-1:0] strb;
  logic [7:0] w_cnt;           // beats emitted in the current burst
  logic emit;
  logic last_of_cmd;

  assign w_free = !wvalid || wready;
  assign pb_take = pb_valid && mr_valid && w_free && bl_valid && !flush;
  assign emit = pb_take || (flush && w_free && bl_valid);
  assign last_of_cmd = a_cnt + 32'd1 == r_na;
  assign mr_pop = emit && last_of_cmd;
  assign bl_pop = emit && w_cnt == bl_out;
  always_comb begin
    both = {flush ? {B*8{1'b0}} : pb_data, a_cnt == 32'd0 ? {B*8{1'b0}} : prev}
           << (32'(r_off) * 8);
    cur_beat = both[2*B*8-1:B*8];
    for (int l = 0; l < B; l++) begin
      // byte l of AXI beat a_cnt holds stream byte a_cnt*B + l - off
      strb[l] = ({a_cnt[31-LG_B:0], {LG_B{1'b0}}} + 32'(l) >= 32'(r_off)) &&
                ({a_cnt[31-LG_B:0], {LG_B{1'b0}}} + 32'(l) - 32'(r_off) < r_len);
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      a_cnt <= '0;
      prev <= '0;
      flush <= 1'b0;
      wvalid <= 1'b0;
      wdata <= '0;
      wstrb <= '0;
      wlast <= 1'b0;
      w_cnt <= '0;
    end else begin
      if (wvalid && wready) wvalid <= 1'b0;
      if (emit) begin
        wvalid <= 1'b1;
        wdata <= cur_beat;
        wstrb <= strb;
        wlast <= w_cnt == bl_out;
        w_cnt <= (w_cnt == bl_out) ? 8'd0 : w_cnt + 8'd1;
        if (pb_take) prev <= pb_data;
        // a beat past the packed data when the bytes spill into one more AXI beat
        flush <= pb_take && r_na == r_np + 32'd1 && a_cnt + 32'd2 == r_na;
        a_cnt <= last_of_cmd ? '0 : a_cnt + 32'd1;
      end
    end
  end
  logic unused;
  assign unused = ^{wmask, both};
  assign idle = !act && !mp_valid && !mr_valid && !pb_valid && !wvalid && outstanding == '0;
endmodule
