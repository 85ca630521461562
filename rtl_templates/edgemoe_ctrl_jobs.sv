// Dispatch: the job of each engine and the weight prefetch request, registered from the
// decoded instruction's named fields on the cycle the dispatcher (edgemoe_ctrl) sets the
// job up (one load strobe per such state), and the running weight / queue pointers of
// the current MOE_EXPERTS expert.
module edgemoe_ctrl_jobs (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        ld_run,       // S_RUN: the instruction's own engine job
    input  logic        ld_lin_go,    // LINEAR after its index / count checks
    input  logic        ld_gate_rt,   // MOE_GATE: router after the logits
    input  logic        ld_moe_init,  // MOE_EXPERTS: dst = residual or zeros
    input  logic        ld_moe_fc1,   // MOE_EXPERTS: fc1 + GELU of expert ex
    input  logic        ld_moe_fc2,   // MOE_EXPERTS: fc2 scaled scatter-add of expert ex
    input  logic        ld_moe_skip,  // MOE_EXPERTS: expert ex has no tokens
    input  logic        ld_peek,      // prefetch the next instruction's weights
    input  logic        pf_moe_nz,    // MOE_EXPERTS: an expert with tokens follows ex ...
    input  logic [7:0]  pf_moe_dist,  // ... this many experts on (its fc1 is prefetched)
    input  logic [63:0] mem,
    input  logic [7:0]  op,
    input  logic [15:0] flags,
    input  logic [31:0] d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, a5, a6, a7, a8, imm,
    input  logic [31:0] c_oh, c_ow,
    input  logic [63:0] c_cikk, c_offw, c_i0, c_i1, c_i2, c_i3, c_slot, c_counts,
    input  logic [63:0] n_wts, n_n, n_k,  // the next instruction's weights
    input  logic [1:0]  n_wlg,
    input  logic [31:0] t_eff, cnt_ex,
    output edgemoe_pkg::lin_job_t      lin_job,
    output edgemoe_pkg::router_job_t   rt_job,
    output edgemoe_pkg::attn_job_t     at_job,
    output edgemoe_pkg::ln_job_t       ln_job,
    output edgemoe_pkg::eltwise_job_t  el_job,
    output edgemoe_pkg::upsample_job_t up_job,
    output logic [63:0] pf_wts,
    output logic [31:0] pf_n, pf_k,
    output logic [1:0]  pf_wlg
);
  logic [63:0] w1_off, b1_off, w2_off, b2_off, qi_off, qs_off;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      lin_job <= '0; rt_job <= '0; at_job <= '0; ln_job <= '0; el_job <= '0; up_job <= '0;
      pf_wts <= '0; pf_n <= '0; pf_k <= '0; pf_wlg <= '0;
      w1_off <= '0; b1_off <= '0; w2_off <= '0; b2_off <= '0; qi_off <= '0; qs_off <= '0;
    end else begin
      if (ld_peek) begin
        pf_wts <= mem + n_wts;
        pf_n <= 32'(n_n);
        pf_k <= 32'(n_k);
        pf_wlg <= n_wlg;
      end
      if (ld_run) begin
        // defaults of every linear job
        lin_job.flags <= '0;
        lin_job.base <= '0;
        lin_job.index <= '0;
        lin_job.scores <= '0;
        case (op)
          edgemoe_pkg::OP_CONV: begin
            lin_job.mode <= 2'd1;
            lin_job.t <= c_oh * c_ow;
            lin_job.n <= d3;
            lin_job.k <= 32'(c_cikk);
            lin_job.src <= mem + 64'(a0);
            lin_job.dst <= mem + 64'(a1);
            lin_job.wts <= mem + 64'(a2);
            lin_job.bias <= mem + 64'(a3);
            lin_job.base <= mem + 64'(a4);
            lin_job.flags <= flags;
            lin_job.in_h <= d0;
            lin_job.in_w <= d1;
            lin_job.ci <= d2;
            lin_job.ow <= c_ow;
            lin_job.kk <= d4[7:0];
            lin_job.ks <= d4[15:8];
            lin_job.kp <= d4[23:16];
          end
          edgemoe_pkg::OP_LAYERNORM: begin
            ln_job.t <= d0; ln_job.d <= d1;
            ln_job.src <= mem + 64'(a0); ln_job.dst <= mem + 64'(a1);
            ln_job.gamma <= mem + 64'(a2); ln_job.beta <= mem + 64'(a3);
            ln_job.eps <= imm;
          end
          edgemoe_pkg::OP_ATTENTION: begin
            at_job.t <= d0; at_job.nh <= d1; at_job.hd <= d2;
            at_job.qkv <= mem + 64'(a0); at_job.dst <= mem + 64'(a1);
            at_job.scale <= imm;
          end
          edgemoe_pkg::OP_MOE_GATE: begin
            lin_job.mode <= 2'd2;
            lin_job.t <= d0;
            lin_job.n <= d2;
            lin_job.k <= d1;
            lin_job.src <= mem + 64'(a0);
            lin_job.wts <= mem + c_offw;
          end
          edgemoe_pkg::OP_UPSAMPLE: begin
            up_job.h <= d0; up_job.w <= d1; up_job.c <= d2;
            up_job.src <= mem + 64'(a0); up_job.dst <= mem + 64'(a1);
          end
          edgemoe_pkg::OP_ADD: begin
            el_job.mode <= flags[edgemoe_pkg::FLAG_BIT_COPY] ? 2'd1 : 2'd0;
            el_job.n <= d0;
            el_job.a <= mem + 64'(a0); el_job.b <= mem + 64'(a1); el_job.dst <= mem + 64'(a2);
          end
          default: ;
        endcase
      end
      if (ld_lin_go) begin
        lin_job.mode <= 2'd0;
        lin_job.t <= t_eff;
        lin_job.n <= d1;
        lin_job.k <= d2;
        lin_job.src <= mem + 64'(a0);
        lin_job.dst <= mem + 64'(a1);
        lin_job.wts <= mem + 64'(a2);
        lin_job.bias <= mem + 64'(a3);
        lin_job.base <= mem + (flags[edgemoe_pkg::FLAG_BIT_SCORE_ACC] ? 64'(a1) : 64'(a4));
        lin_job.index <= mem + 64'(a5);
        lin_job.scores <= mem + 64'(a6);
        lin_job.flags <= flags;
      end
      if (ld_gate_rt || (ld_run && op == edgemoe_pkg::OP_MOE_GATE)) begin  // router streams
        rt_job.t <= d0; rt_job.e <= d2; rt_job.topk <= d3; rt_job.queues <= mem + 64'(a2);
      end
      if (ld_moe_init) begin
        // dst = residual (copy) or zeros; the experts then accumulate into dst
        el_job.mode <= flags[edgemoe_pkg::FLAG_BIT_RESIDUAL] ? 2'd1 : 2'd2;
        el_job.n <= d0 * d1;
        el_job.a <= mem + 64'(a8);
        el_job.dst <= mem + 64'(a1);
        w1_off <= mem + 64'(a2);
        b1_off <= mem + 64'(a3);
        w2_off <= mem + 64'(a4);
        b2_off <= mem + 64'(a5);
        qi_off <= mem + 64'(a6) + c_counts;
        qs_off <= mem + 64'(a6) + c_counts + 64'(d3) * c_slot;  // after experts * slot
        if (pf_moe_nz) begin  // the first expert with tokens
          pf_wts <= mem + 64'(a2) + 64'(pf_moe_dist) * c_i0;
          pf_n <= d2;
          pf_k <= d1;
          pf_wlg <= 2'(edgemoe_pkg::LINEAR_WEIGHT_LG);
        end
      end
      if (ld_moe_skip || ld_moe_fc2) begin
        w1_off <= w1_off + c_i0; b1_off <= b1_off + c_i1;
        w2_off <= w2_off + c_i2; b2_off <= b2_off + c_i3;
        qi_off <= qi_off + c_slot; qs_off <= qs_off + c_slot;
      end
      if (ld_moe_fc1) begin
        // fc1 + GELU on the gathered tokens into scratch rows 0..count-1
        lin_job.mode <= 2'd0;
        lin_job.t <= cnt_ex;
        lin_job.n <= d2;
        lin_job.k <= d1;
        lin_job.src <= mem + 64'(a0);
        lin_job.dst <= mem + 64'(a7);
        lin_job.wts <= w1_off;
        lin_job.bias <= b1_off;
        lin_job.index <= qi_off;
        lin_job.flags <= 16'(edgemoe_pkg::FLAG_GELU | edgemoe_pkg::FLAG_GATHER);
        pf_wts <= w2_off;  // this expert's fc2 weights load while fc1 runs
        pf_n <= d1;
        pf_k <= d2;
        pf_wlg <= 2'(edgemoe_pkg::LINEAR_WEIGHT_LG);
      end
      if (ld_moe_fc2) begin
        // fc2, scaled by the gate score and accumulated into dst rows (scatter)
        lin_job.mode <= 2'd0;
        lin_job.t <= cnt_ex;
        lin_job.n <= d1;
        lin_job.k <= d2;
        lin_job.src <= mem + 64'(a7);
        lin_job.dst <= mem + 64'(a1);
        lin_job.base <= mem + 64'(a1);
        lin_job.wts <= w2_off;
        lin_job.bias <= b2_off;
        lin_job.index <= qi_off;
        lin_job.scores <= qs_off;
        lin_job.flags <= 16'(edgemoe_pkg::FLAG_SCATTER | edgemoe_pkg::FLAG_SCORE_ACC);
        if (pf_moe_nz) begin  // the next expert with tokens: its fc1
          pf_wts <= w1_off + 64'(pf_moe_dist) * c_i0;
          pf_n <= d2;
          pf_k <= d1;
          pf_wlg <= 2'(edgemoe_pkg::LINEAR_WEIGHT_LG);
        end
      end
    end
  end

  logic unused;
  assign unused = ^{d4[31:24], c_cikk[63:32], n_n[63:32], n_k[63:32]};  // 32-bit job fields
endmodule
