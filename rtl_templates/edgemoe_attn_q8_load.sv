// Load side of int8 attention (edgemoe_attn with FLAG_WFMT_Q8; edgemoe/numerics/attn_q8.py):
// the job's parameter block (Q8_PARAM_WORDS, one u32 word a beat) and the int8 codes of the
// K, V and Q rows as their act beats arrive, packed so one K/V/Q memory word holds
// ABITS / 8 beats' codes (a lane step then covers 4x the elements of an act beat at 32-bit
// act).  Codes are numerics.int8's input step (edgemoe_lin_q8, over the ATTN_E beat lanes)
// with the row's multiplier; elements past head_dim are zero (the DMA zero-fills them) and
// never counted as clamped.  Rows that already are codes (q8_codes' codes in) bypass it:
// the engine writes their bus words as they are.
module edgemoe_attn_q8_load (
    input  logic        clk,
    input  logic        prm_beat,          // a parameter word arrives ...
    input  logic [2:0]  prm_idx,           // ... this one (Q8_PARAM_WORDS order)
    input  logic        row_beat,          // an act beat of a K, V or Q row arrives ...
    input  logic [1:0]  part,              // ... of q (0), k (1) or v (2): its multiplier
    input  logic [31:0] beat_idx,          // the beat within its row
    input  logic        row_end,           // the row's last beat
    input  logic [31:0] hd,                // head_dim (elements a row)
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] rd_data,
    output logic [edgemoe_pkg::ATTN_E*(8 << edgemoe_pkg::ACT_LG)-1:0] word,  // codes so far
    output logic        word_wr,           // word is complete: write it at beat_idx / QS
    output logic [31:0] clamped,           // elements of this beat clamped to +-Q8_MAX
    output logic signed [31:0] s_mul, o_mul,
    output logic [5:0]  s_shift, o_shift,
    output logic signed [31:0] out_x_mul   // codes out: the consumer's input multiplier
);
  localparam int E = edgemoe_pkg::ATTN_E;
  localparam int ABITS = 8 << edgemoe_pkg::ACT_LG;
  localparam int QS = ABITS / 8;           // act beats a code word holds
  localparam int WW = E * ABITS;

  logic [31:0] prm[edgemoe_pkg::ATTN_Q8_PARAM_BYTES / 4];
  always_ff @(posedge clk)
    if (prm_beat) prm[prm_idx] <= rd_data[31:0];
  assign s_mul = prm[3];
  assign o_mul = prm[5];
  assign s_shift = prm[4][5:0];            // a shift word's low 6 bits (numerics.attn_q8)
  assign o_shift = prm[6][5:0];
  assign out_x_mul = prm[7];             // (Q8_PARAM_WORDS' last word)

  logic [E-1:0] in_row;
  logic [E*ABITS-1:0] codes;               // E int8 codes, sign-extended to ABITS
  logic [31:0] n_clamped;
  for (genvar e = 0; e < E; e++) begin : g_lane
    assign in_row[e] = beat_idx * 32'(E) + 32'(e) < hd;
  end
  logic signed [31:0] x_mul;               // the row's multiplier (q_mul, k_mul or v_mul)
  assign x_mul = prm[{1'b0, part}];
  edgemoe_lin_q8 #(.XBITS(ABITS), .LANES(E)) u_codes (
      .x_in(rd_data[WW-1:0]), .x_valid(in_row), .x_mul, .x_q8(codes), .clamped(n_clamped));
  assign clamped = row_beat ? n_clamped : '0;

  // the beat's E codes go to slot (beat_idx mod QS) of the word; slot 0 starts a new word
  logic [E*8-1:0] bytes;
  for (genvar e = 0; e < E; e++) begin : g_byte
    assign bytes[e*8+:8] = codes[e*ABITS+:8];
  end
  logic [31:0] slot;
  logic [WW-1:0] pk;                       // the word being packed
  assign slot = beat_idx & 32'(QS - 1);
  assign word = (slot == 0 ? '0 : pk) | (WW'(bytes) << (slot * 32'(E * 8)));
  assign word_wr = row_beat && (slot == 32'(QS - 1) || row_end);
  always_ff @(posedge clk)
    if (row_beat) pk <= word;

  logic unused;
  assign unused = ^{prm[4][31:6], prm[6][31:6], codes, rd_data};
endmodule
