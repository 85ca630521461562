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
  logic [TW-1:0] wbuf0[WT], wbuf1[WT];
  logic [TW-1:0] q0, q1;
  logic bank_q, zero_q;
  always_ff @(posedge clk) begin
    for (int b = 0; b < TW / 8; b++) begin
      if (ld_we && !cur_bank) begin
        if (ld_be[b]) wbuf0[ld_at][b*8+:8] <= ld_bytes[b*8+:8];
      end else if (pf_we && cur_bank) wbuf0[pf_at][b*8+:8] <= pf_word[b*8+:8];
      if (ld_we && cur_bank) begin
        if (ld_be[b]) wbuf1[ld_at][b*8+:8] <= ld_bytes[b*8+:8];
      end else if (pf_we && !cur_bank) wbuf1[pf_at][b*8+:8] <= pf_word[b*8+:8];
    end
    q0 <= wbuf0[rd_at];
    q1 <= wbuf1[rd_at];
    bank_q <= cur_bank;
    zero_q <= rd_zero;
  end
  assign w_q = zero_q ? '0 : bank_q ? q1 : q0;
endmodule
