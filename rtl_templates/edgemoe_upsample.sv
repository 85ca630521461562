// UPSAMPLE: bilinear x2 (align_corners=False) of an HWC tensor, VEC lanes.
//
// Output pixel (oy, ox) = q((9 a + 3 b + 3 c + d) / 16) of its four input taps
// a = (ny, nx), b = (fy, nx), c = (ny, fx), d = (fy, fx) with n = o / 2 and f the
// neighbour on the side of o (clamped at the edges), as golden.vector_ops.upsample2x.
// The sum is 3 V(nx) + V(fx) with V(x) = 3 P(ny, x) + P(fy, x) the exact vertical blend,
// so each input column is read once per input row: for input pixel (y, x) the generator
// reads column x of rows y - 1, y and y + 1 (clamped); the consumer turns them into the
// column's two blends (up: rows y, y - 1 for output row 2y; down: rows y, y + 1 for
// 2y + 1), keeps them for columns x - 1 and x (slot = column parity) and writes the output
// columns between those two, 2x - 1 and 2x (from 0 at x = 0, to 2x + 1 after the last
// column), of rows 2y and 2y + 1: 3 pixel reads per 4 output pixels.
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
  localparam int VB = ABITS + 2;                                    // |3 p + p'| < 2^(ABITS+1)
  localparam int CW = (edgemoe_pkg::MAX_IN_FEATURES + V - 1) / V;   // words per pixel
  localparam int CAW = $clog2(CW > 1 ? CW : 2);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  logic [31:0] jh, jw, jc;
  logic [63:0] jdst, row_bytes;
  // block RAMs, each read one cycle ahead at the address its user needs next (_d):
  logic [V*VB-1:0] tbuf[CW];             // row y - 1, then 3 x row y, of the column loading
  logic [V*VB-1:0] vmem0[2 << CAW], vmem1[2 << CAW];  // even / odd columns: {down?, word}
  logic [V*VB-1:0] tq;
  logic [V*VB-1:0] m0q, m1q;

  // ------------------------------------------------------------------ column reader
  typedef enum logic [1:0] {G_IDLE, G_RUN, G_DONE} gen_t;
  gen_t gs;
  logic [31:0] gy, gx;
  logic [1:0] gtap;                      // 0: row y - 1, 1: row y, 2: row y + 1 (clamped)
  logic [63:0] gpix;                     // address of input pixel (gy, gx)
  logic [63:0] gaddr;
  always_comb begin
    gaddr = gpix;
    if (gtap == 2'd0 && gy != 32'd0) gaddr = gpix - row_bytes;
    if (gtap == 2'd2 && gy + 32'd1 < jh) gaddr = gpix + row_bytes;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      gy <= '0; gx <= '0; gtap <= '0; gpix <= '0; row_bytes <= '0;
      jh <= '0; jw <= '0; jc <= '0; jdst <= '0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          jh <= h; jw <= w; jc <= c; jdst <= dst;
          row_bytes <= 64'(w) * 64'(c) << AL;
          gy <= '0; gx <= '0; gtap <= '0; gpix <= src;
          gs <= G_RUN;
        end
        G_RUN: if (!dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= gaddr;
          dma_req.rd_cmd_len <= jc << AL;
          dma_req.rd_cmd_wlg <= 4'(VL + AL);
          gtap <= (gtap == 2'd2) ? 2'd0 : gtap + 2'd1;
          if (gtap == 2'd2) begin
            gpix <= gpix + 64'(jc << AL);  // row-major: the next pixel, across rows too
            if (gx + 32'd1 == jw) begin
              gx <= '0;
              gy <= gy + 32'd1;
              if (gy + 32'd1 == jh) gs <= G_DONE;
            end else gx <= gx + 32'd1;
          end
        end
        G_DONE: if (done) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ consumer
  typedef enum logic [2:0] {C_IDLE, C_LOAD, C_CMD, C_EMIT, C_END} con_t;
  con_t cs;
  logic [1:0] ctap;
  logic [31:0] cy, cx, cw, cw_d, nwords;
  logic oi, oi_d;                        // output row 2y + oi (the down blends)
  logic [31:0] oc, olo, ohi;             // output column, first and last of the step
  logic [31:0] onear;                    // its near input column
  logic nslot, fslot;
  logic load_fire, emit_fire, word_last, t_we;
  logic [V*VB-1:0] blend_word;           // the loading column's up or down blend
  logic [V*VB-1:0] held_word;            // what tbuf keeps of the arriving row
  logic [V*ABITS-1:0] out_word;
  logic [V-1:0] lane_ovf;                // real channels of the beat that overflowed
  assign olo = (cx == 32'd0) ? 32'd0 : (cx << 1) - 32'd1;
  assign ohi = (cx + 32'd1 == jw) ? (cx << 1) + 32'd1 : cx << 1;
  assign onear = oc >> 1;
  assign nslot = onear[0];               // slot = column parity; the far column is the
  assign fslot = (oc[0] ? onear + 32'd1 == jw : onear == 32'd0) ? nslot : !nslot;  // other

  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [VB-1:0] p, addend, vn, vf;
    logic signed [VB+1:0] sum;          // 3 vn + vf: 16x an act value at most
    logic [64:0] q;
    assign p = VB'(signed'(dma_resp.rd_data[e*ABITS+:ABITS]));
    // held: row y - 1 (as it is), then row y (times 3); up = 3 (row y) + (row y - 1) as
    // row y arrives, down = (3 row y) + (row y + 1) as row y + 1 does
    assign addend = (ctap == 2'd1) ? (p <<< 1) + p : p;
    assign held_word[e*VB+:VB] = addend;
    assign blend_word[e*VB+:VB] = addend + signed'(tq[e*VB+:VB]);
    assign vn = signed'(nslot ? m1q[e*VB+:VB] : m0q[e*VB+:VB]);
    assign vf = signed'(fslot ? m1q[e*VB+:VB] : m0q[e*VB+:VB]);
    assign sum = ((VB+2)'(vn) <<< 1) + (VB+2)'(vn) + (VB+2)'(vf);
    assign q = edgemoe_pkg::q_act_c(64'(sum), 4);
    assign out_word[e*ABITS+:ABITS] = ABITS'(q[63:0]);
    assign lane_ovf[e] = q[64] && 64'(cw) * 64'(V) + 64'(e) < 64'(jc);
  end
  assign dma_req.rd_ready = cs == C_LOAD;
  assign dma_req.wr_valid = cs == C_EMIT;
  assign dma_req.wr_data = WB'(out_word);
  assign nwords = (jc + 32'(V - 1)) >> VL;
  assign load_fire = cs == C_LOAD && dma_resp.rd_valid;
  assign emit_fire = cs == C_EMIT && dma_resp.wr_ready;
  assign word_last = cw + 32'd1 == nwords;
  assign t_we = load_fire && ctap != 2'd2;
  always_comb begin                      // the word counter and output row of the next cycle
    cw_d = cw;
    oi_d = oi;
    if (cs == C_IDLE) cw_d = '0;
    if (load_fire) cw_d = dma_resp.rd_last ? 32'd0 : cw + 32'd1;
    if (load_fire && dma_resp.rd_last && ctap == 2'd2) oi_d = 1'b0;
    if (emit_fire) cw_d = word_last ? 32'd0 : cw + 32'd1;
    if (emit_fire && word_last && oc == ohi) oi_d = 1'b1;
  end
  always_ff @(posedge clk) begin
    if (t_we) tbuf[CAW'(cw)] <= held_word;
    if (load_fire && ctap != 2'd0 && !cx[0]) vmem0[{ctap == 2'd2, CAW'(cw)}] <= blend_word;
    if (load_fire && ctap != 2'd0 && cx[0]) vmem1[{ctap == 2'd2, CAW'(cw)}] <= blend_word;
    // one-word pixels read the word written this cycle: forward it
    tq <= (t_we && cw_d == cw) ? held_word : tbuf[CAW'(cw_d)];
    m0q <= vmem0[{oi_d, CAW'(cw_d)}];    // written only while loading, read while emitting
    m1q <= vmem1[{oi_d, CAW'(cw_d)}];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      ctap <= '0; cw <= '0; cy <= '0; cx <= '0; oi <= 1'b0; oc <= '0; overflows <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      cw <= cw_d;
      oi <= oi_d;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (cs)
        C_IDLE: if (start) begin
          ctap <= '0; cy <= '0; cx <= '0;
          cs <= C_LOAD;
        end
        C_LOAD: if (load_fire && dma_resp.rd_last) begin
          ctap <= (ctap == 2'd2) ? 2'd0 : ctap + 2'd1;
          if (ctap == 2'd2) begin
            oc <= olo;
            cs <= C_CMD;
          end
        end
        C_CMD: if (!dma_req.wr_cmd_valid) begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= jdst + ((64'({cy, oi}) * 64'(jw << 1) + 64'(oc)) * 64'(jc) << AL);
          dma_req.wr_cmd_len <= jc << AL;
          dma_req.wr_cmd_wlg <= 4'(VL + AL);
          cs <= C_EMIT;
        end
        C_EMIT: if (emit_fire) begin
          overflows <= overflows + 64'($countones(lane_ovf));  // ctrl_prof: per instruction
          if (word_last) begin
            cs <= C_CMD;
            if (oc != ohi) oc <= oc + 32'd1;
            else if (!oi) oc <= olo;       // and oi_d: row 2y + 1
            else begin                     // the step's outputs are out: next column
              cs <= C_LOAD;
              if (cx + 32'd1 != jw) cx <= cx + 32'd1;
              else begin
                cx <= '0;
                cy <= cy + 32'd1;
                if (cy + 32'd1 == jh) cs <= C_END;
              end
            end
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
