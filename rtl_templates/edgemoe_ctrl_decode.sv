// Decode/check half of the dispatcher (edgemoe_ctrl is the dispatch/profile half).
//
// Holds the current instruction and the next one (fetched ahead to prefetch its weights),
// decodes every field by its generated word index (edgemoe_pkg::FLD_*, rendered from
// edgemoe/isa.py), runs the checker (edgemoe_check) and decodes the look-ahead: whether the
// next instruction is a matmul running for this task whose weights lie inside the image.
module edgemoe_ctrl_decode (
    input  logic        clk,
    input  logic        rst_n,
    // instruction words as they arrive: the current one (we) or the next one (we_next)
    input  logic        we,
    input  logic        we_next,
    input  logic [3:0]  wi,
    input  logic [31:0] wdata,
    input  logic [2:0]  task_id,
    input  logic [63:0] mem_bytes,
    // the current instruction's fields
    output logic [7:0]  op,
    output logic [15:0] flags,
    output logic [7:0]  tmask,
    output logic [31:0] d0, d1, d2, d3, d4,
    output logic [31:0] a0, a1, a2, a3, a4, a5, a6, a7, a8,
    output logic [31:0] imm,
    // checker (see edgemoe_check for the derived values)
    input  logic        chk_start,
    output logic        chk_done,
    output logic [7:0]  chk_err,
    output logic [31:0] c_oh, c_ow,
    output logic [63:0] c_cikk, c_read, c_weight, c_written, c_i0, c_i1, c_i2, c_i3,
    output logic [63:0] c_offw, c_slot, c_counts,
    // look-ahead: the next instruction's weight matrix, if it may be prefetched
    output logic        n_ok,
    output logic [63:0] n_wts, n_n, n_k,
    output logic [1:0]  n_wlg
);
  logic [31:0] w[16];
  logic [31:0] nw[16];
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      for (int i = 0; i < 16; i++) begin
        w[i] <= '0;
        nw[i] <= '0;
      end
    end else begin
      if (we) w[wi] <= wdata;
      if (we_next) nw[wi] <= wdata;
    end
  end

  // every field by its generated word index (edgemoe_pkg::FLD_*, from edgemoe/isa.py)
  assign op = 8'(w[0] >> edgemoe_pkg::OPCODE_SHIFT);
  assign flags = 16'(w[0] >> edgemoe_pkg::FLAGS_SHIFT);
  assign tmask = 8'(w[0] >> edgemoe_pkg::TASK_MASK_SHIFT);
  assign d0 = w[edgemoe_pkg::FLD_D0]; assign d1 = w[edgemoe_pkg::FLD_D1];
  assign d2 = w[edgemoe_pkg::FLD_D2]; assign d3 = w[edgemoe_pkg::FLD_D3];
  assign d4 = w[edgemoe_pkg::FLD_D4];
  assign a0 = w[edgemoe_pkg::FLD_A0]; assign a1 = w[edgemoe_pkg::FLD_A1];
  assign a2 = w[edgemoe_pkg::FLD_A2]; assign a3 = w[edgemoe_pkg::FLD_A3];
  assign a4 = w[edgemoe_pkg::FLD_A4]; assign a5 = w[edgemoe_pkg::FLD_A5];
  assign a6 = w[edgemoe_pkg::FLD_A6]; assign a7 = w[edgemoe_pkg::FLD_A7];
  assign a8 = w[edgemoe_pkg::FLD_A8];
  assign imm = w[edgemoe_pkg::FLD_IMM];

  edgemoe_check u_check (
      .clk, .rst_n, .start(chk_start), .op, .flags, .d0, .d1, .d2, .d3, .d4,
      .a0, .a1, .a2, .a3, .a4, .a5, .a6, .a7, .a8, .imm, .task_id,
      .mem_bytes, .done(chk_done), .err(chk_err), .oh(c_oh), .ow(c_ow), .cikk(c_cikk),
      .sum_read(c_read), .sum_weight(c_weight), .sum_written(c_written),
      .inner0(c_i0), .inner1(c_i1), .inner2(c_i2), .inner3(c_i3), .off_w(c_offw),
      .q_slot(c_slot), .q_counts(c_counts));

  // look-ahead: the next instruction's weights, if it is a matmul that runs for this task
  logic [7:0] n_op, n_kk;
  logic [15:0] n_fl;
  logic n_runs;
  logic [63:0] n_ext;
  always_comb begin
    n_op = 8'(nw[0] >> edgemoe_pkg::OPCODE_SHIFT);
    n_fl = 16'(nw[0] >> edgemoe_pkg::FLAGS_SHIFT);
    n_runs = nw[0][edgemoe_pkg::TASK_MASK_SHIFT + 32'(task_id)];
    n_kk = 8'(nw[edgemoe_pkg::FLD_CONV_KERNEL_STRIDE_PAD]);  // isa.pack_ksp: kernel in bits 0-7
    n_wlg = n_fl[edgemoe_pkg::FLAG_BIT_WFMT_PATCH] ? 2'(edgemoe_pkg::PATCH_WEIGHT_LG) :
            n_fl[edgemoe_pkg::FLAG_BIT_WFMT_CONV] ? 2'(edgemoe_pkg::CONV_WEIGHT_LG) :
            2'(edgemoe_pkg::LINEAR_WEIGHT_LG);
    n_wts = 64'(nw[edgemoe_pkg::FLD_LINEAR_WEIGHTS]);
    n_n = 64'(nw[edgemoe_pkg::FLD_LINEAR_OUT_FEATURES]);
    n_k = 64'(nw[edgemoe_pkg::FLD_LINEAR_IN_FEATURES]);
    n_ok = 1'b0;
    case (n_op)
      edgemoe_pkg::OP_LINEAR: n_ok = 1'b1;
      edgemoe_pkg::OP_CONV: begin
        n_ok = 1'b1;
        n_n = 64'(nw[edgemoe_pkg::FLD_CONV_OUT_CH]);
        n_k = 64'(nw[edgemoe_pkg::FLD_CONV_IN_CH]) * 64'(n_kk) * 64'(n_kk);
      end
      edgemoe_pkg::OP_MOE_GATE: begin
        n_ok = 1'b1;
        n_n = 64'(nw[edgemoe_pkg::FLD_MOE_GATE_EXPERTS]);
        n_k = 64'(nw[edgemoe_pkg::FLD_MOE_GATE_DIM]);
        n_wlg = 2'(edgemoe_pkg::LINEAR_WEIGHT_LG);
        n_wts = 64'(nw[edgemoe_pkg::FLD_MOE_GATE_W_GATE]) +
                64'(task_id) * 64'($signed(nw[edgemoe_pkg::FLD_MOE_GATE_TASK_STRIDE]));
      end
      default: n_ok = 1'b0;
    endcase
    // whole matrix inside the image (reads outside it are never issued)
    n_ext = ((((n_n + 64'(edgemoe_pkg::P_OUT - 1)) >> edgemoe_pkg::P_OUT_LG) *
              ((n_k + 64'(edgemoe_pkg::P_IN - 1)) >> edgemoe_pkg::P_IN_LG)) <<
             (edgemoe_pkg::P_OUT_LG + edgemoe_pkg::P_IN_LG)) << n_wlg;
    n_ok = n_ok && n_runs && n_n != 0 && n_k != 0 && n_n <= 64'(edgemoe_pkg::MAX_OUT_FEATURES) &&
           n_k <= 64'(edgemoe_pkg::MAX_IN_FEATURES) && n_wts[5:0] == 6'd0 && !n_wts[63] &&
           n_wts + n_ext <= mem_bytes;
  end


  logic unused;
  assign unused = ^{n_fl};
endmodule
