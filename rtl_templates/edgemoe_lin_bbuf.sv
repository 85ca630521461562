// Bias and multiplier buffers of the linear engine (edgemoe_lin): per output tile of the
// strip, one word of P_OUT biases and one of P_OUT int32 channel multipliers (W8A8 and
// WFMT_Q4).  The strip load writes them from its DMA words (J_BIAS_W: the biases, then the
// multipliers), a mixed layer's loader (edgemoe_lin_q4) whole tile words; the epilogue's
// stage reads both (the bias, and W8A8's dequantization in edgemoe_lin_q8).
module edgemoe_lin_bbuf #(
    parameter int TOM = 16,   // output tiles a strip may have
    parameter int BBITS = 16  // bits per bias lane
) (
    input  logic        clk,
    input  logic        ld_we,             // a DMA word of the strip load arrives
    input  logic        ld_scl,            // it holds multipliers (else biases)
    input  logic [31:0] ld_at,             // its output tile
    input  logic [1:0]  blg,               // bias element size
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] ld_data,
    input  logic        q4_we,             // edgemoe_lin_q4: tile q4_at's two words
    input  logic [31:0] q4_at,
    input  logic [edgemoe_pkg::P_OUT*BBITS-1:0] q4_bword,
    input  logic [edgemoe_pkg::P_OUT*32-1:0]    q4_sword,
    input  logic [31:0] rd_at,             // the output tile the epilogue takes next cycle
    output logic [edgemoe_pkg::P_OUT*BBITS-1:0] b_word_q,
    output logic [edgemoe_pkg::P_OUT*32-1:0]    s_word_q
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int TAW = $clog2(TOM > 1 ? TOM : 2);
  logic [PO*BBITS-1:0] bbuf[TOM];
  logic [PO*32-1:0] sbuf[TOM];
  logic [PO*BBITS-1:0] b_word;
  logic [PO*32-1:0] s_word;
  for (genvar o = 0; o < PO; o++) begin : g_unpack
    assign b_word[o*BBITS+:BBITS] = BBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(ld_data, o, blg), blg, 1'b1));
    assign s_word[o*32+:32] = 32'(edgemoe_pkg::word_elem(ld_data, o, 2'd2));
  end
  always_ff @(posedge clk) begin
    if (q4_we) begin
      bbuf[TAW'(q4_at)] <= q4_bword;
      sbuf[TAW'(q4_at)] <= q4_sword;
    end else if (ld_we && !ld_scl) bbuf[TAW'(ld_at)] <= b_word;
    else if (ld_we && ld_scl) sbuf[TAW'(ld_at)] <= s_word;
  end
  always_ff @(posedge clk) begin  // block RAM reads, one cycle ahead of the epilogue
    b_word_q <= bbuf[TAW'(rd_at)];
    s_word_q <= sbuf[TAW'(rd_at)];
  end
  logic unused;  // tile numbers are below TOM
  assign unused = ^{ld_at, q4_at, rd_at};
endmodule
