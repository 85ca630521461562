// Ping/pong weight buffers of the linear engine: a strip load (whole, or tile by tile under
// WSKIP) writes the current bank, the prefetch the other one; one registered read a cycle
// feeds the MAC array, forced to zero on a WSKIP bias-only beat (that tile was never loaded).
// W8A8 (ld_q8): a tile's int8 codes go to byte ld_half of every lane, so one word holds a
// pair of output tiles (edgemoe_lin_pair, edgemoe_lin_dot).  WFMT_Q4 (q4_we): edgemoe_lin_q4's
// expanded weights of one lane, written as they are under their byte enables.
module edgemoe_lin_wbuf #(
    parameter int WT = 64,   // tiles per bank
    parameter int TW = 16    // bits per tile (P_OUT * P_IN weights)
) (
    input  logic          clk,
    input  logic          cur_bank,
    input  logic          ld_we,
    input  logic [1:0]    wlg,                 // the loaded weights' element size
    input  logic          ld_q8, ld_half,      // W8A8: write byte ld_half of each lane
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] ld_at,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] ld_data,  // one packed tile
    input  logic          q4_we,               // with ld_we: q4_word under q4_be instead
    input  logic [TW-1:0] q4_word,
    input  logic [TW/8-1:0] q4_be,
    input  logic          pf_we,
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] pf_at,
    input  logic [TW-1:0] pf_word,
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] rd_at,
    input  logic          rd_zero,
    output logic [TW-1:0] w_q
);
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  logic [TW-1:0] ld_word;  // the tile's weights sign-extended into the buffer's width
  for (genvar e = 0; e < TW / WBITS; e++) begin : g_wunpack
    assign ld_word[e*WBITS+:WBITS] = WBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(ld_data, e, wlg), wlg, 1'b1));
  end
  logic [TW/8-1:0] ld_be;  // byte write enables
  logic [TW-1:0] ld_bytes;
  for (genvar e = 0; e < TW / WBITS; e++) begin : g_q8
    logic [7:0] code;
    assign code = 8'(edgemoe_pkg::word_elem(ld_data, e, 2'd0));
    for (genvar b = 0; b < WBITS / 8; b++) begin : g_b
      assign ld_be[e*(WBITS/8)+b] = q4_we ? q4_be[e*(WBITS/8)+b] : !ld_q8 || b == int'(ld_half);
      assign ld_bytes[(e*(WBITS/8)+b)*8+:8] = q4_we ? q4_word[(e*(WBITS/8)+b)*8+:8] :
                                              ld_q8 ? code : ld_word[(e*(WBITS/8)+b)*8+:8];
    end
  end
  // Two ports per bank, so neither producer's 4096-bit word passes a multiplexer: port A
  // only takes the strip load (current bank), port B the prefetch (other bank) or, on the
  // current bank, the MAC array's read.  The load and the prefetch never write the same
  // bank in one cycle.  Each bank is kept as 64-bit column groups of 8 byte lanes (Yosys
  // elaborates a byte-enabled write per byte of the word: 512 of them on one 4096-bit
  // memory exhausted it at 16 x 16).
  localparam int GB = TW / 8 < 8 ? TW / 8 : 8;  // bytes per column group
  logic [TW-1:0] q0, q1;
  logic [TW/8-1:0] la0, la1;  // port A byte enables
  logic pb0, pb1;             // port B writes
  logic [$clog2(WT > 1 ? WT : 2)-1:0] ba0, ba1;  // port B addresses
  assign la0 = ld_we && !cur_bank ? ld_be : '0;
  assign la1 = ld_we && cur_bank ? ld_be : '0;
  assign pb0 = pf_we && cur_bank;
  assign pb1 = pf_we && !cur_bank;
  assign ba0 = cur_bank ? pf_at : rd_at;
  assign ba1 = cur_bank ? rd_at : pf_at;
  for (genvar g = 0; g < TW / (8 * GB); g++) begin : g_col
    logic [8*GB-1:0] wbuf0[WT], wbuf1[WT];
    always_ff @(posedge clk) begin
      for (int b = 0; b < GB; b++) begin
        if (la0[g*GB+b]) wbuf0[ld_at][b*8+:8] <= ld_bytes[(g*GB+b)*8+:8];
        if (la1[g*GB+b]) wbuf1[ld_at][b*8+:8] <= ld_bytes[(g*GB+b)*8+:8];
      end
      if (pb0) wbuf0[ba0] <= pf_word[g*8*GB+:8*GB];
      if (pb1) wbuf1[ba1] <= pf_word[g*8*GB+:8*GB];
      q0[g*8*GB+:8*GB] <= wbuf0[ba0];  // the other bank's read is not used
      q1[g*8*GB+:8*GB] <= wbuf1[ba1];
    end
  end
  logic bank_q, zero_q;
  always_ff @(posedge clk) begin
    bank_q <= cur_bank;
    zero_q <= rd_zero;
  end
  assign w_q = zero_q ? '0 : bank_q ? q1 : q0;
endmodule
