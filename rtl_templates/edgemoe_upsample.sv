// UPSAMPLE: bilinear x2 (align_corners=False) of an HWC tensor, VEC lanes.
//
// Output pixel (oy, ox) = q((9 a + 3 b + 3 c + d) / 16) of its four input taps
// a = (ny, nx), b = (ny, fx), c = (fy, nx), d = (fy, fx) with n = o / 2 and f the
// neighbour on the side of o (clamped at the edges), as golden.vector_ops.upsample2x.
// The generator reads the four taps of each pixel ahead; a, b, c go to buffers, d streams
// and the sum goes to the writer.
module edgemoe_upsample (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] h, w, c,
    input  logic [63:0] src, dst,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows      // outputs that overflowed act (running count)
);
  localparam int V = edgemoe_pkg::VEC_LANES;
  localparam int VL = edgemoe_pkg::VEC_LANES_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int CW = (edgemoe_pkg::MAX_IN_FEATURES + V - 1) / V;   // words per pixel
  localparam int CAW = $clog2(CW > 1 ? CW : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  logic [31:0] jh, jw, jc;
  logic [63:0] jsrc, jdst;
  logic [V*ABITS-1:0] tap0[CW], tap1[CW], tap2[CW];   // taps a, b, c of the pixel

  // ------------------------------------------------------------------ tap generator
  typedef enum logic [1:0] {G_IDLE, G_RUN, G_DONE} gen_t;
  gen_t gs;
  logic [31:0] goy, gox;
  logic [1:0] gtap;
  logic [31:0] ny, nx, fy, fx, ty, tx;
  always_comb begin
    ny = goy >> 1;
    nx = gox >> 1;
    fy = !goy[0] ? ((ny == 32'd0) ? 32'd0 : ny - 32'd1) : ((ny + 32'd1 >= jh) ? jh - 32'd1 : ny + 32'd1);
    fx = !gox[0] ? ((nx == 32'd0) ? 32'd0 : nx - 32'd1) : ((nx + 32'd1 >= jw) ? jw - 32'd1 : nx + 32'd1);
    ty = gtap[1] ? fy : ny;
    tx = gtap[0] ? fx : nx;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      goy <= '0; gox <= '0; gtap <= '0;
      jh <= '0; jw <= '0; jc <= '0; jsrc <= '0; jdst <= '0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          jh <= h; jw <= w; jc <= c; jsrc <= src; jdst <= dst;
          goy <= '0; gox <= '0; gtap <= '0;
          gs <= G_RUN;
        end
        G_RUN: if (!dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jsrc + ((64'(ty) * 64'(jw) + 64'(tx)) * 64'(jc) << AL);
          dma_req.rd_cmd_len <= jc << AL;
          dma_req.rd_cmd_wlg <= 4'(VL + AL);
          gtap <= gtap + 2'd1;
          if (gtap == 2'd3) begin
            if (gox + 32'd1 == (jw << 1)) begin
              gox <= '0;
              goy <= goy + 32'd1;
              if (goy + 32'd1 == (jh << 1)) gs <= G_DONE;
            end else gox <= gox + 32'd1;
          end
        end
        G_DONE: if (done) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ consumer
  typedef enum logic [2:0] {C_IDLE, C_TAP, C_CMD, C_SUM, C_END} con_t;
  con_t cs;
  logic [1:0] ctap;
  logic [31:0] cw, pix, npix;
  logic [V*ABITS-1:0] out_word;
  logic [V-1:0] lane_ovf;                 // real channels of the beat that overflowed
  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [63:0] a, b, cc, dd;
    logic [64:0] q;
    assign a = edgemoe_pkg::sext(64'(tap0[CAW'(cw)][e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign b = edgemoe_pkg::sext(64'(tap1[CAW'(cw)][e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign cc = edgemoe_pkg::sext(64'(tap2[CAW'(cw)][e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign dd = edgemoe_pkg::sext(64'(dma_resp.rd_data[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign q = edgemoe_pkg::q_act_c(9 * a + 3 * b + 3 * cc + dd, 4);
    assign out_word[e*ABITS+:ABITS] = ABITS'(q[63:0]);
    assign lane_ovf[e] = q[64] && 64'(cw) * 64'(V) + 64'(e) < 64'(jc);
  end
  assign dma_req.rd_ready = cs == C_TAP || (cs == C_SUM && dma_resp.wr_ready);
  assign dma_req.wr_valid = cs == C_SUM && dma_resp.rd_valid;
  assign dma_req.wr_data = WB'(out_word);
  assign npix = (jh << 1) * (jw << 1);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      ctap <= '0; cw <= '0; pix <= '0; overflows <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (cs)
        C_IDLE: if (start) begin
          pix <= '0;
          ctap <= '0;
          cw <= '0;
          cs <= C_TAP;
        end
        C_TAP: if (dma_resp.rd_valid) begin
          if (ctap == 2'd0) tap0[CAW'(cw)] <= dma_resp.rd_data[V*ABITS-1:0];
          if (ctap == 2'd1) tap1[CAW'(cw)] <= dma_resp.rd_data[V*ABITS-1:0];
          if (ctap == 2'd2) tap2[CAW'(cw)] <= dma_resp.rd_data[V*ABITS-1:0];
          cw <= cw + 32'd1;
          if (dma_resp.rd_last) begin
            cw <= '0;
            ctap <= ctap + 2'd1;
            if (ctap == 2'd2) cs <= C_CMD;
          end
        end
        C_CMD: if (!dma_req.wr_cmd_valid) begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= jdst + (64'(pix) * 64'(jc) << AL);
          dma_req.wr_cmd_len <= jc << AL;
          dma_req.wr_cmd_wlg <= 4'(VL + AL);
          cs <= C_SUM;
        end
        C_SUM: if (dma_resp.rd_valid && dma_resp.wr_ready) begin
          cw <= cw + 32'd1;
          overflows <= overflows + 64'($countones(lane_ovf));  // ctrl_prof: per instruction
          if (dma_resp.rd_last) begin
            cw <= '0;
            ctap <= '0;
            pix <= pix + 32'd1;
            cs <= (pix + 32'd1 == npix) ? C_END : C_TAP;
          end
        end
        C_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          cs <= C_IDLE;
        end
        default: cs <= C_IDLE;
      endcase
    end
  end
  logic unused;
  assign unused = ^dma_resp;
endmodule
