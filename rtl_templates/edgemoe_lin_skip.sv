// Tile skipping of the linear engine (FLAG_WSKIP, edgemoe/layout.py tile_map_bytes): per
// strip, read the strip's bits of the zero-tile map, then walk its tiles once, one per
// cycle: every non-zero tile is fetched (one read command per tile, the read DMA keeps
// several in flight) and becomes a MAC beat; a tile row with no non-zero tile gets one
// bias-only beat (weights forced to zero) so its outputs are still produced.  The MAC
// issue stage then walks the beat list instead of every tile.
module edgemoe_lin_skip #(
    parameter int WT = 64,   // weight buffer tiles (a strip holds at most WT)
    parameter int KT = 16    // input tiles per row, at most
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,             // pulse: load this strip's map (and weights)
    input  logic        fetch,             // fetch the non-zero tiles (else prefetched)
    input  logic [63:0] map, wts,          // tile map and the strip's first weight tile
    input  logic [63:0] tile_bytes,
    input  logic [3:0]  tile_wlg,          // read word = one tile
    input  logic [31:0] first,             // map bit of the strip's first tile
    input  logic [31:0] srows, tiles_in,
    output logic        done,              // the strip's beats are listed and its tiles in
    // read DMA (the engine's, while the strip loads)
    output logic        cmd_valid,
    input  logic        cmd_ready,
    output logic [63:0] cmd_addr,
    output logic [31:0] cmd_len,
    output logic [3:0]  cmd_wlg,
    input  logic        rd_valid,
    output logic        rd_ready,
    input  logic [7:0]  rd_byte,
    // weight buffer writes: the word on rd_data is tile widx of the strip
    output logic        we,
    output logic [31:0] widx,
    // the beat list, read by the MAC issue stage
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] bj,
    output logic [31:0] n_beats, b_to, b_ti, b_w,
    output logic        b_first, b_last, b_zero
);
  localparam int MB = (WT + 7) / 8 + 2;  // map bytes a strip's bits may span
  localparam int WAW = $clog2(WT > 1 ? WT : 2);
  localparam int KAW = $clog2(KT > 1 ? KT : 2);

  typedef enum logic [2:0] {S_IDLE, S_MAP, S_MAP_W, S_SCAN, S_DONE} st_t;
  st_t st;
  logic [MB*8-1:0] zmap;
  logic [2:0] sh;                        // bit of the strip's first tile in the first byte
  logic [31:0] n_tiles, mcount, si, ri, sti, sto;  // scan: tile, its row and column
  logic row_empty;
  logic [WAW-1:0] l_to[WT], l_w[WT];
  logic [KAW-1:0] l_ti[WT];
  logic [WT-1:0] l_first, l_last, l_zero;
  assign n_tiles = srows * tiles_in;

  logic z_si, z_ri;  // the map bits of the scan's and the receiver's tiles
  assign z_si = zmap[32'(sh) + si];
  assign z_ri = zmap[32'(sh) + ri];

  // the receiver: the k-th word of the strip's fetches is its k-th non-zero tile
  assign rd_ready = st == S_MAP_W || (st == S_SCAN && fetch && ri < n_tiles && !z_ri);
  assign we = st == S_SCAN && rd_valid && rd_ready;
  assign widx = ri;
  assign done = st == S_DONE;
  assign b_to = 32'(l_to[bj]);
  assign b_ti = 32'(l_ti[bj]);
  assign b_w = 32'(l_w[bj]);
  assign b_first = l_first[bj];
  assign b_last = l_last[bj];
  assign b_zero = l_zero[bj];

  logic scan_go, row_end, nz;
  assign nz = !z_si;
  assign row_end = sti + 32'd1 == tiles_in;
  // a non-zero tile waits while its fetch command cannot be handed over
  assign scan_go = st == S_SCAN && si < n_tiles && !(nz && fetch && cmd_valid && !cmd_ready);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE;
      cmd_valid <= 1'b0; cmd_addr <= '0; cmd_len <= '0; cmd_wlg <= '0;
      zmap <= '0; sh <= '0; mcount <= '0; si <= '0; ri <= '0; sti <= '0; sto <= '0;
      n_beats <= '0; row_empty <= 1'b1;
      l_first <= '0; l_last <= '0; l_zero <= '0;
    end else begin
      if (cmd_valid && cmd_ready) cmd_valid <= 1'b0;
      case (st)
        S_IDLE: if (start) st <= S_MAP;
        S_MAP: begin
          cmd_valid <= 1'b1;
          cmd_addr <= map + 64'(first >> 3);
          cmd_len <= (32'(first[2:0]) + n_tiles + 32'd7) >> 3;
          cmd_wlg <= 4'd0;
          sh <= first[2:0];
          mcount <= '0; si <= '0; ri <= '0; sti <= '0; sto <= '0; n_beats <= '0; row_empty <= 1'b1;
          st <= S_MAP_W;
        end
        S_MAP_W: if (rd_valid) begin
          zmap[8*mcount[$clog2(MB)-1:0]+:8] <= rd_byte;
          mcount <= mcount + 32'd1;
          if (mcount + 32'd1 == (32'(sh) + n_tiles + 32'd7) >> 3) st <= S_SCAN;
        end
        S_SCAN: begin
          if (scan_go) begin
            if (nz && fetch) begin
              cmd_valid <= 1'b1;
              cmd_addr <= wts + 64'(si) * tile_bytes;
              cmd_len <= 32'(tile_bytes);
              cmd_wlg <= tile_wlg;
            end
            // list the beat: a non-zero tile, or the bias-only beat of an empty row
            if (nz || (row_end && row_empty)) begin
              l_to[WAW'(n_beats)] <= WAW'(sto);
              l_ti[WAW'(n_beats)] <= KAW'(nz ? sti : 32'd0);
              l_w[WAW'(n_beats)] <= WAW'(si);
              l_first[WAW'(n_beats)] <= row_empty;
              l_last[WAW'(n_beats)] <= row_end;
              l_zero[WAW'(n_beats)] <= !nz;
              n_beats <= n_beats + 32'd1;
            end else if (row_end) l_last[WAW'(n_beats - 32'd1)] <= 1'b1;
            row_empty <= row_end || (row_empty && !nz);
            sti <= row_end ? 32'd0 : sti + 32'd1;
            if (row_end) sto <= sto + 32'd1;
            si <= si + 32'd1;
          end
          // the receiver passes over zero tiles and takes one word per non-zero tile
          if (ri < n_tiles && (z_ri || !fetch || (rd_valid && rd_ready))) ri <= ri + 32'd1;
          if (si >= n_tiles && ri >= n_tiles && !cmd_valid) st <= S_DONE;
        end
        S_DONE: st <= S_IDLE;
        default: st <= S_IDLE;
      endcase
    end
  end
endmodule
