// Row writer of the linear engine: writes each finished output row (one strip's columns)
// of the two output slots to memory while the MAC array computes the next token.  With
// `codes` (a W8A8 expert's fc1, or a LINEAR with codes out; edgemoe/numerics/int8.py
// hidden_codes) each act element becomes an int8 code (edgemoe_lin_q8 with its lane's
// multiplier in x_muls: the word's code multipliers, edgemoe_lin_bbuf) and the row is
// written a byte an element, coded EPI_LANES lanes a cycle (the epilogue's pace: a word
// takes EPI_STEPS cycles, the last one sending it); each code's clamp counts once.
module edgemoe_lin_writer (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        ld_go,             // a strip starts: slot 0 first
    input  logic [1:0]  out_full,          // output slot holds a finished row
    input  logic        row_done,          // the MAC array finished a row of slot row_slot
    input  logic        row_slot,
    input  logic [31:0] row_idx,           // its destination row
    input  logic [63:0] dst,
    input  logic [31:0] n,                 // row length in elements
    input  logic [31:0] col0, strip_cols,  // the strip's columns
    input  logic        codes,             // store int8 codes (hidden_codes bit 0)
    input  logic [edgemoe_pkg::P_OUT*32-1:0] x_muls,  // their multipliers, a lane each (int32)
    input  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] obuf_q,  // the word read at rd_i
    output logic [edgemoe_pkg::WORD_MAX*8-1:0] wr_data,
    output logic [31:0] clamped,           // codes clamped this cycle (counted once each)
    output logic        rd_slot,           // the output buffer word to read this cycle: the
    output logic [31:0] rd_i,              // one wr_data carries next cycle (registered read)
    output logic        w_done_pulse,      // slot w_clr is written
    output logic        w_clr,
    output logic        wr_cmd_valid,
    input  logic        wr_cmd_ready,
    output logic [63:0] wr_cmd_addr,
    output logic [31:0] wr_cmd_len,
    output logic [3:0]  wr_cmd_wlg,
    output logic        wr_valid,
    input  logic        wr_ready
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  logic [1:0] olg;  // output element bytes (log2)
  assign olg = codes ? 2'd0 : 2'(AL);

  typedef enum logic [1:0] {W_IDLE, W_CMD, W_DATA} wr_t;
  wr_t ws;
  logic w_slot;        // slot being written, its word w_i
  logic [31:0] w_i, w_n;
  logic [31:0] out_row[2];
  always_ff @(posedge clk) begin
    if (row_done) out_row[row_slot] <= row_idx;
  end
  assign w_n = (strip_cols + 32'(PO - 1)) >> PO_LG;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ws <= W_IDLE;
      w_slot <= 1'b0;
      w_i <= '0;
      w_done_pulse <= 1'b0;
      w_clr <= 1'b0;
      wr_cmd_valid <= 1'b0; wr_cmd_addr <= '0; wr_cmd_len <= '0; wr_cmd_wlg <= '0;
    end else begin
      w_done_pulse <= 1'b0;
      if (wr_cmd_valid && wr_cmd_ready) wr_cmd_valid <= 1'b0;
      if (ld_go) w_slot <= 1'b0;
      case (ws)
        W_IDLE: if (out_full[w_slot] && !w_done_pulse) ws <= W_CMD;
        W_CMD: if (!wr_cmd_valid) begin
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= dst + ((64'(out_row[w_slot]) * 64'(n) + 64'(col0)) << olg);
          wr_cmd_len <= strip_cols << olg;
          wr_cmd_wlg <= 4'(PO_LG) + {2'd0, olg};
          w_i <= '0;
          ws <= W_DATA;
        end
        W_DATA: if (send) begin
          w_i <= w_i + 32'd1;
          if (w_i + 32'd1 == w_n) begin
            w_done_pulse <= 1'b1;
            w_clr <= w_slot;
            w_slot <= !w_slot;
            ws <= W_IDLE;
          end
        end
        default: ws <= W_IDLE;
      endcase
    end
  end
  // codes: lane group q_k of the word this cycle (earlier groups wait in code_word); lanes
  // past the strip's columns are never written, so neither coded nor counted
  localparam int QL = edgemoe_pkg::EPI_LANES, QS = edgemoe_pkg::EPI_STEPS;
  localparam int QKB = QS > 1 ? $clog2(QS) : 1;
  logic [QKB-1:0] q_k;
  logic q_last, send;
  assign q_last = !codes || 32'(q_k) == 32'(QS - 1);
  assign wr_valid = ws == W_DATA && q_last;
  assign send = wr_valid && wr_ready;
  logic [QL*ABITS-1:0] g_q;
  logic [31:0] g_clamped, l_clamped[QL];
  logic [PO*8-1:0] code_word;
  for (genvar i = 0; i < QL; i++) begin : g_lane
    logic [31:0] lane;
    logic [ABITS-1:0] x;
    logic signed [31:0] mul;  // plain wires on the ports (Yosys's frontend wants them)
    logic valid;
    assign lane = 32'(q_k) * 32'(QL) + 32'(i);
    assign {x, mul, valid} = {obuf_q[lane*ABITS+:ABITS], x_muls[lane*32+:32],
                              (w_i << PO_LG) + lane < strip_cols};
    edgemoe_lin_q8 #(.XBITS(ABITS), .LANES(1)) u_code (
        .x_in(x), .x_valid(valid), .x_mul(mul), .x_q8(g_q[i*ABITS+:ABITS]), .clamped(l_clamped[i]));
  end
  always_comb begin
    g_clamped = '0;
    for (int i = 0; i < QL; i++) g_clamped = g_clamped + l_clamped[i];
  end
  always_ff @(posedge clk) begin
    if (!rst_n || ws != W_DATA || send) q_k <= '0;
    else if (!q_last) q_k <= q_k + QKB'(1);
    for (int i = 0; i < QL; i++)
      if (ws == W_DATA && !q_last) code_word[(32'(q_k) * 32'(QL) + 32'(i))*8+:8] <= g_q[i*ABITS+:8];
  end
  always_comb begin
    wr_data = codes ? WB'(code_word) : WB'(obuf_q);
    if (codes) for (int i = 0; i < QL; i++) wr_data[((QS - 1) * QL + i)*8+:8] = g_q[i*ABITS+:8];
  end
  assign clamped = (codes && ws == W_DATA && (!q_last || send)) ? g_clamped : '0;
  // the values w_slot and w_i take next cycle, so the registered read keeps pace
  assign rd_slot = ld_go ? 1'b0 : w_slot;
  assign rd_i = ws == W_CMD && !wr_cmd_valid ? '0 : send ? w_i + 32'd1 : w_i;
endmodule
