// Weight prefetch of the linear engine (ping/pong): the next job's first strip of tile-
// packed weights loads through a second read DMA into the bank the current job does not
// use.  The engine takes the bank (swap) only when its strip 0 is exactly these weights
// and no write hit the prefetched window meanwhile.  One-byte weights are W8A8 codes: they
// land as the strip load places them, as tile pairs (edgemoe_lin_place), so a W8A8 job can
// take the bank; a W16-path job with one-byte weights (a design whose weight format is 8
// bits wide) loads its strip 0 itself.
module edgemoe_lin_prefetch (
    input  logic        clk,
    input  logic        rst_n,
    // request from the dispatcher
    input  logic        pf_req,
    output logic        pf_ack,
    input  logic [63:0] pf_wts,
    input  logic [31:0] pf_n, pf_k,
    input  logic [1:0]  pf_wlg,
    input  logic        pf_dirty,          // a write hit the prefetch window
    output logic        pf_win,            // the window [pf_lo, pf_hi) is watched
    output logic [63:0] pf_lo, pf_hi,
    // the engine's current job and whether it has decided about its strip 0
    input  logic        job_idle,          // the engine waits for a job
    input  logic        start,
    input  logic        w0_decided,
    input  logic        w0_check,          // the engine is at its strip 0 decision
    input  logic [63:0] jwts,
    input  logic [1:0]  wlg,
    input  logic [31:0] jn, jk,
    output logic        pf_match,          // the prefetch holds this job's weights
    output logic        pf_busy,           // ... and they are still arriving
    output logic        pf_clean,          // ... all arrived and unchanged
    // buffer writes: word pf_at of the strip (W8A8 pairs: byte pf_half of every lane)
    output logic        pf_we,
    output logic [31:0] pf_at,
    output logic        pf_q8, pf_half,
    output logic [edgemoe_pkg::P_OUT*edgemoe_pkg::P_IN*edgemoe_pkg::WEIGHT_BITS-1:0] pf_word,
    // the prefetch read DMA
    output logic        pf_cmd_valid,
    input  logic        pf_cmd_ready,
    output logic [63:0] pf_cmd_addr,
    output logic [31:0] pf_cmd_len,
    output logic [3:0]  pf_cmd_wlg,
    input  logic        pf_rd_valid,
    output logic        pf_rd_ready,
    input  logic [edgemoe_pkg::WORD_MAX*8-1:0] pf_rd_data,
    input  logic        pf_rd_last
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  localparam int WT = edgemoe_pkg::WBUF_TILES;

  typedef enum logic [2:0] {P_IDLE, P_SIZE, P_CMD, P_DATA, P_DONE} pf_t;
  pf_t ps;
  logic [63:0] pf_addr_r, pf_len_r;
  logic [31:0] pf_n_r, pf_k_r, pf_srows;
  logic [1:0] pf_wlg_r;
  logic pf_dirty_r;
  logic [31:0] pf_tiles_in, pf_to_total, pf_wc;
  assign pf_tiles_in = (pf_k_r + 32'(PI - 1)) >> PI_LG;
  assign pf_to_total = (pf_n_r + 32'(PO - 1)) >> PO_LG;
  assign pf_match = pf_addr_r == jwts && pf_wlg_r == wlg && pf_n_r == jn && pf_k_r == jk;
  assign pf_busy = ps == P_SIZE || ps == P_CMD || ps == P_DATA;
  assign pf_clean = ps == P_DONE && !pf_dirty_r && !pf_dirty;
  // a new request is taken once the current job has decided about its strip 0
  assign pf_ack = pf_req && (ps == P_IDLE || ps == P_DONE) &&
                  (job_idle ? !start : w0_decided);
  assign pf_win = ps != P_IDLE;
  assign pf_lo = pf_addr_r;
  assign pf_hi = pf_addr_r + pf_len_r;
  assign pf_rd_ready = ps == P_DATA;
  assign pf_we = pf_rd_valid && ps == P_DATA;
  assign pf_q8 = pf_wlg_r == 2'd0;
  edgemoe_lin_place u_place (.clk, .rst_n, .q8(pf_q8), .tiles_in(pf_tiles_in), .start(ps == P_CMD),
                             .beat(pf_we), .count(pf_wc), .at(pf_at), .half(pf_half));
  for (genvar e = 0; e < PO * PI; e++) begin : g_pfunpack
    assign pf_word[e*WBITS+:WBITS] =
        WBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(pf_rd_data, e, pf_wlg_r), pf_wlg_r, 1'b1));
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ps <= P_IDLE;
      pf_addr_r <= '0; pf_len_r <= '0; pf_n_r <= '0; pf_k_r <= '0; pf_srows <= '0;
      pf_wc <= '0; pf_wlg_r <= '0; pf_dirty_r <= 1'b0;
      pf_cmd_valid <= 1'b0; pf_cmd_addr <= '0; pf_cmd_len <= '0; pf_cmd_wlg <= '0;
    end else begin
      if (pf_cmd_valid && pf_cmd_ready) pf_cmd_valid <= 1'b0;
      if (pf_dirty && pf_win) pf_dirty_r <= 1'b1;
      case (ps)
        P_IDLE, P_DONE: if (pf_ack) begin
          pf_addr_r <= pf_wts;
          pf_n_r <= pf_n;
          pf_k_r <= pf_k;
          pf_wlg_r <= pf_wlg;
          pf_len_r <= '0;
          pf_srows <= 32'd1;
          pf_dirty_r <= 1'b0;
          ps <= P_SIZE;
        end else if (ps == P_DONE && w0_check && pf_match) begin
          if (!pf_dirty_r && !pf_dirty) ps <= P_IDLE;  // taken by the job (bank swap)
        end
        P_SIZE: begin
          if (pf_srows < pf_to_total && (pf_srows + 32'd1) * pf_tiles_in <= 32'(WT))
            pf_srows <= pf_srows + 32'd1;
          else begin
            pf_len_r <= 64'(pf_srows) * 64'(pf_tiles_in) * (64'(PO * PI) << pf_wlg_r);
            ps <= P_CMD;
          end
        end
        P_CMD: begin
          pf_cmd_valid <= 1'b1;
          pf_cmd_addr <= pf_addr_r;
          pf_cmd_len <= 32'(pf_len_r);
          pf_cmd_wlg <= 4'(PO_LG + PI_LG) + {2'd0, pf_wlg_r};
          pf_wc <= '0;
          ps <= P_DATA;
        end
        P_DATA: if (pf_rd_valid) begin
          pf_wc <= pf_wc + 32'd1;
          if (pf_rd_last) ps <= P_DONE;
        end
        default: ps <= P_IDLE;
      endcase
    end
  end
endmodule
