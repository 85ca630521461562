// Ping/pong weight buffers of the linear engine: a strip load (whole, or tile by tile under
// WSKIP) writes the current bank, the prefetch the other one; one registered read a cycle
// feeds the MAC array, forced to zero on a WSKIP bias-only beat (that tile was never loaded).
module edgemoe_lin_wbuf #(
    parameter int WT = 64,   // tiles per bank
    parameter int TW = 16    // bits per tile (P_OUT * P_IN weights)
) (
    input  logic          clk,
    input  logic          cur_bank,
    input  logic          ld_we,
    input  logic [1:0]    wlg,                 // the loaded weights' element size
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] ld_at,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] ld_data,  // one packed tile
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
  logic [TW-1:0] wbuf0[WT], wbuf1[WT];
  logic [TW-1:0] q0, q1;
  logic bank_q, zero_q;
  always_ff @(posedge clk) begin
    if (ld_we && !cur_bank) wbuf0[ld_at] <= ld_word;
    else if (pf_we && cur_bank) wbuf0[pf_at] <= pf_word;
    if (ld_we && cur_bank) wbuf1[ld_at] <= ld_word;
    else if (pf_we && !cur_bank) wbuf1[pf_at] <= pf_word;
    q0 <= wbuf0[rd_at];
    q1 <= wbuf1[rd_at];
    bank_q <= cur_bank;
    zero_q <= rd_zero;
  end
  assign w_q = zero_q ? '0 : bank_q ? q1 : q0;
endmodule
