// LIF engine: spiking layers (edgemoe/golden/snn_ops.py), add-only.
//
// Per block of P_OUT neurons: the bias word and the weight strip (ceil(K/P_IN) tiles) are
// read once and kept for all T steps; their read commands and step 0's spike read are
// issued back to back, so one read latency per block is paid, not three (the DMA returns
// data in command order).  Per step the spike bytes stream in P_IN per word and
// each lane adds the weights its spikes select (a mux and an adder tree, no multiplier),
// then every lane quantizes its current, updates its membrane, compares (strictly greater)
// and subtracts the threshold.  A block's spikes leave as one word of P_OUT bytes; the
// readout writes the block's membranes as one word after the last step.  The membrane registers and the leak multiplier exist only
// when MAX_TIMESTEPS > 1: with one step u_0 = 0 and nothing outlives the step.
module edgemoe_lif (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] n,             // neurons
    input  logic [31:0] k,             // inputs (spike-input mode)
    input  logic [31:0] steps,         // timesteps T
    input  logic [31:0] th,            // threshold, raw act
    input  logic [1:0]  mode,          // bit 0 current input, bit 1 readout (isa.LIF_*)
    input  logic [31:0] leak,          // raw, LIF_LEAK_FRAC fraction bits
    input  logic [63:0] src, dst, wts, bias,
    output logic [63:0] overflows,     // running count of values that wrapped or saturated
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int WL = edgemoe_pkg::LINEAR_WEIGHT_LG;
  localparam int WBITS = 8 << WL;
  localparam int BL = edgemoe_pkg::BIAS_LG;
  localparam int BBITS = 8 << BL;
  localparam int ABITS = 8 << AL;
  localparam int WF = edgemoe_pkg::LINEAR_WEIGHT_F;
  localparam int BF = edgemoe_pkg::BIAS_F;
  localparam int FR = WF > BF ? WF : BF;            // the exact sum + bias fraction bits
  localparam int LF = edgemoe_pkg::LIF_LEAK_FRAC;
  localparam int KT = edgemoe_pkg::MAX_IN_FEATURES / PI;  // tiles of the widest strip
  localparam int KTW = $clog2(KT > 1 ? KT : 2);
  localparam bit KEEP_U = edgemoe_pkg::MAX_TIMESTEPS > 1;
  localparam int TILE_LG = edgemoe_pkg::P_OUT_LG + edgemoe_pkg::P_IN_LG + WL;

  typedef enum logic [3:0] {
    S_IDLE, S_BLOCK, S_BIAS, S_WCMD, S_WTS, S_CUR, S_STEP, S_ADD, S_UPD, S_WR, S_NEXT, S_RDOUT,
    S_WRU, S_END
  } st_t;
  st_t s;
  logic [31:0] nn, kk, tt, tcur, n0, nvalid, kb;
  logic [63:0] thr;
  logic [LF:0] lk;                     // leak, <= 1.0 (the op spec's limit)
  logic [31:0] ktiles;                 // P_IN-wide tiles per weight row
  assign ktiles = (kk + 32'(PI) - 32'd1) >> edgemoe_pkg::P_IN_LG;
  logic current, readout;
  logic [63:0] psrc, pdst, pb;
  // running addresses (adds, not multiplies): this step's spike row and output row, the
  // next block's weight strip
  logic [63:0] row_in, row_out, wnext;
  logic [PO*PI*WBITS-1:0] strip[KT];
  logic signed [63:0] acc[PO], cur[PO], bia[PO], u[PO];
  logic [PO-1:0] fire;

  // ------------------------------------------------------------------ lanes (combinational)
  logic signed [63:0] v_new[PO], u_next[PO], add_word[PO];
  logic [PO-1:0] fire_next, ovf_cur, ovf_u;
  logic [PO*PI*WBITS-1:0] tile;
  assign tile = strip[kb[KTW-1:0]];
  for (genvar j = 0; j < PO; j++) begin : g_lane
    logic signed [63:0] sel[PI + 1];   // running sum of the selected weights of this word
    logic signed [63:0] exact, c_q, kept, pre;
    assign sel[0] = '0;
    for (genvar i = 0; i < PI; i++) begin : g_in
      logic signed [63:0] w;
      assign w = edgemoe_pkg::sext(64'(tile[(j * PI + i) * WBITS +: WBITS]), 2'(WL), 1'b1);
      assign sel[i + 1] = sel[i] + (dma_resp.rd_data[8 * i] ? w : 64'sd0);  // binary operand: add
    end
    assign add_word[j] = sel[PI];
    assign exact = (acc[j] <<< (FR - WF)) + (bia[j] <<< (FR - BF));
    assign c_q = current ? cur[j] : edgemoe_pkg::q_act(exact, FR - edgemoe_pkg::ACT_F);
    if (FR >= edgemoe_pkg::ACT_F) begin : g_ovf_r
      assign ovf_cur[j] = !current && edgemoe_pkg::act_overflows(
          edgemoe_pkg::act_round(exact, FR - edgemoe_pkg::ACT_F));
    end else begin : g_ovf_l
      localparam int SH = edgemoe_pkg::ACT_F - FR;
      assign ovf_cur[j] = !current && (exact > (edgemoe_pkg::ACT_RAW_MAX >>> SH)
                                       || exact < -((-edgemoe_pkg::ACT_SAT_MIN) >>> SH));
    end
    if (KEEP_U) begin : g_membrane
      logic signed [LF+1:0] lk_s;
      logic signed [31:0] u_s;
      logic signed [LF+33:0] prod;   // leak (<= 1.0) x membrane: one narrow multiplier
      assign lk_s = {1'b0, lk};
      assign u_s = u[j][31:0];
      assign prod = lk_s * u_s;
      assign kept = (tcur == 32'd0) ? 64'sd0 : 64'(prod);
    end else begin : g_no_membrane
      assign kept = 64'sd0;  // T = 1 build: no membrane state, no leak multiplier
    end
    assign pre = kept + (c_q <<< LF);
    assign v_new[j] = edgemoe_pkg::q_act(pre, LF);
    assign ovf_u[j] = edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(pre, LF));
    assign fire_next[j] = !readout && (v_new[j] > $signed(thr));   // strictly greater
    assign u_next[j] = fire_next[j] ? v_new[j] - $signed(thr) : v_new[j];
  end

  logic [PO-1:0] lane_ok;   // lanes of the block that hold a neuron
  for (genvar j = 0; j < PO; j++) begin : g_ok
    assign lane_ok[j] = 32'(j) < nvalid;
  end

  assign dma_req.rd_ready = (s == S_BIAS) || (s == S_WTS) || (s == S_CUR) || (s == S_ADD);
  assign dma_req.wr_valid = (s == S_WR) || (s == S_WRU);
  logic [edgemoe_pkg::WORD_MAX*8-1:0] wr_word;
  always_comb begin  // one word per block: spike bytes, or the membranes (readout)
    wr_word = '0;
    for (int j = 0; j < PO; j++) begin
      if (s == S_WR) wr_word[8 * j] = fire[j];
      else wr_word[j * ABITS +: ABITS] = ABITS'(u[j]);
    end
  end
  assign dma_req.wr_data = wr_word;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s <= S_IDLE;
      done <= 1'b0;
      dma_req.rd_cmd_valid <= 1'b0;
      dma_req.wr_cmd_valid <= 1'b0;
      dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
      dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
      overflows <= '0;
      {nn, kk, tt, tcur, n0, nvalid, kb} <= '0;
      {thr, lk, psrc, pdst, pb, row_in, row_out, wnext} <= '0;
      current <= 1'b0; readout <= 1'b0;
      fire <= '0;
    end else begin
      done <= 1'b0;
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (s)
        S_IDLE: if (start) begin
          nn <= n; kk <= k; tt <= steps; thr <= 64'(th); lk <= leak[LF:0];
          current <= mode[0]; readout <= mode[1];
          psrc <= src; pdst <= dst; pb <= bias;
          wnext <= wts;
          n0 <= '0;
          s <= S_BLOCK;
        end
        S_BLOCK: begin
          nvalid <= (nn - n0 > 32'(PO)) ? 32'(PO) : nn - n0;
          tcur <= '0;
          row_in <= psrc;
          row_out <= pdst + 64'(n0);
          kb <= '0;
          for (int j = 0; j < PO; j++) acc[j] <= '0;
          dma_req.rd_cmd_valid <= 1'b1;
          if (current) begin  // the block's currents, one word
            dma_req.rd_cmd_addr <= psrc + (64'(n0) << AL);
            dma_req.rd_cmd_len <= ((nn - n0 > 32'(PO)) ? 32'(PO) : nn - n0) << AL;
            dma_req.rd_cmd_wlg <= 4'(edgemoe_pkg::P_OUT_LG + AL);
            s <= S_CUR;
          end else begin  // the bias word, then (S_WCMD, S_STEP) the strip and the spikes
            dma_req.rd_cmd_addr <= pb + (64'(n0) << BL);
            dma_req.rd_cmd_len <= 32'(PO) << BL;
            dma_req.rd_cmd_wlg <= 4'(edgemoe_pkg::P_OUT_LG + BL);
            s <= S_WCMD;
          end
        end
        S_CUR: if (dma_resp.rd_valid) begin
          for (int j = 0; j < PO; j++)
            cur[j] <= edgemoe_pkg::sext(64'(dma_resp.rd_data[j * ABITS +: ABITS]), 2'(AL), 1'b1);
          if (dma_resp.rd_last) s <= S_UPD;
        end
        S_WCMD: if (!dma_req.rd_cmd_valid) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= wnext;
          dma_req.rd_cmd_len <= ktiles << TILE_LG;
          wnext <= wnext + (64'(ktiles) << TILE_LG);
          dma_req.rd_cmd_wlg <= 4'(TILE_LG);
          s <= S_STEP;
        end
        S_BIAS: if (dma_resp.rd_valid) begin
          for (int j = 0; j < PO; j++)
            bia[j] <= edgemoe_pkg::sext(64'(dma_resp.rd_data[j * BBITS +: BBITS]), 2'(BL), 1'b1);
          if (dma_resp.rd_last) s <= S_WTS;
        end
        S_WTS: if (dma_resp.rd_valid) begin
          strip[kb[KTW-1:0]] <= dma_resp.rd_data[PO*PI*WBITS-1:0];
          kb <= kb + 32'd1;
          if (dma_resp.rd_last) begin kb <= '0; s <= S_ADD; end
        end
        S_STEP: if (!dma_req.rd_cmd_valid) begin   // this step's spikes, P_IN bytes per word
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= row_in;
          dma_req.rd_cmd_len <= kk;
          dma_req.rd_cmd_wlg <= 4'(edgemoe_pkg::P_IN_LG);
          kb <= '0;
          s <= (tcur == 32'd0) ? S_BIAS : S_ADD;  // step 0: bias and strip data come first
        end
        S_ADD: if (dma_resp.rd_valid) begin
          for (int j = 0; j < PO; j++) acc[j] <= acc[j] + add_word[j];
          kb <= kb + 32'd1;
          if (dma_resp.rd_last) s <= S_UPD;
        end
        S_UPD: begin
          for (int j = 0; j < PO; j++) begin
            u[j] <= u_next[j];
            acc[j] <= '0;
          end
          fire <= fire_next;
          overflows <= overflows + 64'($countones(ovf_cur & lane_ok)) + 64'($countones(ovf_u & lane_ok));
          if (!readout) begin
            dma_req.wr_cmd_valid <= 1'b1;
            dma_req.wr_cmd_addr <= row_out;
            dma_req.wr_cmd_len <= nvalid;
            dma_req.wr_cmd_wlg <= 4'(edgemoe_pkg::P_OUT_LG);
            s <= S_WR;
          end else s <= S_NEXT;
        end
        S_WR: if (dma_resp.wr_ready) s <= S_NEXT;   // the block's spike bytes, one word
        S_NEXT: begin
          if (tcur + 32'd1 < tt) begin
            tcur <= tcur + 32'd1;
            row_in <= row_in + 64'(kk);
            row_out <= row_out + 64'(nn);
            s <= current ? S_UPD : S_STEP;
          end else if (readout) begin
            s <= S_RDOUT;
          end else if (n0 + 32'(PO) < nn) begin
            n0 <= n0 + 32'(PO);
            s <= S_BLOCK;
          end else s <= S_END;
        end
        S_RDOUT: if (!dma_req.wr_cmd_valid) begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= pdst + (64'(n0) << AL);
          dma_req.wr_cmd_len <= nvalid << AL;
          dma_req.wr_cmd_wlg <= 4'(edgemoe_pkg::P_OUT_LG + AL);
          s <= S_WRU;
        end
        S_WRU: if (dma_resp.wr_ready) begin   // the block's membranes, one word
          if (n0 + 32'(PO) < nn) begin
            n0 <= n0 + 32'(PO);
            s <= S_BLOCK;
          end else s <= S_END;
        end
        S_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          s <= S_IDLE;
        end
        default: s <= S_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{dma_resp.rd_data, lk, leak[31:LF+1], thr[63:32]};
endmodule
