// CONV line buffer of the row loader (edgemoe_lin_loader): LINE_WORDS words of P_IN act
// values, one write port (D_FILL words) and one registered read port that reads the next
// word of a D_LINE tap ahead, so a tap moves a word per cycle after a cycle of latency.
module edgemoe_lin_line (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        we,
    input  logic [31:0] wa,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] wdata,
    input  logic [31:0] want,              // the word the tap needs this cycle
    input  logic        ahead,             // it is used up this cycle: read the next one
    output logic [edgemoe_pkg::P_IN*(8 << edgemoe_pkg::ACT_LG)-1:0] q,
    output logic        ok                 // q holds word `want`
);
  localparam int LINE_WORDS = edgemoe_pkg::CONV_LINE_WORDS / edgemoe_pkg::P_IN;
  localparam int LAW = LINE_WORDS > 1 ? $clog2(LINE_WORDS) : 1;
  localparam int QW = edgemoe_pkg::P_IN * (8 << edgemoe_pkg::ACT_LG);
  logic [31:0] ra, qa;
  logic qv;
  assign ok = qv && qa == want;
  assign ra = ahead ? want + 32'd1 : want;
  if (LINE_WORDS > 0) begin : g_line
    logic [QW-1:0] lbuf[LINE_WORDS];
    always_ff @(posedge clk) begin
      if (we) lbuf[LAW'(wa)] <= wdata[QW-1:0];
      q <= lbuf[LAW'(ra)];
    end
  end else begin : g_no_line
    assign q = '0;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      qa <= '0;
      qv <= 1'b0;
    end else begin
      qa <= ra;
      qv <= !we;                       // a write may change the word just read
    end
  end
  logic unused;
  assign unused = ^{wa, wdata};  // addresses wrap at LAW bits; a word is P_IN act values
endmodule
