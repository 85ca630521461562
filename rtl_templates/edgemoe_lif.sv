// LIF engine: spiking layers (edgemoe/golden/snn_ops.py), add-only.
//
// Per block of P_OUT neurons: the bias word and the weight strip (ceil(K/P_IN) tiles) are
// read once and kept for all T steps; per step the spike bytes stream in P_IN per word and
// each lane adds the weights its spikes select (a mux and an adder tree, no multiplier),
// then every lane quantizes its current, updates its membrane, compares (strictly greater)
// and subtracts the threshold.  Spikes leave as one byte per neuron; the readout writes the
// membrane after the last step.  The membrane registers and the leak multiplier exist only
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
  // the DMA port bundle, by its members' names
  logic rd_cmd_valid, rd_cmd_ready, rd_valid, rd_ready, rd_last;
  logic wr_cmd_valid, wr_cmd_ready, wr_valid, wr_ready;
  logic [63:0] rd_cmd_addr, wr_cmd_addr;
  logic [31:0] rd_cmd_len, wr_cmd_len;
  logic [3:0] rd_cmd_wlg, wr_cmd_wlg;
  logic [edgemoe_pkg::WORD_MAX*8-1:0] rd_data, wr_data;
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

  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int WL = edgemoe_pkg::LINEAR_WEIGHT_LG;
  localparam int WBITS = 8 << WL;
  localparam int BL = edgemoe_pkg::BIAS_LG;
  localparam int BBITS = 8 << BL;
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
  logic [31:0] nn, kk, tt, tcur, n0, nvalid, widx, kb;
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
      assign sel[i + 1] = sel[i] + (rd_data[8 * i] ? w : 64'sd0);  // binary operand: add
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

  assign rd_ready = (s == S_BIAS) || (s == S_WTS) || (s == S_CUR) || (s == S_ADD);
  assign wr_valid = (s == S_WR) || (s == S_WRU);
  always_comb begin
    wr_data = '0;
    if (s == S_WR) wr_data[0] = fire[widx[$clog2(PO > 1 ? PO : 2)-1:0]];
    else wr_data[(8 << AL)-1:0] = (8 << AL)'(u[widx[$clog2(PO > 1 ? PO : 2)-1:0]]);
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s <= S_IDLE;
      done <= 1'b0;
      rd_cmd_valid <= 1'b0;
      wr_cmd_valid <= 1'b0;
      rd_cmd_addr <= '0; rd_cmd_len <= '0; rd_cmd_wlg <= '0;
      wr_cmd_addr <= '0; wr_cmd_len <= '0; wr_cmd_wlg <= '0;
      overflows <= '0;
      {nn, kk, tt, tcur, n0, nvalid, widx, kb} <= '0;
      {thr, lk, psrc, pdst, pb, row_in, row_out, wnext} <= '0;
      current <= 1'b0; readout <= 1'b0;
      fire <= '0;
    end else begin
      done <= 1'b0;
      if (rd_cmd_valid && rd_cmd_ready) rd_cmd_valid <= 1'b0;
      if (wr_cmd_valid && wr_cmd_ready) wr_cmd_valid <= 1'b0;
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
          widx <= '0;
          row_in <= psrc;
          row_out <= pdst + 64'(n0);
          kb <= '0;
          for (int j = 0; j < PO; j++) acc[j] <= '0;
          rd_cmd_valid <= 1'b1;
          if (current) begin
            rd_cmd_addr <= psrc + (64'(n0) << AL);
            rd_cmd_len <= ((nn - n0 > 32'(PO)) ? 32'(PO) : nn - n0) << AL;
            rd_cmd_wlg <= 4'(AL);
            s <= S_CUR;
          end else begin
            rd_cmd_addr <= pb + (64'(n0) << BL);
            rd_cmd_len <= 32'(PO) << BL;
            rd_cmd_wlg <= 4'(BL);
            s <= S_BIAS;
          end
        end
        S_CUR: if (rd_valid) begin
          cur[widx[$clog2(PO > 1 ? PO : 2)-1:0]] <= edgemoe_pkg::sext(64'(rd_data), 2'(AL), 1'b1);
          widx <= widx + 32'd1;
          if (rd_last) begin widx <= '0; s <= S_UPD; end
        end
        S_BIAS: if (rd_valid) begin
          bia[widx[$clog2(PO > 1 ? PO : 2)-1:0]] <= edgemoe_pkg::sext(64'(rd_data[BBITS-1:0]), 2'(BL), 1'b1);
          widx <= widx + 32'd1;
          if (rd_last) begin widx <= '0; s <= S_WCMD; end
        end
        S_WCMD: if (!rd_cmd_valid) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= wnext;
          rd_cmd_len <= ktiles << TILE_LG;
          wnext <= wnext + (64'(ktiles) << TILE_LG);
          rd_cmd_wlg <= 4'(TILE_LG);
          s <= S_WTS;
        end
        S_WTS: if (rd_valid) begin
          strip[kb[KTW-1:0]] <= rd_data[PO*PI*WBITS-1:0];
          kb <= kb + 32'd1;
          if (rd_last) s <= S_STEP;
        end
        S_STEP: if (!rd_cmd_valid) begin   // this step's spikes, P_IN bytes per word
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= row_in;
          rd_cmd_len <= kk;
          rd_cmd_wlg <= 4'(edgemoe_pkg::P_IN_LG);
          kb <= '0;
          s <= S_ADD;
        end
        S_ADD: if (rd_valid) begin
          for (int j = 0; j < PO; j++) acc[j] <= acc[j] + add_word[j];
          kb <= kb + 32'd1;
          if (rd_last) s <= S_UPD;
        end
        S_UPD: begin
          for (int j = 0; j < PO; j++) begin
            u[j] <= u_next[j];
            acc[j] <= '0;
          end
          fire <= fire_next;
          overflows <= overflows + 64'($countones(ovf_cur & lane_ok)) + 64'($countones(ovf_u & lane_ok));
          widx <= '0;
          if (!readout) begin
            wr_cmd_valid <= 1'b1;
            wr_cmd_addr <= row_out;
            wr_cmd_len <= nvalid;
            wr_cmd_wlg <= 4'd0;
            s <= S_WR;
          end else s <= S_NEXT;
        end
        S_WR: if (wr_ready) begin
          widx <= widx + 32'd1;
          if (widx + 32'd1 == nvalid) s <= S_NEXT;
        end
        S_NEXT: begin
          widx <= '0;
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
        S_RDOUT: if (!wr_cmd_valid) begin
          wr_cmd_valid <= 1'b1;
          wr_cmd_addr <= pdst + (64'(n0) << AL);
          wr_cmd_len <= nvalid << AL;
          wr_cmd_wlg <= 4'(AL);
          s <= S_WRU;
        end
        S_WRU: if (wr_ready) begin
          widx <= widx + 32'd1;
          if (widx + 32'd1 == nvalid) begin
            if (n0 + 32'(PO) < nn) begin
              n0 <= n0 + 32'(PO);
              s <= S_BLOCK;
            end else s <= S_END;
          end
        end
        S_END: if (!wr_cmd_valid) begin
          done <= 1'b1;
          s <= S_IDLE;
        end
        default: s <= S_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{rd_data, lk, leak[31:LF+1], thr[63:32]};
endmodule
