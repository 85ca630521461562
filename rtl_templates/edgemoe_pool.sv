// POOL (opcode 9) on an HWC tensor, VEC lanes per word, as golden.pool_ops.op_pool:
//   MAX         k x k / stride s windows, ceil mode, clipped at the bottom/right edge;
//   AVG         the same windows, mean = q(sum * recip(n) >> (30 + clog2 n)) for the window's
//               own count n, recip(n) from the POOL_WINDOW_RECIP ROM (no divider);
//   GLOBAL_AVG  exact 64-bit sum per channel, mean = q(sum * recip >> (30 + clog2 n));
//   SCALE       eSE's channel scale: q(x * min(gate, 1)), gate read once per instruction.
// One pixel row (c channels) is read per command; MAX, AVG and GLOBAL_AVG keep one row of
// 64-bit lanes (the window maximum or the sum) and write it out, SCALE streams read data
// through the multipliers into the writer.  The row (and SCALE's gate row) is block RAM:
// read one word ahead at the word the next cycle works on (cw_next), so its read is
// registered; a word written in the cycle it is read (rows of one word) is forwarded.  Means and scaled values that wrap or saturate
// count into `overflows` (profile word 6, edgemoe/layout.py); a maximum always fits.
module edgemoe_pool (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [1:0]  mode,          // edgemoe_pkg::POOL_MAX / _GLOBAL_AVG / _SCALE / _AVG
    input  logic [31:0] h, w, c,
    input  logic [7:0]  k, s,
    input  logic [63:0] src, dst, gate,
    input  logic [31:0] recip,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows      // running count of outputs that wrapped or saturated
);
  localparam int V = edgemoe_pkg::VEC_LANES;
  localparam int VL = edgemoe_pkg::VEC_LANES_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int F = edgemoe_pkg::ACT_F;
  localparam int CW = (edgemoe_pkg::MAX_IN_FEATURES + V - 1) / V;   // words per pixel row
  localparam int CAW = $clog2(CW > 1 ? CW : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  typedef enum logic [3:0] {S_IDLE, S_GATE_CMD, S_GATE_RD, S_RD_CMD, S_RD, S_WR_CMD, S_WR,
                            S_SC_WCMD, S_SC, S_END} state_t;
  state_t st;
  logic [1:0] jm;
  logic [31:0] jh, jw, jc, jrecip;              // jrecip: the mean's multiplier (imm or ROM)
  logic [31:0] jk, js;
  logic [63:0] jsrc, jdst, jgate;
  logic [31:0] oy, ox, iy, ix, pos, npos, out_idx, cw, cw_next;
  logic first;
  logic win;                                    // MAX or AVG: k x k windows
  int sh;                                       // the mean's bits dropped
  logic [V*64-1:0] acc[CW];                     // window maximum or channel sum, 64 bits a lane
  logic [V*ABITS-1:0] gbuf[CW];                 // SCALE's gate row
  logic [V*64-1:0] acc_q, acc_wd;               // acc[cw] (registered read), the word written
  logic [V*ABITS-1:0] gbuf_q;                   // gbuf[cw]
  logic acc_we;

  function automatic int clog2_rt(input logic [31:0] n);
    clog2_rt = 0;
    for (int e = 0; e < 32; e++) if ((64'd1 << e) < 64'(n)) clog2_rt = e + 1;
  endfunction

  // ------------------------------------------------------------------ lanes
  logic [V*ABITS-1:0] out_word, scale_word;
  logic [V-1:0] ovf_mean, ovf_scale, lane_ok;   // per lane: overflowed; a real channel
  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [63:0] x, g, gc, mean;
    logic [64:0] red;
    assign x = edgemoe_pkg::sext(64'(dma_resp.rd_data[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign g = edgemoe_pkg::sext(64'(gbuf_q[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign gc = (g > (64'sd1 <<< F)) ? (64'sd1 <<< F) : g;
    logic [64:0] qs, qm;                        // {overflowed, value}
    assign qs = edgemoe_pkg::q_act_c(x * gc, F);  // drop F bits
    assign scale_word[e*ABITS+:ABITS] = ABITS'(qs[63:0]);
    assign ovf_scale[e] = qs[64];
    assign red = edgemoe_pkg::prod_reduce(acc_q[e*64+:64], jrecip, sh);
    assign qm = edgemoe_pkg::q_act_c(red[63:0], edgemoe_pkg::prod_shift(sh));
    assign mean = qm[63:0];
    assign ovf_mean[e] = red[64] || qm[64];
    assign lane_ok[e] = (cw << VL) + 32'(e) < jc;
    assign out_word[e*ABITS+:ABITS] = ABITS'(jm == 2'(edgemoe_pkg::POOL_MAX) ?
                                             acc_q[e*64+:64] : mean);
    // S_RD's update of this lane: the first tap, the larger value (MAX) or the sum (exact:
    // < 2**47)
    logic signed [63:0] a;
    assign a = acc_q[e*64+:64];
    assign acc_wd[e*64+:64] = first ? x : jm == 2'(edgemoe_pkg::POOL_MAX) ?
                              (x > a ? x : a) : a + x;
  end

  // ------------------------------------------------------------------ row memories
  logic row_last;                               // S_WR: the row's last word
  assign row_last = (cw + 32'd1) << VL >= jc;
  // cw_next: the word the next cycle works on (the FSM below moves cw to it)
  always_comb begin
    cw_next = cw;
    case (st)
      S_IDLE: if (start) cw_next = '0;
      S_GATE_RD, S_RD: if (dma_resp.rd_valid) cw_next = dma_resp.rd_last ? '0 : cw + 32'd1;
      S_WR: if (dma_resp.wr_ready) cw_next = row_last ? '0 : cw + 32'd1;
      S_SC: if (dma_resp.rd_valid && dma_resp.wr_ready)
        cw_next = dma_resp.rd_last ? '0 : cw + 32'd1;
      default: ;
    endcase
  end
  assign acc_we = st == S_RD && dma_resp.rd_valid;
  always_ff @(posedge clk) begin
    if (acc_we) acc[CAW'(cw)] <= acc_wd;
    acc_q <= (acc_we && cw_next == cw) ? acc_wd : acc[CAW'(cw_next)];
    if (st == S_GATE_RD && dma_resp.rd_valid) gbuf[CAW'(cw)] <= dma_resp.rd_data[V*ABITS-1:0];
    gbuf_q <= gbuf[CAW'(cw_next)];
  end

  assign dma_req.rd_ready = st == S_GATE_RD || st == S_RD || (st == S_SC && dma_resp.wr_ready);
  assign dma_req.wr_valid = st == S_WR || (st == S_SC && dma_resp.rd_valid);
  assign dma_req.wr_data = WB'(st == S_SC ? scale_word : out_word);
  assign win = jm == 2'(edgemoe_pkg::POOL_MAX) || jm == 2'(edgemoe_pkg::POOL_AVG);

  // clipped window of output (oy, ox): its row and column counts (AVG's divisor is their product)
  logic [31:0] win_rows, win_cols;
  assign win_rows = ((oy * js + jk < jh) ? oy * js + jk : jh) - oy * js;
  assign win_cols = ((ox * js + jk < jw) ? ox * js + jk : jw) - ox * js;

  always_ff @(posedge clk) begin  // running: edgemoe_ctrl_prof reports each instruction's rise
    if (!rst_n) overflows <= '0;
    else if (st == S_WR && dma_resp.wr_ready && jm != 2'(edgemoe_pkg::POOL_MAX))
      overflows <= overflows + 64'($countones(ovf_mean & lane_ok));
    else if (st == S_SC && dma_resp.rd_valid && dma_resp.wr_ready)
      overflows <= overflows + 64'($countones(ovf_scale & lane_ok));
  end

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
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0;
      dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0;
      dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      cw <= cw_next;
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (st)
        S_IDLE: if (start) begin
          jm <= mode; jh <= h; jw <= w; jc <= c; jk <= 32'(k); js <= 32'(s);
          jsrc <= src; jdst <= dst; jgate <= gate; jrecip <= recip;
          oy <= '0; ox <= '0; iy <= '0; ix <= '0; pos <= '0; out_idx <= '0;
          npos <= h * w;
          first <= 1'b1;
          sh <= edgemoe_pkg::POOL_RECIP_BITS + clog2_rt(h * w);  // bits dropped below act
          st <= (mode == 2'(edgemoe_pkg::POOL_SCALE)) ? S_GATE_CMD : S_RD_CMD;
        end
        S_GATE_CMD: if (!dma_req.rd_cmd_valid) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jgate;
          dma_req.rd_cmd_len <= jc << AL;
          dma_req.rd_cmd_wlg <= 4'(VL + AL);
          st <= S_GATE_RD;
        end
        S_GATE_RD: if (dma_resp.rd_valid && dma_resp.rd_last) st <= S_RD_CMD;
        S_RD_CMD: if (!dma_req.rd_cmd_valid) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jsrc + ((win ?
                                  64'(iy) * 64'(jw) + 64'(ix) : 64'(pos)) * 64'(jc) << AL);
          dma_req.rd_cmd_len <= jc << AL;
          dma_req.rd_cmd_wlg <= 4'(VL + AL);
          st <= (jm == 2'(edgemoe_pkg::POOL_SCALE)) ? S_SC_WCMD : S_RD;
        end
        S_RD: if (dma_resp.rd_valid) begin  // (the row word: acc_wd above)
          if (dma_resp.rd_last) begin
            first <= 1'b0;
            st <= S_RD_CMD;
            if (win) begin
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
        S_WR_CMD: if (!dma_req.wr_cmd_valid) begin
          if (jm == 2'(edgemoe_pkg::POOL_AVG)) begin  // this window's count: ROM, no divider
            jrecip <= 32'(edgemoe_pkg::pool_window_recip(4'(win_rows * win_cols)));
            sh <= edgemoe_pkg::POOL_RECIP_BITS + clog2_rt(win_rows * win_cols);
          end
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= jdst + (64'(out_idx) * 64'(jc) << AL);
          dma_req.wr_cmd_len <= jc << AL;
          dma_req.wr_cmd_wlg <= 4'(VL + AL);
          st <= S_WR;
        end
        S_WR: if (dma_resp.wr_ready) begin
          if (row_last) begin
            out_idx <= out_idx + 32'd1;
            first <= 1'b1;
            st <= S_RD_CMD;
            if (!win) st <= S_END;
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
        S_SC_WCMD: if (!dma_req.wr_cmd_valid) begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= jdst + (64'(pos) * 64'(jc) << AL);
          dma_req.wr_cmd_len <= jc << AL;
          dma_req.wr_cmd_wlg <= 4'(VL + AL);
          st <= S_SC;
        end
        S_SC: if (dma_resp.rd_valid && dma_resp.wr_ready) begin
          if (dma_resp.rd_last) begin
            pos <= pos + 32'd1;
            st <= (pos + 32'd1 == npos) ? S_END : S_RD_CMD;
          end
        end
        S_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          st <= S_IDLE;
        end
        default: st <= S_IDLE;
      endcase
    end
  end
  logic unused;
  assign unused = ^{dma_resp.rd_data};
endmodule
