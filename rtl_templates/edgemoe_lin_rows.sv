// Row slots of the linear engine: the memories the row loader (edgemoe_lin_loader) fills
// for each token and the MAC array and epilogue (edgemoe_lin) read, one token a slot:
//  - the input row: P_IN banks (element p of a row in bank p mod P_IN), KT words a slot;
//  - the base row (RESIDUAL, SCORE_ACC): TOM words of P_OUT act values a slot;
//  - the slot's metadata: destination row, token number and score.
// The row and base reads are registered (block RAM), addressed a cycle ahead; the metadata
// are registers, read as they are.
module edgemoe_lin_rows #(
    parameter int XBITS = 33,  // row element bits (act or pixel, signed)
    parameter int SLOTS = edgemoe_pkg::LINEAR_ROW_SLOTS  // row slots (a power of two)
) (
    input  logic        clk,
    // the loader's writes
    input  logic [edgemoe_pkg::P_IN-1:0] rb_we,
    input  logic [edgemoe_pkg::P_IN-1:0][$clog2(SLOTS * edgemoe_pkg::MAX_IN_FEATURES / edgemoe_pkg::P_IN)-1:0]
                                         rb_addr,
    input  logic [edgemoe_pkg::P_IN-1:0][XBITS-1:0] rb_data,
    input  logic        bb_we,
    input  logic [$clog2(SLOTS * edgemoe_pkg::MAX_OUT_FEATURES / edgemoe_pkg::P_OUT)-1:0] bb_addr,
    input  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] bb_data,
    input  logic        fill,              // slot fill_slot is complete: its metadata
    input  logic [$clog2(SLOTS)-1:0] fill_slot,
    input  logic [31:0] fill_row, fill_tok,
    input  logic signed [63:0] fill_score,
    // the MAC array's input tile x_ti of slot x_slot (next cycle)
    input  logic [$clog2(SLOTS)-1:0] x_slot,
    input  logic [31:0] x_ti,
    output logic [edgemoe_pkg::P_IN-1:0][XBITS-1:0] x_q,
    // the epilogue's base word b_to of slot b_slot (next cycle)
    input  logic [$clog2(SLOTS)-1:0] b_slot,
    input  logic [31:0] b_to,
    output logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] base_word,
    // slot m_slot's metadata
    input  logic [$clog2(SLOTS)-1:0] m_slot,
    output logic [31:0] m_row, m_tok,
    output logic signed [63:0] m_score
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int KT = edgemoe_pkg::MAX_IN_FEATURES / PI;                 // row words a slot
  localparam int TOM = edgemoe_pkg::MAX_OUT_FEATURES / edgemoe_pkg::P_OUT;  // base words a slot
  localparam int RAW = $clog2(SLOTS * KT);
  localparam int BAW = $clog2(SLOTS * TOM);

  // one RAM per bank, one write and one registered read port
  for (genvar b = 0; b < PI; b++) begin : g_rbank
    logic [XBITS-1:0] mem[SLOTS*KT];
    always_ff @(posedge clk) begin
      if (rb_we[b]) mem[rb_addr[b]] <= rb_data[b];
      x_q[b] <= mem[RAW'(32'(x_slot) * 32'(KT) + x_ti)];
    end
  end
  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] basebuf[SLOTS*TOM];
  always_ff @(posedge clk) begin
    if (bb_we) basebuf[bb_addr] <= bb_data;
    base_word <= basebuf[BAW'(32'(b_slot) * 32'(TOM) + b_to)];
  end

  logic [31:0] row_of[SLOTS], tok_of[SLOTS];
  logic signed [63:0] score_of[SLOTS];
  always_ff @(posedge clk) begin
    if (fill) begin
      row_of[fill_slot] <= fill_row;
      tok_of[fill_slot] <= fill_tok;
      score_of[fill_slot] <= fill_score;
    end
  end
  assign {m_row, m_tok, m_score} = {row_of[m_slot], tok_of[m_slot], score_of[m_slot]};
endmodule
