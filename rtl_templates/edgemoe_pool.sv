// POOL (opcode 9) on an HWC tensor, VEC lanes per word, as golden.pool_ops.op_pool:
//   MAX         k x k / stride s windows, ceil mode, clipped at the bottom/right edge;
//   GLOBAL_AVG  exact 64-bit sum per channel, mean = q(sum * recip >> (30 + clog2 n));
//   SCALE       eSE's channel scale: q(x * min(gate, 1)), gate read once per instruction.
// One pixel row (c channels) is read per command; MAX and GLOBAL_AVG keep one row of
// 64-bit lanes (the window maximum or the sum) and write it out, SCALE streams read data
// through the multipliers into the writer.
module edgemoe_pool (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [1:0]  mode,          // edgemoe_pkg::POOL_MAX / POOL_GLOBAL_AVG / POOL_SCALE
    input  logic [31:0] h, w, c,
    input  logic [7:0]  k, s,
    input  logic [63:0] src, dst, gate,
    input  logic [31:0] recip,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp
);
  localparam int V = edgemoe_pkg::VEC_LANES;
  localparam int VL = edgemoe_pkg::VEC_LANES_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int CW = (edgemoe_pkg::MAX_IN_FEATURES + V - 1) / V;   // words per pixel row
  localparam int CAW = $clog2(CW > 1 ? CW : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  // the DMA port under short names
  logic rd_cmd_valid, rd_cmd_ready, rd_valid, rd_ready, rd_last;
  logic wr_cmd_valid, wr_cmd_ready, wr_valid, wr_ready;
  logic [63:0] rd_cmd_addr, wr_cmd_addr;
  logic [31:0] rd_cmd_len, wr_cmd_len;
  logic [3:0] rd_cmd_wlg, wr_cmd_wlg;
  logic [WB-1:0] rd_data, wr_data;
  assign dma_req.rd_cmd_valid = rd_cmd_valid;
  assign dma_req.rd_cmd_addr = rd_cmd_addr;
  assign dma_req.rd_cmd_len = rd_cmd_len;
  assign dma_req.rd_cmd_wlg = rd_cmd_wlg;
  assign dma_req.rd_ready = rd_ready;
  assign dma_req.wr_cmd_valid = wr_cmd_valid;
  assign dma_req.wr_cmd_addr = wr_cmd_addr;
  assign dma_req.wr_cmd_len = wr_cmd_len;
  assign dma_req.wr_cmd_wlg = wr_cmd_wlg;
  assign dma_req.wr_valid = wr_valid;
  assign dma_req.wr_data = wr_data;
  assign rd_cmd_ready = dma_resp.rd_cmd_ready;
  assign rd_valid = dma_resp.rd_valid;
  assign rd_data = dma_resp.rd_data;
  assign rd_last = dma_resp.rd_last;
  assign wr_cmd_ready = dma_resp.wr_cmd_ready;
  assign wr_ready = dma_resp.wr_ready;

  typedef enum logic [3:0] {S_IDLE, S_GATE_CMD, S_GATE_RD, S_RD_CMD, S_RD, S_WR_CMD, S_WR,
                            S_SC_WCMD, S_SC, S_END} state_t;
  state_t st;
  logic [1:0] jm;
  logic [31:0] jh, jw, jc, jrecip;
  logic [31:0] jk, js;
  logic [63:0] jsrc, jdst, jgate;
  logic [31:0] oy, ox, iy, ix, pos, npos, out_idx, cw;
  logic first;
  int sh;                                       // GLOBAL_AVG's bits dropped
  logic signed [63:0] acc[CW][V];               // window maximum or channel sum
  logic [V*ABITS-1:0] gbuf[CW];                 // SCALE's gate row

  function automatic int clog2_rt(input logic [31:0] n);
    clog2_rt = 0;
    for (int e = 0; e < 32; e++) if ((64'd1 << e) < 64'(n)) clog2_rt = e + 1;
  endfunction

  // ------------------------------------------------------------------ lanes
  logic [V*ABITS-1:0] out_word, scale_word;
  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [63:0] x, g, gc, mean;
    logic [64:0] red;
    assign x = edgemoe_pkg::sext(64'(rd_data[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign g = edgemoe_pkg::sext(64'(gbuf[CAW'(cw)][e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign gc = (g > (64'sd1 <<< F)) ? (64'sd1 <<< F) : g;
    assign scale_word[e*ABITS+:ABITS] = ABITS'(edgemoe_pkg::q_act(x * gc, F));  // drop F bits
    assign red = edgemoe_pkg::prod_reduce(acc[CAW'(cw)][e], jrecip, sh);
    assign mean = edgemoe_pkg::q_act(red[63:0], edgemoe_pkg::prod_shift(sh));
    logic unused_big;  // red[64]: the mean overflows act (not counted by POOL)
    assign unused_big = red[64];
    assign out_word[e*ABITS+:ABITS] = ABITS'(jm == 2'(edgemoe_pkg::POOL_MAX) ?
                                             acc[CAW'(cw)][e] : mean);
  end

  assign rd_ready = st == S_GATE_RD || st == S_RD || (st == S_SC && wr_ready);
  assign wr_valid = st == S_WR || (st == S_SC && rd_valid);
  assign wr_data = WB'(st == S_SC ? scale_word : out_word);

  // next window tap / output position of MAX (ceil mode: a window starts before w - k + s)
  logic tap_x_more, tap_y_more, out_x_more, out_y_more;
  assign tap_x_more = ix + 32'd1 < jw && ix + 32'd1 < ox * js + jk;
  assign tap_y_more = iy + 32'd1 < jh && iy + 32'd1 < oy * js + jk;
  assign out_x_more = (ox + 32'd1) * js + jk < jw + js;
  assign out_y_more = (oy + 32'd1) * js + jk < jh + js;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE;
      done <= 1'b0;
      jm <= '0; jh <= '0; jw <= '0; jc <= '0; jk <= '0; js <= '0; jrecip <= '0;
      jsrc <= '0; jdst <= '0; jgate <= '0;
      oy <= '0; ox <= '0; iy <= '0; ix <= '0; pos <= '0; npos <= '0; out_idx <= '0; cw <= '0;
      first <= 1'b0;
      sh <= 0;
      rd_cmd_valid <= 1'b0; rd_cmd_addr <= '0; rd_cmd_len <= '0; rd_cmd_wlg <= '0;
      wr_cmd_valid <= 1'b0; wr_cmd_addr <= '0; wr_cmd_len <= '0; wr_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      if (rd_cmd_valid && rd_cmd_ready) rd_cmd_valid <= 1'b0;
      if (wr_cmd_valid && wr_cmd_ready) wr_cmd_valid <= 1'b0;
      case (st)
        S_IDLE: if (start) begin
          jm <= mode; jh <= h; jw <= w; jc <= c; jk <= 32'(k); js <= 32'(s);
          jsrc <= src; jdst <= dst; jgate <= gate; jrecip <= recip;
          oy <= '0; ox <= '0; iy <= '0; ix <= '0; pos <= '0; out_idx <= '0; cw <= '0;
          npos <= h * w;
          first <= 1'b1;
          sh <= edgemoe_pkg::POOL_RECIP_BITS + clog2_rt(h * w);  // bits dropped below act
          st <= (mode == 2'(edgemoe_pkg::POOL_SCALE)) ? S_GATE_CMD : S_RD_CMD;
        end
        S_GATE_CMD: if (!rd_cmd_valid) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= jgate;
          rd_cmd_len <= jc << AL;
          rd_cmd_wlg <= 4'(VL + AL);
          st <= S_GATE_RD;
        end
        S_GATE_RD: if (rd_valid) begin
          gbuf[CAW'(cw)] <= rd_data[V*ABITS-1:0];
          cw <= cw + 32'd1;
          if (rd_last) begin
            cw <= '0;
            st <= S_RD_CMD;
          end
        end
        S_RD_CMD: if (!rd_cmd_valid) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= jsrc + (((jm == 2'(edgemoe_pkg::POOL_MAX)) ?
                                  64'(iy) * 64'(jw) + 64'(ix) : 64'(pos)) * 64'(jc) << AL);
          rd_cmd_len <= jc << AL;
          rd_cmd_wlg <= 4'(VL + AL);
          st <= (jm == 2'(edgemoe_pkg::POOL_SCALE)) ? S_SC_WCMD : S_RD;
        end
        S_RD: if (rd_valid) begin
          for (int e = 0; e < V; e++) begin
            logic signed [63:0] xv;
            xv = edgemoe_pkg::sext(64'(rd_data[e*ABITS+:ABITS]), 2'(AL), 1'b1);
            if (first) acc[CAW'(cw)][e] <= xv;
            else if (jm == 2'(edgemoe_pkg::POOL_MAX)) begin
              if (xv > acc[CAW'(cw)][e]) acc[CAW'(cw)][e] <= xv;
            end else acc[CAW'(cw)][e] <= acc[CAW'(cw)][e] + xv;  // exact: < 2**47
          end
          cw <= cw + 32'd1;
          if (rd_last) begin
            cw <= '0;
            first <= 1'b0;
            st <= S_RD_CMD;
            if (jm == 2'(edgemoe_pkg::POOL_MAX)) begin
              if (tap_x_more) ix <= ix + 32'd1;
              else if (tap_y_more) begin
                ix <= ox * js;
                iy <= iy + 32'd1;
              end else st <= S_WR_CMD;
            end else begin
              pos <= pos + 32'd1;
              if (pos + 32'd1 == npos) st <= S_WR_CMD;
            end
          end
        end
        S_WR_CMD: if (!wr_cmd_valid) begin
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= jdst + (64'(out_idx) * 64'(jc) << AL);
          wr_cmd_len <= jc << AL;
          wr_cmd_wlg <= 4'(VL + AL);
          st <= S_WR;
        end
        S_WR: if (wr_ready) begin
          cw <= cw + 32'd1;
          if ((cw + 32'd1) << VL >= jc) begin   // the row's last word
            cw <= '0;
            out_idx <= out_idx + 32'd1;
            first <= 1'b1;
            st <= S_RD_CMD;
            if (jm != 2'(edgemoe_pkg::POOL_MAX)) st <= S_END;
            else if (out_x_more) begin
              ox <= ox + 32'd1;
              ix <= (ox + 32'd1) * js;
              iy <= oy * js;
            end else if (out_y_more) begin
              ox <= '0;
              oy <= oy + 32'd1;
              ix <= '0;
              iy <= (oy + 32'd1) * js;
            end else st <= S_END;
          end
        end
        S_SC_WCMD: if (!wr_cmd_valid) begin
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= jdst + (64'(pos) * 64'(jc) << AL);
          wr_cmd_len <= jc << AL;
          wr_cmd_wlg <= 4'(VL + AL);
          st <= S_SC;
        end
        S_SC: if (rd_valid && wr_ready) begin
          cw <= cw + 32'd1;
          if (rd_last) begin
            cw <= '0;
            pos <= pos + 32'd1;
            st <= (pos + 32'd1 == npos) ? S_END : S_RD_CMD;
          end
        end
        S_END: if (!wr_cmd_valid) begin
          done <= 1'b1;
          st <= S_IDLE;
        end
        default: st <= S_IDLE;
      endcase
    end
  end
  logic unused;
  assign unused = ^{rd_data};
endmodule
