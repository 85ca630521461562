// Dispatcher: runs a program from memory exactly as edgemoe.golden.executor does.  This is
// the sequencer; edgemoe_ctrl_decode decodes and checks, edgemoe_ctrl_jobs sets up the
// engine jobs, edgemoe_ctrl_prof counts MACs and forms the profile and status words.
//
// Checks the status block and program placement, then per instruction: fetch (64 bytes),
// skip it (zero profile entry) when its task bit is clear, check it, run it on an engine
// (LINEAR index-list and dynamic-count checks, the MOE_EXPERTS queue checks, WFMT_Q4's word
// and channel_index lists, and its per-expert fc1/fc2 jobs are sequenced here), write its
// 64-byte profile entry, and at the end the status block.  A check or a data fault ends the
// run with its error code; nothing waits on data that never comes, so every program ends.
module edgemoe_ctrl (
    input  logic        clk,
    input  logic        rst_n,
    // control registers
    input  logic        ap_start,
    output logic        ap_done,
    output logic        ap_idle,
    input  logic [63:0] r_mem,
    input  logic [63:0] r_mem_bytes,
    input  logic [31:0] r_program_offset,
    input  logic [31:0] r_n_instructions,
    input  logic [31:0] r_task,
    input  logic [31:0] r_status_offset,
    output logic [31:0] status,
    // DMA ownership (edgemoe_top muxes the DMA ports)
    output logic [edgemoe_pkg::OWNER_BITS-1:0] owner,
    // own DMA ports
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    input  logic        wr_idle,
    // engine jobs: start / done and the job fields (edgemoe_ctrl_jobs)
    output logic [edgemoe_pkg::N_ENGINES-1:0] start,  // one start / done per engine (OWN_*)
    input  logic [edgemoe_pkg::N_ENGINES-1:0] done,
    output edgemoe_pkg::lin_job_t      lin_job,
    output edgemoe_pkg::router_job_t   router_job,
    output edgemoe_pkg::attn_job_t     attn_job,
    output edgemoe_pkg::ln_job_t       ln_job,
    output edgemoe_pkg::eltwise_job_t  eltwise_job,
    output edgemoe_pkg::upsample_job_t upsample_job,
    output edgemoe_pkg::pool_job_t     pool_job,
    output edgemoe_pkg::lif_job_t      lif_job,
    input  logic [63:0] overflows,     // all engines' running count of values that overflowed
    // weight prefetch request for the linear engine's other bank (next job's weights)
    output logic        pf_req,
    input  logic        pf_ack,
    output logic [63:0] pf_wts,
    output logic [31:0] pf_n, pf_k,
    output logic [1:0]  pf_wlg
);
  // DMA owners: one code per engine of the op spec (edgemoe_pkg::OWN_*)
  localparam logic [edgemoe_pkg::OWNER_BITS-1:0] OWN_CTRL = edgemoe_pkg::OWNER_BITS'(edgemoe_pkg::OWN_CTRL);
  localparam logic [edgemoe_pkg::OWNER_BITS-1:0] OWN_LIN = edgemoe_pkg::OWNER_BITS'(edgemoe_pkg::OWN_LIN);
  localparam logic [edgemoe_pkg::OWNER_BITS-1:0] OWN_RT = edgemoe_pkg::OWNER_BITS'(edgemoe_pkg::OWN_ROUTER);
  localparam logic [edgemoe_pkg::OWNER_BITS-1:0] OWN_EL = edgemoe_pkg::OWNER_BITS'(edgemoe_pkg::OWN_ELTWISE);
  localparam int MAXE = edgemoe_pkg::MAX_EXPERTS;
  localparam int MAXT = edgemoe_pkg::MAX_TOKENS;
  // Widths of values the checker has bounded before any state below uses them (experts,
  // tokens, features, a queue slot): their products need no 64-bit multiplier.
  localparam int EXB = $clog2(MAXE + 1);
  localparam int TKB = $clog2(MAXT + 1);
  localparam int FTB = $clog2(edgemoe_pkg::MAX_IN_FEATURES + 1);
  localparam int SLB = $clog2(4 * MAXT + 64);

  typedef enum logic [5:0] {
    S_IDLE, S_STAT_CHK, S_NEXT, S_FETCH_W, S_DECODE, S_CHECK, S_PEEK, S_PEEK_W, S_PEEK_DEC,
    S_RUN, S_DYN_CMD, S_DYN_W, S_IDX_CMD, S_IDX_W, S_LIN_GO, S_WAIT_ENG, S_WAIT_WR, S_MACS,
    S_GATE_RT, S_MOE_CNT_W, S_MOE_Q_NEXT, S_MOE_Q_CMD, S_MOE_Q_W, S_MOE_INIT,
    S_MOE_EX, S_MOE_FC2, S_PROF, S_PROF_W, S_FAULT, S_WSTAT, S_WSTAT_W, S_WSTAT_IDLE, S_FINISH
  } state_t;
  state_t st, after, idx_next;         // idx_next: after an index list

  // latched arguments and run state
  logic [63:0] mem, mem_bytes;
  logic [31:0] prog_off, n_instr, stat_off;
  logic [2:0] task_r;
  logic [31:0] idx_i, executed, failed;
  logic [7:0] error;
  logic pf_pending;
  logic go;                            // start the job of engine `owner`
  assign start = {edgemoe_pkg::N_ENGINES{go}} & (edgemoe_pkg::N_ENGINES'(1) << owner);
  logic [3:0] wcount;
  logic [63:0] cycles;
  logic [63:0] macs, wbytes, experts_active;
  logic [31:0] t_eff;
  logic fault;
  logic [1:0] mul_step;
  logic [2:0] pw;                      // profile / status word index
  logic [31:0] scan_i;
  // MoE state
  logic [31:0] cnt[MAXE];
  logic [31:0] ex;
  localparam int MAXS = edgemoe_pkg::WFMT_Q4_BUILT == 0 || MAXT > edgemoe_pkg::MAX_OUT_FEATURES ? MAXT : edgemoe_pkg::MAX_OUT_FEATURES;
  logic [MAXS-1:0] seen;               // queue entries / WFMT_Q4 channels (when built) met so far
  logic [31:0] nz;                     // the next expert with tokens (d3: none), from ex + 1
  always_comb begin                    // (from ex = 0 in S_MOE_INIT: the first one)
    nz = d3;
    for (int i = MAXE - 1; i >= 0; i--)
      if (32'(i) < d3 && cnt[i] != 32'd0 && (32'(i) > ex || st == S_MOE_INIT)) nz = 32'(i);
  end

  // decode/check: instruction words, named fields, checker, weight look-ahead
  logic [7:0] op;
  logic [15:0] flags;
  logic [7:0] tmask;
  logic [31:0] d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, a5, a6, a7, a8, imm;
  logic chk_start, chk_done;
  logic [7:0] chk_err;
  logic [31:0] c_oh, c_ow;
  logic [63:0] c_cikk, c_read, c_weight, c_written, c_i0, c_i1, c_i2, c_i3, c_offw, c_slot,
      c_counts;
  logic n_ok;
  logic [63:0] n_wts, n_n, n_k, moe_ex_bytes, mq_word_off, mq_list_off;
  logic [31:0] mq_list_n, idx_n, idx_hi;  // idx_*: an index list's length and bound (below)
  logic mq_list_more, mq_dq_bad, mq_dq_over, q4, moe_q4, i_bad;
  logic [1:0] n_wlg;
  edgemoe_ctrl_decode u_decode (
      .clk, .rst_n, .we(st == S_FETCH_W && dma_resp.rd_valid), .we_next(st == S_PEEK_W && dma_resp.rd_valid),
      .wi(wcount), .wdata(dma_resp.rd_data[31:0]), .task_id(task_r), .mem_bytes,
      .op, .flags, .tmask, .d0, .d1, .d2, .d3, .d4, .a0, .a1, .a2, .a3, .a4, .a5, .a6, .a7,
      .a8, .imm, .chk_start, .chk_done, .chk_err, .c_oh, .c_ow, .c_cikk, .c_read, .c_weight,
      .c_written, .c_i0, .c_i1, .c_i2, .c_i3, .c_offw, .c_slot, .c_counts,
      .n_ok, .n_wts, .n_n, .n_k, .n_wlg);

  // job fields of every engine, loaded on the cycle the job is set up
  edgemoe_ctrl_jobs u_jobs (
      .clk, .rst_n, .ld_run(st == S_RUN), .ld_lin_go(st == S_LIN_GO),
      .ld_gate_rt(st == S_GATE_RT), .ld_moe_init(st == S_MOE_INIT),
      .ld_moe_fc1(st == S_MOE_EX && ex != d3 && cnt[ex] != 32'd0), .ld_moe_fc2(st == S_MOE_FC2),
      .ld_moe_skip(st == S_MOE_EX && ex != d3 && cnt[ex] == 32'd0), .ld_peek(st == S_PEEK_DEC),
      .pf_moe_nz(nz != d3), .pf_moe_dist(8'(nz - ex)), .mem, .op, .flags, .d0, .d1, .d2,
      .d3, .d4, .a0, .a1, .a2, .a3, .a4, .a5, .a6, .a7, .a8, .imm, .c_oh, .c_ow, .c_cikk, .c_offw,
      .c_i0, .c_i1, .c_i2, .c_i3, .c_slot, .c_counts, .n_wts, .n_n, .n_k, .n_wlg, .t_eff,
      .cnt_ex(cnt[ex]), .lin_job, .router_job, .attn_job, .ln_job, .eltwise_job, .upsample_job,
      .pool_job, .lif_job, .pf_wts, .pf_n, .pf_k, .pf_wlg, .moe_ex_bytes, .ld_decode(chk_start),
      .ld_moe_word(st == S_DYN_W && dma_resp.rd_valid), .moe_word(dma_resp.rd_data[31:0]),
      .ld_moe_list((st == S_IDX_CMD && idx_n == 32'd0) || (st == S_IDX_W && dma_resp.rd_valid && scan_i + 32'd1 == idx_n)),
      .mq_word_off, .mq_list_off, .mq_list_n, .mq_list_more, .mq_dq_bad, .mq_dq_over);

  // profile / status words and the MACs count
  logic [63:0] prof_word, stat_word, macs_val;
  logic run_ok;                        // instruction ran (not task-masked)
  logic macs_last, macs_set;
  edgemoe_ctrl_prof u_prof (
      .clk, .mul_step, .op, .flags, .d0, .d1, .d2, .d3, .d4, .imm, .t_eff, .c_oh, .c_ow, .c_cikk, .macs_last,
      .macs_set, .macs_val, .pw, .run_ok, .cycles, .macs, .read_bytes(c_read),
      .written_bytes(c_written), .wbytes, .experts_active, .prof_word, .error, .failed,
      .executed, .stat_word, .overflows, .ovf_snap(st == S_DECODE));

  logic signed [63:0] rd_s32;
  assign rd_s32 = {{32{dma_resp.rd_data[31]}}, dma_resp.rd_data[31:0]};
  assign dma_req.rd_cmd_wlg = 4'd2;
  logic q_bad;                         // queue entry out of range or repeated
  assign q_bad = rd_s32 < 0 || rd_s32 >= $signed({32'd0, d0}) ||
                 seen[dma_resp.rd_data[$clog2(MAXS)-1:0]];
  // WFMT_Q4 (if built; else BAD_FLAGS): a channel_index list, a permutation of [0, n); else t rows
  assign q4 = edgemoe_pkg::WFMT_Q4_BUILT != 0 && op == edgemoe_pkg::OP_LINEAR && flags[edgemoe_pkg::FLAG_BIT_WFMT_Q4];
  assign moe_q4 = edgemoe_pkg::WFMT_Q4_BUILT != 0 && op == edgemoe_pkg::OP_MOE_EXPERTS && flags[edgemoe_pkg::FLAG_BIT_WFMT_Q4];
  assign {idx_n, idx_hi} = q4 ? {d1, d1} : moe_q4 ? {mq_list_n, mq_list_n} : {t_eff, d3};
  assign i_bad = rd_s32 < 0 || rd_s32 >= $signed({32'd0, idx_hi}) || ((q4 || moe_q4) && seen[dma_resp.rd_data[$clog2(MAXS)-1:0]]);
  assign idx_next = !moe_q4 ? S_LIN_GO : mq_list_more ? S_IDX_CMD : S_MOE_INIT;
  logic [63:0] base_prof;
  assign base_prof = 64'(stat_off) + 64'd64;

  assign ap_idle = st == S_IDLE;
  assign ap_done = st == S_FINISH;
  assign status = 32'(error);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE; after <= S_IDLE; owner <= OWN_CTRL;
      mem <= '0; mem_bytes <= '0; prog_off <= '0; n_instr <= '0; task_r <= '0; stat_off <= '0;
      idx_i <= '0; executed <= '0; failed <= '0; error <= '0;
      wcount <= '0; cycles <= '0; macs <= '0; wbytes <= '0; experts_active <= '0;
      t_eff <= '0; fault <= 1'b0; mul_step <= '0; pw <= '0;
      scan_i <= '0; ex <= '0; seen <= '0;
      run_ok <= 1'b0; chk_start <= 1'b0;
      dma_req.rd_cmd_valid <= 1'b0; dma_req.rd_cmd_addr <= '0; dma_req.rd_cmd_len <= '0;
      dma_req.wr_cmd_valid <= 1'b0; dma_req.wr_cmd_addr <= '0; dma_req.wr_cmd_len <= '0; dma_req.wr_cmd_wlg <= '0;
      go <= 1'b0;
      pf_req <= 1'b0; pf_pending <= 1'b0;
      for (int i = 0; i < MAXE; i++) cnt[i] <= '0;
    end else begin
      chk_start <= 1'b0;
      go <= 1'b0;
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      if (pf_ack) pf_req <= 1'b0;
      if (st != S_IDLE) cycles <= cycles + 64'd1;
      case (st)
        S_IDLE: if (ap_start) begin
          mem <= r_mem; mem_bytes <= r_mem_bytes; prog_off <= r_program_offset;
          n_instr <= r_n_instructions; task_r <= r_task[2:0]; stat_off <= r_status_offset;
          st <= S_STAT_CHK;
        end
        S_STAT_CHK: begin
          idx_i <= '0;
          executed <= '0;
          failed <= '0;
          error <= edgemoe_pkg::ERR_OK;
          owner <= OWN_CTRL;
          if (stat_off[5:0] != 6'd0 ||
              65'(base_prof) + (65'(n_instr) << 6) > 65'(mem_bytes)) begin
            error <= edgemoe_pkg::ERR_BAD_PROGRAM;    // no status block to write into
            st <= S_FINISH;
          end else if (prog_off[5:0] != 6'd0 ||
                       65'(prog_off) + (65'(n_instr) << 6) > 65'(mem_bytes) ||
                       r_task >= 32'd8) begin
            error <= edgemoe_pkg::ERR_BAD_PROGRAM;
            st <= S_WSTAT;
          end else begin
            st <= S_NEXT;
          end
        end
        S_NEXT: begin
          if (idx_i == n_instr) st <= S_WSTAT;
          else begin
            dma_req.rd_cmd_valid <= 1'b1;
            dma_req.rd_cmd_addr <= mem + 64'(prog_off) + (64'(idx_i) << 6);
            dma_req.rd_cmd_len <= 32'd64; wcount <= '0;
            st <= S_FETCH_W;
          end
        end
        S_FETCH_W: if (dma_resp.rd_valid) begin  // u_decode stores the word
          wcount <= wcount + 4'd1;
          if (wcount == 4'd15) st <= S_DECODE;
        end
        S_DECODE: begin
          macs <= '0;
          wbytes <= '0;
          experts_active <= '0;
          cycles <= '0;
          fault <= 1'b0;
          if (!tmask[task_r]) begin
            run_ok <= 1'b0;
            pw <= '0;
            st <= S_PROF;
          end else begin
            run_ok <= 1'b1;
            chk_start <= 1'b1;
            st <= S_CHECK;
          end
        end
        S_CHECK: if (chk_done) begin
          cycles <= '0;
          if (chk_err != edgemoe_pkg::ERR_OK) begin
            error <= chk_err;
            failed <= idx_i;
            st <= S_WSTAT;
          end else begin
            pf_req <= 1'b0;
            pf_pending <= 1'b0;
            st <= (idx_i + 32'd1 < n_instr && op != edgemoe_pkg::OP_MOE_EXPERTS) ? S_PEEK
                                                                              : S_RUN;
          end
        end
        // fetch the next instruction to prefetch its weights while this one runs
        S_PEEK: begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= mem + 64'(prog_off) + (64'(idx_i + 32'd1) << 6);
          dma_req.rd_cmd_len <= 32'd64; wcount <= '0;
          st <= S_PEEK_W;
        end
        S_PEEK_W: if (dma_resp.rd_valid) begin  // u_decode stores the word
          wcount <= wcount + 4'd1;
          if (wcount == 4'd15) st <= S_PEEK_DEC;
        end
        S_PEEK_DEC: begin
          pf_pending <= n_ok;  // raised once this instruction's job has started
          cycles <= '0;
          st <= S_RUN;
        end
        S_RUN: begin
          mul_step <= '0;  // job fields: edgemoe_ctrl_jobs (ld_run)
          case (op)
            edgemoe_pkg::OP_NOP: begin pw <= '0; st <= S_PROF; end
            edgemoe_pkg::OP_LINEAR: begin
              t_eff <= d0;
              wbytes <= c_weight;
              if (flags[edgemoe_pkg::FLAG_BIT_DYN_COUNT]) st <= S_DYN_CMD;
              else st <= (flags[edgemoe_pkg::FLAG_BIT_GATHER] || flags[edgemoe_pkg::FLAG_BIT_SCATTER] || q4) ? S_IDX_CMD : S_LIN_GO;
            end
            edgemoe_pkg::OP_MOE_GATE: begin
              wbytes <= c_weight;
              go <= 1'b1;
              owner <= OWN_LIN;
              after <= S_GATE_RT;
              st <= S_WAIT_ENG;
            end
            edgemoe_pkg::OP_MOE_EXPERTS: begin
              dma_req.rd_cmd_valid <= 1'b1;
              dma_req.rd_cmd_addr <= mem + 64'(a6);
              dma_req.rd_cmd_len <= d3 << 2;
              scan_i <= '0;
              st <= S_MOE_CNT_W;
            end
            default: begin  // one job on the op's engine (edgemoe_pkg::op_owner, from ops.py)
              wbytes <= c_weight;  // its weight operands (none: 0)
              go <= 1'b1;
              owner <= edgemoe_pkg::OWNER_BITS'(edgemoe_pkg::op_owner(op));
              after <= S_MACS;
              st <= S_WAIT_ENG;
            end
          endcase
        end
        // ---- LINEAR: dynamic token count
        S_DYN_CMD: begin
          dma_req.rd_cmd_valid <= 1'b1; dma_req.rd_cmd_len <= 32'd4;
          dma_req.rd_cmd_addr <= mem + (moe_q4 ? mq_word_off : 64'(a7));  // WFMT_Q4 experts: the word
          st <= S_DYN_W;
        end
        S_DYN_W: if (dma_resp.rd_valid) begin
          t_eff <= dma_resp.rd_data[31:0];
          if (moe_q4 ? mq_dq_over : dma_resp.rd_data[31:0] > d0) st <= S_FAULT;  // WFMT_Q4: dq_shift
          else st <= (flags[edgemoe_pkg::FLAG_BIT_GATHER] || flags[edgemoe_pkg::FLAG_BIT_SCATTER] || q4 || moe_q4) ? S_IDX_CMD : S_LIN_GO;
        end
        // ---- LINEAR: index list within [0, rows)
        S_IDX_CMD: begin
          if (idx_n == 32'd0) st <= idx_next;
          else begin
            dma_req.rd_cmd_valid <= 1'b1;
            dma_req.rd_cmd_addr <= mem + (moe_q4 ? mq_list_off : 64'(a5));
            dma_req.rd_cmd_len <= idx_n << 2;
            scan_i <= '0;
            seen <= '0;
            st <= S_IDX_W;
          end
        end
        S_IDX_W: if (dma_resp.rd_valid) begin
          if (i_bad) fault <= 1'b1;
          if (q4 || moe_q4) seen[dma_resp.rd_data[$clog2(MAXS)-1:0]] <= 1'b1;
          scan_i <= scan_i + 32'd1;
          if (scan_i + 32'd1 == idx_n) st <= (fault || i_bad) ? S_FAULT : idx_next;
        end
        S_LIN_GO: begin
          after <= S_MACS;
          if (t_eff == 32'd0) st <= S_MACS;
          else begin
            go <= 1'b1;
            owner <= OWN_LIN;
            st <= S_WAIT_ENG;
          end
        end
        // ---- wait for an engine, then for its writes to land
        S_WAIT_ENG: begin
          if (pf_pending) begin
            pf_req <= 1'b1;
            pf_pending <= 1'b0;
          end
          if (|done) st <= S_WAIT_WR;
        end
        S_WAIT_WR: if (wr_idle) begin
          owner <= OWN_CTRL;
          if (!pf_ack) pf_req <= 1'b0;  // a request the engine never took is dropped
          st <= after;
        end
        S_GATE_RT: begin
          go <= 1'b1;
          owner <= OWN_RT;
          after <= S_MACS;
          st <= S_WAIT_ENG;
        end
        // ---- profile macs (edgemoe_ctrl_prof): one multiply per cycle
        S_MACS: begin
          mul_step <= mul_step + 2'd1;
          if (macs_last) begin
            if (macs_set) macs <= macs_val;
            pw <= '0;
            st <= S_PROF;
          end
        end
        // ---- MOE_EXPERTS: counts, then each non-empty queue's token indices
        S_MOE_CNT_W: if (dma_resp.rd_valid) begin
          cnt[scan_i] <= dma_resp.rd_data[31:0];
          if (dma_resp.rd_data[31:0] > d0) fault <= 1'b1;
          scan_i <= scan_i + 32'd1;
          if (scan_i + 32'd1 == d3) begin
            ex <= '0;
            st <= (fault || dma_resp.rd_data[31:0] > d0) ? S_FAULT : S_MOE_Q_NEXT;
          end
        end
        S_MOE_Q_NEXT: begin
          if (ex == d3) begin
            ex <= '0;
            st <= moe_q4 ? S_DYN_CMD : S_MOE_INIT;  // WFMT_Q4: its word and lists first
          end else if (cnt[ex] == 32'd0) begin
            ex <= ex + 32'd1;
          end else begin
            st <= S_MOE_Q_CMD;
          end
        end
        S_MOE_Q_CMD: begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= mem + 64'(a6) + c_counts + 64'(ex[EXB-1:0]) * 64'(c_slot[SLB-1:0]);
          dma_req.rd_cmd_len <= cnt[ex] << 2;
          scan_i <= '0;
          seen <= '0;
          st <= S_MOE_Q_W;
        end
        S_MOE_Q_W: if (dma_resp.rd_valid) begin
          if (q_bad) fault <= 1'b1;
          else seen[dma_resp.rd_data[$clog2(MAXS)-1:0]] <= 1'b1;
          scan_i <= scan_i + 32'd1;
          if (scan_i + 32'd1 == cnt[ex]) begin
            if (fault || q_bad) st <= S_FAULT;
            else begin
              ex <= ex + 32'd1;
              st <= S_MOE_Q_NEXT;
            end
          end
        end
        S_MOE_INIT: begin
          // first expert's fc1 weights load during the init copy
          if (nz != d3 && !moe_q4) pf_req <= 1'b1;
          if (flags[edgemoe_pkg::FLAG_BIT_RESIDUAL] && a8 == a1) st <= S_MOE_EX;
          else begin
            go <= 1'b1;
            owner <= OWN_EL;
            after <= S_MOE_EX;
            st <= S_WAIT_ENG;
          end
        end
        S_MOE_EX: begin
          if (ex == d3) begin
            pw <= '0;
            st <= S_PROF;
          end else if (cnt[ex] == 32'd0) begin
            ex <= ex + 32'd1;  // pointers advance in edgemoe_ctrl_jobs (ld_moe_skip)
          end else begin
            // fc1 + GELU on the gathered tokens into scratch rows 0..count-1 (ld_moe_fc1)
            go <= 1'b1;
            owner <= OWN_LIN;
            after <= S_MOE_FC2;
            st <= S_WAIT_ENG;
            macs <= macs + ((64'(cnt[ex][TKB-1:0]) * 64'(d1[FTB-1:0]) * 64'(d2[FTB-1:0])) << 1);
            pf_req <= !moe_q4;  // this expert's fc2 weights load while fc1 runs
            wbytes <= wbytes + moe_ex_bytes;  // weights, biases, W8A8 multipliers / WSKIP maps
            experts_active <= experts_active + 64'd1;
          end
        end
        S_MOE_FC2: begin
          // fc2, scaled by the gate score and accumulated into dst rows (ld_moe_fc2)
          go <= 1'b1;
          owner <= OWN_LIN;
          if (nz != d3 && !moe_q4) pf_req <= 1'b1;  // fc1 of the next expert with tokens
          ex <= ex + 32'd1;
          after <= S_MOE_EX;
          st <= S_WAIT_ENG;
        end
        // ---- profile entry: 8 x u64
        S_PROF: begin
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= mem + base_prof + (64'(idx_i) << 6);
          dma_req.wr_cmd_len <= 32'd64;
          dma_req.wr_cmd_wlg <= 4'd3;
          pw <= '0;
          st <= S_PROF_W;
        end
        S_PROF_W: if (dma_resp.wr_ready) begin
          pw <= pw + 3'd1;
          if (pw == 3'd7) begin
            executed <= executed + 32'd1;
            idx_i <= idx_i + 32'd1;
            st <= S_NEXT;
          end
        end
        S_FAULT: begin
          error <= mq_dq_bad ? edgemoe_pkg::ERR_BAD_SHAPE : edgemoe_pkg::ERR_BAD_QUEUE;
          failed <= idx_i;
          owner <= OWN_CTRL;
          st <= S_WSTAT;
        end
        // ---- status block: error, failing index, executed, config_id
        S_WSTAT: begin
          owner <= OWN_CTRL;
          dma_req.wr_cmd_valid <= 1'b1;
          dma_req.wr_cmd_addr <= mem + 64'(stat_off);
          dma_req.wr_cmd_len <= 32'd16;
          dma_req.wr_cmd_wlg <= 4'd2;
          pw <= '0;
          st <= S_WSTAT_W;
        end
        S_WSTAT_W: if (dma_resp.wr_ready) begin
          pw <= pw + 3'd1;
          if (pw == 3'd3) st <= S_WSTAT_IDLE;
        end
        S_WSTAT_IDLE: if (wr_idle && !dma_req.wr_cmd_valid) st <= S_FINISH;
        S_FINISH: st <= S_IDLE;  // ap_done is high in this state
        default: st <= S_IDLE;
      endcase
    end
  end

  assign dma_req.rd_ready = st == S_FETCH_W || st == S_PEEK_W || st == S_DYN_W || st == S_IDX_W ||
                    st == S_MOE_CNT_W || st == S_MOE_Q_W;
  assign dma_req.wr_valid = st == S_PROF_W || st == S_WSTAT_W;
  assign dma_req.wr_data = (edgemoe_pkg::WORD_MAX*8)'((st == S_WSTAT_W) ? stat_word : prof_word);

  logic unused;
  assign unused = ^{dma_resp.rd_data[edgemoe_pkg::WORD_MAX*8-1:32], dma_resp.rd_last, d4[31:24], n_n[63:32], n_k[63:32]};
endmodule
