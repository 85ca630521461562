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
    input  logic          pf_q8, pf_half,      // the prefetch's W8A8 pairs, as ld_q8/ld_half
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] pf_at,
    input  logic [TW-1:0] pf_word,
    input  logic [$clog2(WT > 1 ? WT : 2)-1:0] rd_at,
    input  logic          rd_zero,
    output logic [TW-1:0] w_q
);
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  // The load word's element size is a per-design constant when the linear, patch and conv
  // weight formats agree: W8A8 codes take their own path (ld_q8) and WFMT_Q4 weights never
  // come through the load word (q4_we), the only jobs whose wlg differs.
  localparam bit ONE_LG = edgemoe_pkg::LINEAR_WEIGHT_LG == edgemoe_pkg::PATCH_WEIGHT_LG &&
                          edgemoe_pkg::LINEAR_WEIGHT_LG == edgemoe_pkg::CONV_WEIGHT_LG;
  logic [1:0] ulg;  // the size the load word is unpacked by
  assign ulg = ONE_LG ? 2'(edgemoe_pkg::LINEAR_WEIGHT_LG) : wlg;
  logic [TW-1:0] ld_word;  // the tile's weights sign-extended into the buffer's width
  for (genvar e = 0; e < TW / WBITS; e++) begin : g_wunpack
    assign ld_word[e*WBITS+:WBITS] = WBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(ld_data, e, ulg), ulg, 1'b1));
  end
  logic [TW/8-1:0] ld_be, pf_be;  // byte write enables
  logic [TW-1:0] ld_bytes, pf_bytes;
  for (genvar e = 0; e < TW / WBITS; e++) begin : g_q8
    logic [7:0] code;
    assign code = 8'(edgemoe_pkg::word_elem(ld_data, e, 2'd0));
    for (genvar b = 0; b < WBITS / 8; b++) begin : g_b
      assign ld_be[e*(WBITS/8)+b] = q4_we ? q4_be[e*(WBITS/8)+b] : !ld_q8 || b == int'(ld_half);
      assign ld_bytes[(e*(WBITS/8)+b)*8+:8] = q4_we ? q4_word[(e*(WBITS/8)+b)*8+:8] :
                                              ld_q8 ? code : ld_word[(e*(WBITS/8)+b)*8+:8];
      // the prefetch's word holds each code sign-extended: its low byte is the code
      assign pf_be[e*(WBITS/8)+b] = !pf_q8 || b == int'(pf_half);
      assign pf_bytes[(e*(WBITS/8)+b)*8+:8] = pf_word[(pf_q8 ? e * (WBITS / 8) : e * (WBITS / 8) + b)*8+:8];
    end
  end
  // one write port per bank: the strip load (current bank) or the prefetch (the other);
  // the load wins, as it always did.  Each bank is kept as 64-bit column groups of 8
  // byte lanes (Yosys elaborates a byte-enabled write per byte of the word: 512 of them
  // on one 4096-bit memory exhausted it at 16 x 16)
  localparam int GB = TW / 8 < 8 ? TW / 8 : 8;  // bytes per column group
  logic [TW-1:0] q0, q1, wd0, wd1;
  logic [TW/8-1:0] be0, be1;
  logic [$clog2(WT > 1 ? WT : 2)-1:0] wa0, wa1;
  logic ld0, ld1;
  assign ld0 = ld_we && !cur_bank;
  assign ld1 = ld_we && cur_bank;
  assign wa0 = ld0 ? ld_at : pf_at;
  assign wa1 = ld1 ? ld_at : pf_at;
  assign wd0 = ld0 ? ld_bytes : pf_bytes;
  assign wd1 = ld1 ? ld_bytes : pf_bytes;
  assign be0 = ld0 ? ld_be : pf_be & {(TW / 8){pf_we && cur_bank}};
  assign be1 = ld1 ? ld_be : pf_be & {(TW / 8){pf_we && !cur_bank}};
  for (genvar g = 0; g < TW / (8 * GB); g++) begin : g_col
    logic [8*GB-1:0] wbuf0[WT], wbuf1[WT];
    always_ff @(posedge clk) begin
      for (int b = 0; b < GB; b++) begin
        if (be0[g*GB+b]) wbuf0[wa0][b*8+:8] <= wd0[(g*GB+b)*8+:8];
        if (be1[g*GB+b]) wbuf1[wa1][b*8+:8] <= wd1[(g*GB+b)*8+:8];
      end
      q0[g*8*GB+:8*GB] <= wbuf0[rd_at];
      q1[g*8*GB+:8*GB] <= wbuf1[rd_at];
    end
  end
  logic bank_q, zero_q;
  always_ff @(posedge clk) begin
    bank_q <= cur_bank;
    zero_q <= rd_zero;
  end
  assign w_q = zero_q ? '0 : bank_q ? q1 : q0;
endmodule
