// Key selection of top-k ATTENTION (Flag ATTN_TOPK, edgemoe/numerics/attn_topk.py), beside
// edgemoe_attn: that engine keeps K and V on chip and runs the exact attention; this module
// hands each of its lanes the key of every step (qk_key / av_key: the lane's picks), and
// writes the key codes and the picks.  Per head, in the attention controller's states:
//
//   C_BOOK  the head's codebook arrives (rows the generator asks for: book_cmd_*): centres
//           (C rows), coding rows (banked by code mod LANES) and half norms (C int64 words)
//   C_CODE  key coding after K is loaded: LANES codes per row pass, each key's K row
//           broadcast (kaddr into the K memory), argmin of half_norm - k . coding, ties to
//           the lower code; then the codes are written (T u32)
//   C_SEL   per query block, after its Q rows: the score table q . centre (C row passes,
//           LANES queries at a time), then one key a cycle (gathered by its code) into
//           each lane's top-k unit: a sorter of the k' largest (score, key) pairs where a
//           key equal to a kept one stays behind it (ties to the lower index), and a mask
//           of the kept keys (set on entry, cleared on eviction).  The picks (k' u32 per
//           query, the mask's keys in ascending order) are written beside C_STEP.
//   C_STEP  k' steps: lane j's QK^T walks its mask in the dense schedule's order (from the
//           first kept key >= j, wrapping: edgemoe.golden.vector_ops.key_order), its AV
//           the previous block's mask (bank !pb) in ascending order.
//
// Every selection quantity is an exact 64-bit sum, as in the integer definition.
module edgemoe_attn_topk (
    input  logic        clk,
    input  logic        rst_n,
    input  logic [31:0] t, hd, cpr,        // tokens, head_dim, beats per head row
    input  logic [31:0] c, kept,           // codebook size C, keys kept per query min(k, t)
    input  logic [63:0] book, codes, picks,
    input  logic [31:0] gh, grow,          // generator: head and codebook row it asks for
    output logic [63:0] book_cmd_addr,
    output logic [31:0] book_cmd_len,
    output logic [3:0]  book_cmd_wlg,
    output logic [31:0] book_cmds,         // read commands of one head's codebook
    input  logic        in_book, in_code, in_sel,   // the controller's state
    input  logic [31:0] h, qb, nq,         // head, query block, its queries
    input  logic        pb,                // lane state bank of the QK^T block
    input  logic        q_beat,            // a Q beat for lane q_lane, word q_word
    input  logic [31:0] q_lane, q_word,
    input  logic        rd_valid,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] rd_data,
    output logic        book_done, code_done, sel_done,
    output logic        wr_busy,           // writing codes or picks (owns the write port)
    output logic [31:0] kaddr,             // C_CODE: K memory address (beat read next cycle)
    input  logic [edgemoe_pkg::ATTN_E*(8 << edgemoe_pkg::ACT_LG)-1:0] k_beat,
    input  logic        in_step, advance,  // C_STEP; the lanes move to their next key
    input  logic        flip,              // pb flips this cycle (the phase hand-over)
    // lane j's key this step at [32 j +: 32] (flat: Yosys reads no unpacked array ports)
    output logic [32*edgemoe_pkg::ATTN_LANES-1:0] qk_key, av_key,
    // the write port while wr_busy (u32 words)
    output logic        wr_cmd_valid,
    input  logic        wr_cmd_ready,
    output logic [63:0] wr_cmd_addr,
    output logic [31:0] wr_cmd_len,
    output logic        wr_valid,
    input  logic        wr_ready,
    output logic [31:0] wr_word
);
  localparam int P = edgemoe_pkg::ATTN_LANES;
  localparam int E = edgemoe_pkg::ATTN_E;
  localparam int CM = edgemoe_pkg::ATTN_C_MAX;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int MT = edgemoe_pkg::MAX_TOKENS;
  localparam int CB = edgemoe_pkg::ATTN_MAX_CODEBOOK;
  localparam int GB = (CB + P - 1) / P;    // codes per coding bank
  localparam int LG_B = edgemoe_pkg::AXI_LG;
  localparam int TAW = $clog2(MT > 1 ? MT : 2);
  localparam int CBW = $clog2(CB > 1 ? CB : 2);

  // ------------------------------------------------------------------ codebook block
  function automatic logic [63:0] align64(input logic [63:0] n);
    align64 = (n + 64'd63) & ~64'd63;
  endfunction
  logic [63:0] row_bytes, table_bytes, head_book;
  assign row_bytes = 64'(hd) << AL;
  assign table_bytes = align64(64'(c) * row_bytes);
  assign head_book = book + 64'(gh) * (2 * table_bytes + align64(64'(c) << 3));
  assign book_cmds = 2 * c + 32'd1;        // centre rows, coding rows, the half norms
  always_comb begin
    book_cmd_wlg = 4'(LG_B);
    book_cmd_len = 32'(row_bytes);
    if (grow < c) book_cmd_addr = head_book + 64'(grow) * row_bytes;
    else if (grow < 2 * c) book_cmd_addr = head_book + table_bytes + 64'(grow - c) * row_bytes;
    else begin
      book_cmd_addr = head_book + 2 * table_bytes;
      book_cmd_len = c << 3;
      book_cmd_wlg = 4'd3;
    end
  end

  logic [E*ABITS-1:0] cen[CB * CM];        // centres: row c at c * CM
  logic [E*ABITS-1:0] cod[P][GB * CM];     // coding row c: bank c mod P, row c / P
  logic signed [63:0] half[P][GB];
  logic [1:0] bpart;                       // 0 centres, 1 coding, 2 half norms
  logic [31:0] brow, bw, bbank, bgrp;      // row, word; coding bank and row in it
  assign book_done = in_book && rd_valid && bpart == 2'd2 && brow + 32'd1 == c;
  always_ff @(posedge clk) begin
    if (!in_book) begin
      bpart <= '0; brow <= '0; bw <= '0; bbank <= '0; bgrp <= '0;
    end else if (rd_valid) begin
      if (bpart == 2'd0) cen[brow * CM + bw] <= rd_data[E*ABITS-1:0];
      if (bpart == 2'd1) cod[bbank][bgrp * CM + bw] <= rd_data[E*ABITS-1:0];
      if (bpart == 2'd2) half[bbank][bgrp] <= $signed(rd_data[63:0]);
      bw <= (bpart == 2'd2 || bw + 32'd1 == cpr) ? '0 : bw + 32'd1;
      if (bpart == 2'd2 || bw + 32'd1 == cpr) begin
        brow <= brow + 32'd1;
        bbank <= bbank + 32'd1 == 32'(P) ? '0 : bbank + 32'd1;
        if (bbank + 32'd1 == 32'(P)) bgrp <= bgrp + 32'd1;
        if (brow + 32'd1 == c) begin
          bgrp <= '0;
          brow <= '0;
          bbank <= '0;
          bpart <= bpart + 2'd1;
        end
      end
    end
  end

  // ------------------------------------------------------------------ row passes
  // One pass walks rows (key coding: key r, code group g; score table: code r) of cpr
  // beats; the operand beats are read one cycle after their address (s1_*).
  typedef enum logic [2:0] {X_IDLE, X_ROWS, X_DRAIN, X_SORT, X_WCMD, X_WDATA} xs_t;
  xs_t xs;
  logic [31:0] xr, xg, xb, xgs;            // row, group, beat; groups per key
  logic [31:0] wn, wi, wl;                 // words to write, written, lane of the picks
  logic s1_on, s1_last, s1_glast;
  logic [31:0] s1_r, s1_g;
  logic [E*ABITS-1:0] cen_beat, cod_beat[P];
  logic [ABITS-1:0] tq[P][CM][E];          // the block's Q rows (lane j: query qb * P + j)
  logic signed [63:0] dot[P], full[P], tab[P][CB];
  logic [$clog2(CM > 1 ? CM : 2)-1:0] s1_cc;
  logic [CBW-1:0] code_of[MT];
  assign xgs = (c + 32'(P) - 32'd1) / 32'(P);
  assign kaddr = xr * 32'(CM) + xb;

  always_ff @(posedge clk) begin
    cen_beat <= cen[xr * CM + xb];
    for (int j = 0; j < P; j++) cod_beat[j] <= cod[j][xg * CM + xb];
    if (q_beat)
      for (int e = 0; e < E; e++) tq[q_lane][q_word][e] <= rd_data[e*ABITS+:ABITS];
    s1_on <= xs == X_ROWS;
    s1_last <= xb + 32'd1 == cpr;
    s1_glast <= !in_code || xg + 32'd1 == xgs;
    s1_r <= xr;
    s1_g <= xg;
    s1_cc <= $bits(s1_cc)'(xb);
  end

  // lane j: key coding multiplies the K beat by coding bank j, the table its Q by a centre
  for (genvar j = 0; j < P; j++) begin : g_dot
    logic signed [63:0] part;
    always_comb begin
      part = 64'sd0;
      for (int e = 0; e < E; e++)
        if (in_code)
          part = part + 64'($signed(k_beat[e*ABITS+:ABITS])) *
                        64'($signed(cod_beat[j][e*ABITS+:ABITS]));
        else
          part = part + 64'($signed(tq[j][s1_cc][e])) *
                        64'($signed(cen_beat[e*ABITS+:ABITS]));
    end
    assign full[j] = dot[j] + part;
  end

  // key coding: the running argmin of the key over the groups seen so far (lower code first)
  logic signed [63:0] best, nbest;
  logic [31:0] bestc, nbestc;
  logic first;
  always_comb begin
    first = s1_g == 0;
    nbest = best;
    nbestc = bestc;
    for (int j = 0; j < P; j++)
      if (s1_g * 32'(P) + 32'(j) < c &&
          (first || half[j][s1_g] - full[j] < nbest)) begin
        nbest = half[j][s1_g] - full[j];
        nbestc = s1_g * 32'(P) + 32'(j);
        first = 1'b0;
      end
  end

  // code ids and score tables: memories (no reset), one write and one read a cycle
  always_ff @(posedge clk) begin
    if (s1_on && s1_last && in_code && s1_glast) code_of[s1_r] <= CBW'(nbestc);
    if (s1_on && s1_last && in_sel)
      for (int j = 0; j < P; j++) tab[j][s1_r] <= full[j];
  end

  // ------------------------------------------------------------------ top-k unit
  logic signed [63:0] top[P][MT];          // lane j's k' largest gathered scores, descending
  logic [TAW-1:0] tkey[P][MT];             // ... and their keys
  logic [MT-1:0] kept_m[P][2];             // lane j's kept keys, per lane bank
  logic [31:0] nin, wkey;                  // entries in the units; the picks writer's key
  logic signed [63:0] gat[P];              // key xr's gathered score per lane
  logic enter[P];                          // key xr enters lane j's unit
  // the lowest set bit of m at or above `from`, else the lowest set bit (a cyclic walk)
  function automatic logic [31:0] next_set(input logic [MT-1:0] m, input logic [31:0] from);
    logic [31:0] any, ge;
    logic has_ge;
    any = '0; ge = '0; has_ge = 1'b0;
    for (int i = MT - 1; i >= 0; i--)
      if (m[i]) begin
        any = 32'(i);
        if (32'(i) >= from) begin
          ge = 32'(i);
          has_ge = 1'b1;
        end
      end
    next_set = has_ge ? ge : any;
  endfunction
  for (genvar j = 0; j < P; j++) begin : g_gather
    assign gat[j] = tab[j][code_of[xr]];
    assign enter[j] = nin < kept || gat[j] > top[j][kept - 32'd1];
    // outside C_STEP the walkers wait at their first keys: QK^T from key j, AV from key 0
    // (of the banks after a hand-over in this cycle: the last AV phase follows at once)
    always_ff @(posedge clk) begin
      if (!in_step) begin
        qk_key[32*j+:32] <= next_set(kept_m[j][pb ^ flip], 32'(j));
        av_key[32*j+:32] <= next_set(kept_m[j][!(pb ^ flip)], '0);
      end else if (advance) begin
        qk_key[32*j+:32] <= next_set(kept_m[j][pb], qk_key[32*j+:32] + 32'd1);
        av_key[32*j+:32] <= next_set(kept_m[j][!pb], av_key[32*j+:32] + 32'd1);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      xs <= X_IDLE;
      code_done <= 1'b0; sel_done <= 1'b0; wr_cmd_valid <= 1'b0;
      xr <= '0; xg <= '0; xb <= '0; wn <= '0; wi <= '0; wl <= '0; nin <= '0;
    end else begin
      code_done <= 1'b0;
      sel_done <= 1'b0;
      if (wr_cmd_valid && wr_cmd_ready) wr_cmd_valid <= 1'b0;
      // stage 1: one beat of every lane's dot product
      if (s1_on) begin
        for (int j = 0; j < P; j++) dot[j] <= s1_last ? 64'sd0 : full[j];
        if (s1_last && in_code) begin
          best <= nbest;
          bestc <= nbestc;
        end
      end
      case (xs)
        X_IDLE: if ((in_code || in_sel) && !code_done && !sel_done) begin
          xr <= '0; xg <= '0; xb <= '0;
          for (int j = 0; j < P; j++) dot[j] <= 64'sd0;
          xs <= X_ROWS;
        end
        X_ROWS: begin                      // coding: rows (key, group); table: codes
          xb <= xb + 32'd1 == cpr ? '0 : xb + 32'd1;
          if (xb + 32'd1 == cpr) begin
            if (in_code && xg + 32'd1 != xgs) xg <= xg + 32'd1;
            else begin
              xg <= '0;
              xr <= xr + 32'd1;
              if (xr + 32'd1 == (in_code ? t : c)) xs <= X_DRAIN;
            end
          end
        end
        X_DRAIN: begin                     // the last row's beat reaches stage 1
          xr <= '0;
          nin <= '0;
          if (in_sel) for (int j = 0; j < P; j++) kept_m[j][pb] <= '0;
          wn <= in_code ? t : kept; wi <= '0; wl <= '0;
          xs <= in_code ? X_WCMD : X_SORT;
        end
        X_SORT: begin                      // one key a cycle into every lane's top-k unit
          for (int j = 0; j < P; j++)
            if (enter[j]) begin
              // entries strictly below the key move down one; an equal (earlier) key stays
              for (int i = 0; i < MT; i++)
                if (32'(i) < kept && (32'(i) >= nin || gat[j] > top[j][i])) begin
                  if (i > 0 && (32'(i - 1) >= nin || gat[j] > top[j][(i > 0) ? i - 1 : 0])) begin
                    top[j][i] <= top[j][(i > 0) ? i - 1 : 0];
                    tkey[j][i] <= tkey[j][(i > 0) ? i - 1 : 0];
                  end else begin
                    top[j][i] <= gat[j];
                    tkey[j][i] <= TAW'(xr);
                  end
                end
              kept_m[j][pb][xr] <= 1'b1;
              if (nin == kept) kept_m[j][pb][tkey[j][kept - 32'd1]] <= 1'b0;  // evicted
            end
          nin <= nin + 32'd1 > kept ? kept : nin + 32'd1;
          xr <= xr + 32'd1 == t ? '0 : xr + 32'd1;
          if (xr + 32'd1 == t) begin     // the lanes may start: picks go out beside them
            sel_done <= 1'b1;
            xs <= X_WCMD;
          end
        end
        X_WCMD: if (!wr_cmd_valid) begin   // codes of the head, or picks of lane wl
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= in_code ? codes + (64'(h) * 64'(t) << 2)
                                 : picks + ((64'(h) * 64'(t) + 64'(qb * 32'(P) + wl)) *
                                            64'(kept) << 2);
          wr_cmd_len <= wn << 2;
          wi <= '0;
          wkey <= next_set(kept_m[wl][pb], '0);
          xs <= X_WDATA;
        end
        X_WDATA: if (wr_ready) begin
          wi <= wi + 32'd1;
          wkey <= next_set(kept_m[wl][pb], wkey + 32'd1);
          if (wi + 32'd1 == wn) begin
            wl <= wl + 32'd1;
            if (in_code || wl + 32'd1 == nq) begin
              code_done <= in_code;
              xs <= X_IDLE;
            end else xs <= X_WCMD;
          end
        end
        default: xs <= X_IDLE;
      endcase
    end
  end
  assign wr_valid = xs == X_WDATA;
  assign wr_busy = xs == X_WCMD || xs == X_WDATA;
  assign wr_word = in_code ? 32'(code_of[wi]) : wkey;
  logic unused;                            // index ports are 32 bits wide, the arrays less
  assign unused = ^{q_lane, q_word, s1_r};
endmodule
