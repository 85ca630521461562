// LayerNorm over rows of d elements (golden.vector_ops.layernorm_rows), VEC lanes.
//
// Three stages over a ring of LN_ROW_SLOTS row slots, each working on a different row:
// the loader reads row r into slot r mod LN_ROW_SLOTS while accumulating sum(x) and
// sum((x >> LN_SHIFT)^2) exactly; the statistics stage divides both by d (floor; two
// radix-4 dividers, 2 bits a cycle), forms var = max(E[x^2] - (mean >> s)^2, 0) + eps and
// rstd = rsqrt(var) (the shared numerics kernel); the output stage writes
// q(q(q((x - mean) * rstd) * gamma) + q(beta)).  Row reads are issued as soon as their
// slot is free, so with enough slots a row costs max(its read beats, statistics, its
// written words) and the read latency is paid once per instruction.
module edgemoe_ln (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [31:0] t, d,
    input  logic [63:0] src, dst, gamma, beta,
    input  logic [31:0] eps,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows          // values that wrapped or saturated (profile)
);
  localparam int V = edgemoe_pkg::VEC_LANES;
  localparam int VL = edgemoe_pkg::VEC_LANES_LG;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int NL = edgemoe_pkg::NORM_LG;
  localparam int NBITS = 8 << NL;
  localparam int RW = (edgemoe_pkg::MAX_IN_FEATURES + V - 1) / V;   // words per row
  localparam int SLOTS = edgemoe_pkg::LN_ROW_SLOTS;   // rows in the ring (a power of two)
  localparam int SLG = $clog2(SLOTS);
  localparam int RAW = $clog2(SLOTS * RW);
  localparam int GAW = $clog2(RW > 1 ? RW : 2);
  localparam int SH = edgemoe_pkg::LN_SHIFT;
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;

  // row, gamma and beta buffers in block RAM (registered reads): in LUT RAM they were
  // about 9k of the engine's 15k LUTs
  (* ram_style = "block" *) logic [V*ABITS-1:0] rbuf[SLOTS*RW];
  (* ram_style = "block" *) logic [V*NBITS-1:0] gbuf[RW];
  (* ram_style = "block" *) logic [V*NBITS-1:0] bbuf[RW];

  logic [31:0] jt, jd, words;
  logic [63:0] jsrc, jgamma, jbeta;      // jsrc: the next row to read (no multiplier)
  logic signed [63:0] jeps;
  assign words = (jd + 32'(V - 1)) >> VL;

  // ------------------------------------------------------------------ loader
  // The issuer asks for gamma, beta, then each row as soon as the row's slot is free (row
  // r uses slot r mod SLOTS, free once row r - SLOTS is written out), so up to SLOTS row
  // reads are in flight (the read DMA keeps 8 commands) and the read latency hides under
  // the rows before; the receiver takes the words in command order, never stalling.
  typedef enum logic [1:0] {I_IDLE, I_G, I_B, I_ROW} is_t;
  is_t is;
  logic [31:0] ir;                        // rows whose read was issued
  typedef enum logic [2:0] {L_IDLE, L_G_W, L_B_W, L_ROW_W, L_DONE} ld_t;
  ld_t ls;
  logic [31:0] lr, lw;                    // rows loaded, word of the row
  logic [31:0] pr;                        // rows written (output stage)
  logic [SLG-1:0] lslot;
  assign lslot = SLG'(lr);
  logic signed [63:0] s1[SLOTS], s2[SLOTS];   // sum, sum of squares per slot
  logic signed [63:0] acc1, acc2;
  logic signed [63:0] wsum1, wsum2;       // this word's contribution
  always_comb begin
    wsum1 = 64'sd0;
    wsum2 = 64'sd0;
    for (int e = 0; e < V; e++) begin
      wsum1 = wsum1 + 64'($signed(dma_resp.rd_data[e*ABITS+:ABITS]));
      // (x >> s)^2 of an ABITS-bit value: an ABITS x ABITS product
      wsum2 = wsum2 + 64'($signed(dma_resp.rd_data[e*ABITS+:ABITS]) >>> SH) *
                      64'($signed(dma_resp.rd_data[e*ABITS+:ABITS]) >>> SH);
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      is <= I_IDLE; ir <= '0;
      jt <= '0; jd <= '0; jsrc <= '0; jgamma <= '0; jbeta <= '0; jeps <= '0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0; dma_req.rd_cmd_wlg <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (is)
        I_IDLE: if (start) begin
          jt <= t; jd <= d; jsrc <= src; jgamma <= gamma; jbeta <= beta;
          jeps <= {{32{eps[31]}}, eps};
          ir <= '0;
          is <= I_G;
        end
        I_G: begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jgamma;
          dma_req.rd_cmd_len <= jd << NL;
          dma_req.rd_cmd_wlg <= 4'(VL + NL);
          is <= I_B;
        end
        I_B: if (!dma_req.rd_cmd_valid) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jbeta;
          dma_req.rd_cmd_len <= jd << NL;
          dma_req.rd_cmd_wlg <= 4'(VL + NL);
          is <= I_ROW;
        end
        I_ROW: if (ir == jt) is <= I_IDLE;
          else if (!dma_req.rd_cmd_valid && ir - pr < 32'(SLOTS)) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= jsrc;
          jsrc <= jsrc + (64'(jd) << AL);
          dma_req.rd_cmd_len <= jd << AL;
          dma_req.rd_cmd_wlg <= 4'(VL + AL);
          ir <= ir + 32'd1;
        end
        default: is <= I_IDLE;
      endcase
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ls <= L_IDLE;
      lr <= '0; lw <= '0;
      acc1 <= '0; acc2 <= '0;
      for (int k = 0; k < SLOTS; k++) begin s1[k] <= '0; s2[k] <= '0; end
    end else begin
      case (ls)
        L_IDLE: if (start) begin
          lr <= '0; lw <= '0;
          ls <= L_G_W;
        end
        L_G_W: if (dma_resp.rd_valid) begin
          lw <= lw + 32'd1;
          if (dma_resp.rd_last) begin lw <= '0; ls <= L_B_W; end
        end
        L_B_W: if (dma_resp.rd_valid) begin
          lw <= lw + 32'd1;
          acc1 <= '0;
          acc2 <= '0;
          if (dma_resp.rd_last) begin lw <= '0; ls <= L_ROW_W; end
        end
        L_ROW_W: if (dma_resp.rd_valid) begin
          lw <= lw + 32'd1;
          acc1 <= acc1 + wsum1;
          acc2 <= acc2 + wsum2;
          if (dma_resp.rd_last) begin
            s1[lslot] <= acc1 + wsum1;
            s2[lslot] <= acc2 + wsum2;
            acc1 <= '0;
            acc2 <= '0;
            lw <= '0;
            lr <= lr + 32'd1;
            ls <= (lr + 32'd1 == jt) ? L_DONE : L_ROW_W;
          end
        end
        L_DONE: if (done) ls <= L_IDLE;
        default: ls <= L_IDLE;
      endcase
    end
  end
  assign dma_req.rd_ready = ls == L_G_W || ls == L_B_W || ls == L_ROW_W;
  // buffer writes in blocks of their own: one write enable for the whole word, so Yosys
  // maps each buffer to full-width block RAM
  always_ff @(posedge clk)
    if (rst_n && ls == L_G_W && dma_resp.rd_valid) gbuf[GAW'(lw)] <= dma_resp.rd_data[V*NBITS-1:0];
  always_ff @(posedge clk)
    if (rst_n && ls == L_B_W && dma_resp.rd_valid) bbuf[GAW'(lw)] <= dma_resp.rd_data[V*NBITS-1:0];
  always_ff @(posedge clk)
    if (rst_n && ls == L_ROW_W && dma_resp.rd_valid)
      rbuf[RAW'(32'(lslot) * 32'(RW) + lw)] <= dma_resp.rd_data[V*ABITS-1:0];

  // ------------------------------------------------------------------ statistics
  typedef enum logic [1:0] {S_IDLE, S_DIV, S_VAR, S_RSTD} st_t;
  st_t ss;
  logic [31:0] sr;                         // rows whose statistics are done
  logic [SLG-1:0] sslot;
  assign sslot = SLG'(sr);
  logic [4:0] dstep;
  logic [63:0] n1, n2, q1, q2;             // |numerators| (shifted out), quotients
  logic [31:0] r1, r2;                     // remainders (< d)
  logic [33:0] jd2, jd3;                   // 2d, 3d
  logic neg1, neg2;
  logic signed [63:0] smean, sex2;
  logic signed [63:0] mean_s[SLOTS], rstd_s[SLOTS];
  // (mean >> s)^2: a mean of d >= 1 act values is an act value, so the square needs an
  // ABITS x ABITS product (exact), not the 64 x 64 one of the int64 spec (same result)
  localparam int MB = ABITS < 64 ? ABITS : 64;
  logic signed [MB-1:0] mh;
  logic signed [63:0] msq;
  assign mh = MB'(smean >>> SH);
  assign msq = 64'(mh) * 64'(mh);
  // one radix-4 step: x = 4r + next two numerator bits; the digit is how many d fit (0..3)
  function automatic logic [33:0] div4_rem(input logic [31:0] r, input logic [1:0] nb,
                                           input logic [31:0] dv, input logic [33:0] dv2,
                                           input logic [33:0] dv3, output logic [1:0] dig);
    logic [33:0] x;
    x = {r, nb};
    if (x >= dv3) begin dig = 2'd3; div4_rem = x - dv3; end
    else if (x >= dv2) begin dig = 2'd2; div4_rem = x - dv2; end
    else if (x >= {2'd0, dv}) begin dig = 2'd1; div4_rem = x - {2'd0, dv}; end
    else begin dig = 2'd0; div4_rem = x; end
  endfunction
  logic [33:0] nr1, nr2;
  logic [1:0] dg1, dg2;
  always_comb begin
    nr1 = div4_rem(r1, n1[63:62], jd, jd2, jd3, dg1);
    nr2 = div4_rem(r2, n2[63:62], jd, jd2, jd3, dg2);
  end

  // ------------------------------------------------------------------ output
  typedef enum logic [1:0] {P_IDLE, P_CMD, P_OUT, P_END} pr_t;
  pr_t ps;
  logic [31:0] pw;
  logic [SLG-1:0] pslot;
  assign pslot = SLG'(pr);
  logic signed [63:0] mean, rstd;          // of the row being written
  logic [63:0] prow;                       // its address

  // output word
  logic [V*ABITS-1:0] x_word;
  logic [V*NBITS-1:0] g_word, b_word;
  logic [V*ABITS-1:0] y_word;
  logic [1:0] y_ovf[V];                    // per lane: quantization points that overflowed
  logic [63:0] ovf_word;
  // The buffers are read one cycle ahead (registered reads map them to block RAM instead
  // of LUT RAM): rd_pw is the word the output stage shows on the next cycle.
  logic [31:0] rd_pw;
  assign rd_pw = (ps == P_CMD) ? 32'd0 : (ps == P_OUT && dma_resp.wr_ready) ? pw + 32'd1 : pw;
  always_ff @(posedge clk) begin
    x_word <= rbuf[RAW'(32'(pslot) * 32'(RW) + rd_pw)];
    g_word <= gbuf[GAW'(rd_pw)];
    b_word <= bbuf[GAW'(rd_pw)];
  end
  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [63:0] x, g, b, nrm, y1, ba;
    assign x = edgemoe_pkg::sext(64'(x_word[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign g = edgemoe_pkg::sext(64'(g_word[e*NBITS+:NBITS]), 2'(NL), 1'b1);
    assign b = edgemoe_pkg::sext(64'(b_word[e*NBITS+:NBITS]), 2'(NL), 1'b1);
    // (x - mean) fits 34 bits, rstd 32 unsigned bits: the 64-bit wrap-around product
    logic signed [33:0] xm;
    logic signed [67:0] xr;
    assign xm = 34'(x - mean);
    assign xr = 68'(xm) * $signed({36'd0, rstd[31:0]});
    assign nrm = edgemoe_pkg::q_act(xr[63:0], edgemoe_pkg::LN_RSTD_FRAC);
    assign y1 = edgemoe_pkg::q_act(64'($signed(nrm[ABITS-1:0])) * 64'($signed(g[NBITS-1:0])),
                                   edgemoe_pkg::NORM_F);
    logic unused_lane;
    assign unused_lane = ^{g[63:NBITS], nrm[63:ABITS], xr[67:64]};
    assign ba = edgemoe_pkg::q_act(b, edgemoe_pkg::NORM_F - edgemoe_pkg::ACT_F);
    assign y_word[e*ABITS+:ABITS] = ABITS'(edgemoe_pkg::q_act(y1 + ba, 0));
    // overflows at the normalized, scaled and output quantization points of a real lane
    logic o_n, o_g, o_y;
    assign o_n = edgemoe_pkg::act_overflows(
        edgemoe_pkg::act_round(xr[63:0], edgemoe_pkg::LN_RSTD_FRAC));
    assign o_g = edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(
        64'($signed(nrm[ABITS-1:0])) * 64'($signed(g[NBITS-1:0])), edgemoe_pkg::NORM_F));
    assign o_y = edgemoe_pkg::act_overflows(y1 + ba);
    assign y_ovf[e] = (pw * 32'(V) + 32'(e) < jd) ? 2'(o_n) + 2'(o_g) + 2'(o_y) : 2'd0;
  end
  always_comb begin
    ovf_word = '0;
    for (int e = 0; e < V; e++) ovf_word = ovf_word + 64'(y_ovf[e]);
  end
  assign dma_req.wr_valid = ps == P_OUT;
  assign dma_req.wr_data = WB'(y_word);

  // count of values that overflowed since reset (profile field `overflows`)
  always_ff @(posedge clk) begin
    if (!rst_n) overflows <= '0;  // running: edgemoe_ctrl_prof reports the increase
    else if (ps == P_OUT && dma_resp.wr_ready) overflows <= overflows + ovf_word;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ss <= S_IDLE; ps <= P_IDLE;
      done <= 1'b0;
      sr <= '0; dstep <= '0;
      n1 <= '0; n2 <= '0; q1 <= '0; q2 <= '0; r1 <= '0; r2 <= '0; neg1 <= 1'b0; neg2 <= 1'b0;
      jd2 <= '0; jd3 <= '0; smean <= '0; sex2 <= '0;
      for (int k = 0; k < SLOTS; k++) begin mean_s[k] <= '0; rstd_s[k] <= '0; end
      pr <= '0; pw <= '0; mean <= '0; rstd <= '0; prow <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
    end else begin
      done <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      if (ls == L_IDLE && start) begin
        sr <= '0; pr <= '0; prow <= dst;
        jd2 <= {1'b0, d, 1'b0};
        jd3 <= {2'd0, d} + {1'b0, d, 1'b0};
      end
      // statistics of the next loaded row
      case (ss)
        S_IDLE: if (ls != L_IDLE && sr != lr) begin  // a loaded row waits
          // signed floor division by d: divide magnitudes, fix the sign afterwards
          neg1 <= s1[sslot] < 0;
          neg2 <= s2[sslot] < 0;
          n1 <= s1[sslot] < 0 ? 64'(-s1[sslot]) : 64'(s1[sslot]);
          n2 <= s2[sslot] < 0 ? 64'(-s2[sslot]) : 64'(s2[sslot]);
          q1 <= '0; q2 <= '0; r1 <= '0; r2 <= '0;
          dstep <= '0;
          ss <= S_DIV;
        end
        S_DIV: begin
          r1 <= nr1[31:0]; q1 <= {q1[61:0], dg1};
          r2 <= nr2[31:0]; q2 <= {q2[61:0], dg2};
          n1 <= {n1[61:0], 2'b0};
          n2 <= {n2[61:0], 2'b0};
          dstep <= dstep + 5'd1;
          if (dstep == 5'd31) ss <= S_VAR;
        end
        S_VAR: begin
          smean <= neg1 ? -$signed(q1) - ((r1 != 32'd0) ? 64'sd1 : 64'sd0) : $signed(q1);
          sex2 <= neg2 ? -$signed(q2) - ((r2 != 32'd0) ? 64'sd1 : 64'sd0) : $signed(q2);
          ss <= S_RSTD;
        end
        S_RSTD: begin
          mean_s[sslot] <= smean;
          rstd_s[sslot] <= edgemoe_pkg::rsqrt_ln(((sex2 - msq) < 0 ? 64'sd0 : (sex2 - msq)) + jeps);
          sr <= sr + 32'd1;
          ss <= S_IDLE;
        end
        default: ss <= S_IDLE;
      endcase
      // output of the next row with statistics
      case (ps)
        P_IDLE: if (pr != sr && !dma_req.wr_cmd_valid) begin  // a row's statistics wait
          mean <= mean_s[pslot];
          rstd <= rstd_s[pslot];
          ps <= P_CMD;
        end
        P_CMD: begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= prow;
          prow <= prow + (64'(jd) << AL);
          dma_req.wr_cmd_len <= jd << AL;
          dma_req.wr_cmd_wlg <= 4'(VL + AL);
          pw <= '0;
          ps <= P_OUT;
        end
        P_OUT: if (dma_resp.wr_ready) begin
          pw <= pw + 32'd1;
          if (pw + 32'd1 == words) begin
            pr <= pr + 32'd1;                // frees the row's slot for the issuer
            ps <= (pr + 32'd1 == jt) ? P_END : P_IDLE;
          end
        end
        P_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          ps <= P_IDLE;
        end
        default: ps <= P_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{dma_resp, rstd[63:32], nr1[33:32], nr2[33:32]};  // remainders < d
endmodule
