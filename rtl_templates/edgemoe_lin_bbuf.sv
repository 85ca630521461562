// Bias and multiplier buffers of the linear engine (edgemoe_lin): per output tile of the
// strip, one word of P_OUT biases, one of P_OUT int32 channel multipliers (W8A8 and
// WFMT_Q4) and, for a W8A8 LINEAR with codes out, one of P_OUT int32 code multipliers
// (edgemoe/layout.py code_muls_offset: after the channel multipliers in `scales`, padded as
// them).  The strip load reads them in phases (J_BIAS / J_BIAS_W: `ph` 0 the biases, 1
// the multipliers, 2 the code multipliers; this module gives each phase's command and the
// next phase); a mixed layer's loader (edgemoe_lin_q4) writes whole tile words.  The
// epilogue's stage reads the biases and multipliers (W8A8's dequantization in
// edgemoe_lin_epilogue); the writer reads the code multipliers of the word it codes
// (edgemoe_lin_writer), or, for an expert's fc1 (one multiplier), hx_mul in every lane.
module edgemoe_lin_bbuf #(
    parameter int TOM = 16,   // output tiles a strip may have
    parameter int BBITS = 16  // bits per bias lane
) (
    input  logic        clk,
    input  logic [1:0]  ph,                // the strip load's phase
    input  logic        q8,                // W8A8: multipliers follow the biases
    input  logic        cm_on,             // codes out: code multipliers follow those
    input  logic [63:0] bias, scales,      // the job's operands
    input  logic [31:0] col0, cols, n_pad, // the strip's columns, the padded output count
    output logic [1:0]  ph_next,           // the phase after this one (0: weights next)
    output logic [63:0] ld_addr,           // this phase's read command
    output logic [31:0] ld_len,
    output logic [3:0]  ld_wlg,
    input  logic        ld_we,             // a DMA word of the strip load arrives
    input  logic [31:0] ld_at,             // its output tile
    input  logic [1:0]  blg,               // bias element size
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] ld_data,
    input  logic        q4_we,             // edgemoe_lin_q4: tile q4_at's two words
    input  logic [31:0] q4_at,
    input  logic [edgemoe_pkg::P_OUT*BBITS-1:0] q4_bword,
    input  logic [edgemoe_pkg::P_OUT*32-1:0]    q4_sword,
    input  logic [31:0] rd_at,             // the output tile the epilogue takes next cycle
    output logic [edgemoe_pkg::P_OUT*BBITS-1:0] b_word_q,
    output logic [edgemoe_pkg::P_OUT*32-1:0]    s_word_q,
    input  logic [31:0] w_at,              // the output tile the writer codes next cycle
    input  logic [31:0] hx_mul,            // an expert fc1's one code multiplier
    output logic [edgemoe_pkg::P_OUT*32-1:0]    c_word_q
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int TAW = $clog2(TOM > 1 ? TOM : 2);
  logic [PO*BBITS-1:0] bbuf[TOM];
  logic [PO*32-1:0] sbuf[TOM], cbuf[TOM];
  logic [PO*BBITS-1:0] b_word;
  logic [PO*32-1:0] s_word;
  logic [63:0] cm_off;  // layout.code_muls_offset: the multiplier block, 64-byte aligned
  assign cm_off = ((64'(n_pad) << 2) + 64'd63) & ~64'd63;
  assign ph_next = ph == 2'd0 ? {1'b0, q8} : ph == 2'd1 && cm_on ? 2'd2 : 2'd0;
  assign ld_addr = ph == 2'd0 ? bias + (64'(col0) << blg)
                              : scales + (ph == 2'd2 ? cm_off : 64'd0) + (64'(col0) << 2);
  assign ld_len = cols << (ph == 2'd0 ? blg : 2'd2);
  assign ld_wlg = 4'(edgemoe_pkg::P_OUT_LG) + (ph == 2'd0 ? {2'd0, blg} : 4'd2);
  for (genvar o = 0; o < PO; o++) begin : g_unpack
    assign b_word[o*BBITS+:BBITS] = BBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(ld_data, o, blg), blg, 1'b1));
    assign s_word[o*32+:32] = 32'(edgemoe_pkg::word_elem(ld_data, o, 2'd2));
  end
  always_ff @(posedge clk) begin
    if (q4_we) begin
      bbuf[TAW'(q4_at)] <= q4_bword;
      sbuf[TAW'(q4_at)] <= q4_sword;
    end else if (ld_we && ph == 2'd0) bbuf[TAW'(ld_at)] <= b_word;
    else if (ld_we && ph == 2'd1) sbuf[TAW'(ld_at)] <= s_word;
    else if (ld_we && ph == 2'd2) cbuf[TAW'(ld_at)] <= s_word;
  end
  always_ff @(posedge clk) begin  // block RAM reads, one cycle ahead of their users
    b_word_q <= bbuf[TAW'(rd_at)];
    s_word_q <= sbuf[TAW'(rd_at)];
    c_word_q <= cm_on ? cbuf[TAW'(w_at)] : {PO{hx_mul}};
  end
  logic unused;  // tile numbers are below TOM
  assign unused = ^{ld_at, q4_at, rd_at, w_at};
endmodule
