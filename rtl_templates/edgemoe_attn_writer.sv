// Output writer of the attention engine (edgemoe_attn): drains a finished AV block, one
// head row (cpr beats) per query, from the lanes' accumulator bank it is given.  The
// accumulators have two banks, so the dense and int8 schedules start the drain at the
// phase hand-over and the next phase accumulates into the other bank meanwhile; the
// engine holds the hand-over after that phase until the drain is done.  Top-k mode drains
// before the hand-over (the selection's picks share the write port during a phase).
//
// A beat's elements are the accumulators quantized once: act.from_raw(acc, F) (dense), or
// act.from_raw(acc * o_mul, o_shift) with the product in 64-bit wrap-around (int8 mode,
// edgemoe/numerics/attn_q8.py).  With codes out (int8 mode, q8_codes) each element then
// becomes the consumer's int8 input code (numerics.int8 step 1 with x_mul: edgemoe_lin_q8,
// clamps counted) and a row is hd bytes: the beat's ATTN_E codes go out as one word of
// ATTN_E bytes (the DMA packs them into bus beats).
module edgemoe_attn_writer (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        go,                // drain block qb of head h (nq rows), bank `bank`
    input  logic [31:0] qb, nq, h,
    input  logic        bank,
    input  logic [63:0] dst,               // the job: output base, heads, head_dim
    input  logic [31:0] nh, hd, cpr,       // cpr: beats per head row
    input  logic        q8,                // int8 mode, its output rescale
    input  logic signed [31:0] o_mul,
    input  logic [5:0]  o_shift,
    input  logic        codes,             // int8 mode: write int8 codes made with x_mul
    input  logic signed [31:0] x_mul,
    output logic        busy,
    output logic [31:0] lane, beat,        // the row's lane and beat being read ...
    output logic        rd_bank,           // ... from this accumulator bank
    // lane `lane`'s accumulators of beat `beat` (ATTN_E, 64-bit): dense, and int8 mode
    input  logic [edgemoe_pkg::ATTN_E*64-1:0] acc, acc_q8,
    output logic        wr_cmd_valid,
    input  logic        wr_cmd_ready,
    output logic [63:0] wr_cmd_addr,
    output logic [31:0] wr_cmd_len,
    output logic [3:0]  wr_cmd_wlg,
    output logic        wr_valid,
    output logic [edgemoe_pkg::ATTN_E*(8 << edgemoe_pkg::ACT_LG)-1:0] wr_data,
    input  logic        wr_ready,
    output logic [31:0] ovf                // elements of the beat written now that overflowed
);
  localparam int P = edgemoe_pkg::ATTN_LANES;
  localparam int E = edgemoe_pkg::ATTN_E;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int LG_B = edgemoe_pkg::AXI_LG;

  typedef enum logic [1:0] {W_IDLE, W_CMD, W_DATA} wr_t;
  wr_t ws;
  logic [31:0] wqb, wnq, wh;
  assign busy = ws != W_IDLE;

  logic [E-1:0] out_ovf, in_row;           // elements of the beat that wrap/saturate; in hd
  logic [E*ABITS-1:0] y;                   // the beat's act values
  for (genvar e = 0; e < E; e++) begin : g_out
    logic signed [63:0] a, oq;
    logic [64:0] o8;
    assign a = $signed(acc[e*64+:64]);
    assign oq = $signed(acc_q8[e*64+:64]) * 64'(o_mul);
    assign o8 = edgemoe_pkg::q_act_c(oq, int'({26'd0, o_shift}) - F);
    assign y[e*ABITS+:ABITS] = q8 ? ABITS'(o8[63:0]) : ABITS'(edgemoe_pkg::q_act(a, F));
    assign in_row[e] = beat * 32'(E) + 32'(e) < hd;
    assign out_ovf[e] = in_row[e] && (q8 ? o8[64] :
        edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(a, F)));
  end
  // codes out: the consumer's int8 input codes of y (built with the int8 mode only)
  logic [E*8-1:0] code_bytes;
  logic [31:0] n_clamped;
  if (edgemoe_pkg::ATTN_Q8_BUILT != 0) begin : g_codes
    logic [E*ABITS-1:0] yc;                // E int8 codes, sign-extended to ABITS
    edgemoe_lin_q8 #(.XBITS(ABITS), .LANES(E)) u_codes (
        .x_in(y), .x_valid(in_row), .x_mul, .x_q8(yc), .clamped(n_clamped));
    for (genvar e = 0; e < E; e++) begin : g_byte
      assign code_bytes[e*8+:8] = yc[e*ABITS+:8];
    end
    logic unused_ext;                      // (the codes' sign extension)
    assign unused_ext = ^yc;
  end else begin : g_no_codes
    assign {code_bytes, n_clamped} = '0;
    logic unused_x_mul;
    assign unused_x_mul = ^x_mul;
  end
  assign wr_data = codes ? (E*ABITS)'(code_bytes) : y;
  assign wr_valid = ws == W_DATA;
  assign ovf = wr_valid && wr_ready ?
      32'($countones(out_ovf)) + (codes ? n_clamped : 32'd0) : 32'd0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ws <= W_IDLE;
      wqb <= '0; wnq <= '0; wh <= '0; lane <= '0; beat <= '0; rd_bank <= 1'b0;
      wr_cmd_valid <= 1'b0; wr_cmd_addr <= '0; wr_cmd_len <= '0; wr_cmd_wlg <= '0;
    end else begin
      if (wr_cmd_valid && wr_cmd_ready) wr_cmd_valid <= 1'b0;
      case (ws)
        W_IDLE: if (go) begin
          wqb <= qb;
          wnq <= nq;
          wh <= h;
          rd_bank <= bank;
          lane <= '0;
          ws <= W_CMD;
        end
        W_CMD: if (!wr_cmd_valid) begin
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= dst + (((64'(wqb * 32'(P) + lane) * 64'(nh) + 64'(wh)) * 64'(hd))
                                << (codes ? 0 : AL));
          wr_cmd_len <= codes ? hd : hd << AL;
          wr_cmd_wlg <= codes ? 4'(LG_B - AL) : 4'(LG_B);  // codes: a word of ATTN_E bytes
          beat <= '0;
          ws <= W_DATA;
        end
        W_DATA: if (wr_ready) begin
          beat <= beat + 32'd1;
          if (beat + 32'd1 == cpr) begin
            lane <= lane + 32'd1;
            ws <= (lane + 32'd1 == wnq) ? W_IDLE : W_CMD;
          end
        end
        default: ws <= W_IDLE;
      endcase
    end
  end
endmodule
