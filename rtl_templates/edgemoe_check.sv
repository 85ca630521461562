// Instruction checker: edgemoe.validate.check_instr in hardware.
//
// Order of the checks (the first failing one gives the error code): unknown opcode,
// op not built, flags the op does not accept, shape limits (any -> BAD_SHAPE), then each
// memory operand in the order of validate.operand_bytes: misaligned offset, then extent
// outside [0, mem_bytes); then, one pair per cycle, a written operand overlapping another
// one (OVERLAP) unless the pair is an exact alias the op spec allows (edgemoe_pkg::alias_ok).
// Operand extents are computed one operand per two cycles with two shared multipliers;
// their sums by class (read / weights / written) feed the profile.
module edgemoe_check (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    input  logic [7:0]  op,
    input  logic [15:0] flags,
    input  logic [31:0] d0, d1, d2, d3, d4,
    input  logic [31:0] a0, a1, a2, a3, a4, a5, a6, a7, a8,
    input  logic [31:0] imm,
    input  logic [2:0]  task_id,
    input  logic [63:0] mem_bytes,
    output logic        done,
    output logic [7:0]  err,
    // derived values for the dispatcher
    output logic [31:0] oh, ow,          // CONV output size
    output logic [63:0] cikk,            // CONV in_ch * kernel^2
    output logic [63:0] sum_read,        // extents of operands read (not weights)
    output logic [63:0] sum_weight,      // extents of weight operands
    output logic [63:0] sum_written,     // extents of outputs
    output logic [63:0] inner0, inner1, inner2, inner3,  // per-expert w1, b1, w2, b2 bytes
    output logic [63:0] off_w,           // effective w_gate offset (MOE_GATE)
    output logic [63:0] q_slot,          // queue slot bytes align(4*tokens)
    output logic [63:0] q_counts         // queue counts bytes align(4*experts)
);
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;

  // ------------------------------------------------------------------ flags and formats
  logic f_gelu_unused, f_relu_unused;
  logic f_res, f_gat, f_sca, f_sacc, f_dyn, f_pix, f_copy, f_wconv, f_wpatch, f_battn;
  assign f_gelu_unused = flags[edgemoe_pkg::FLAG_BIT_GELU];
  assign f_relu_unused = flags[edgemoe_pkg::FLAG_BIT_RELU];
  assign f_res = flags[edgemoe_pkg::FLAG_BIT_RESIDUAL];
  assign f_gat = flags[edgemoe_pkg::FLAG_BIT_GATHER];
  assign f_sca = flags[edgemoe_pkg::FLAG_BIT_SCATTER];
  assign f_sacc = flags[edgemoe_pkg::FLAG_BIT_SCORE_ACC];
  assign f_dyn = flags[edgemoe_pkg::FLAG_BIT_DYN_COUNT];
  assign f_pix = flags[edgemoe_pkg::FLAG_BIT_PIXEL_INPUT];
  assign f_copy = flags[edgemoe_pkg::FLAG_BIT_COPY];
  assign f_wconv = flags[edgemoe_pkg::FLAG_BIT_WFMT_CONV];
  assign f_wpatch = flags[edgemoe_pkg::FLAG_BIT_WFMT_PATCH];
  assign f_battn = flags[edgemoe_pkg::FLAG_BIT_BFMT_ATTN];
  logic [2:0] ab, wlg, blg, lw, bb, nb, xlg;
  assign ab = 3'(edgemoe_pkg::ACT_LG);
  assign lw = 3'(edgemoe_pkg::LINEAR_WEIGHT_LG);
  assign bb = 3'(edgemoe_pkg::BIAS_LG);
  assign nb = 3'(edgemoe_pkg::NORM_LG);
  assign wlg = f_wpatch ? 3'(edgemoe_pkg::PATCH_WEIGHT_LG) :
               f_wconv ? 3'(edgemoe_pkg::CONV_WEIGHT_LG) : lw;
  assign blg = f_battn ? 3'(edgemoe_pkg::ATTN_BIAS_LG) : bb;
  assign xlg = f_pix ? 3'(edgemoe_pkg::PIXEL_LG) : ab;

  function automatic logic [63:0] up_po(input logic [31:0] x);
    up_po = ((64'(x) + 64'((1 << PO_LG) - 1)) >> PO_LG) << PO_LG;
  endfunction
  function automatic logic [63:0] up_pi(input logic [63:0] x);
    up_pi = ((x + 64'((1 << PI_LG) - 1)) >> PI_LG) << PI_LG;
  endfunction

  // ------------------------------------------------------------------ CONV geometry
  logic [7:0] kk, ks, kp;
  logic signed [34:0] num_h, num_w;
  logic [31:0] oh_c, ow_c;
  logic [63:0] cikk_c;
  assign kk = d4[7:0];
  assign ks = d4[15:8];
  assign kp = d4[23:16];
  assign num_h = $signed({3'd0, d0}) + $signed({26'd0, kp, 1'b0}) - $signed({27'd0, kk});
  assign num_w = $signed({3'd0, d1}) + $signed({26'd0, kp, 1'b0}) - $signed({27'd0, kk});
  // conv_out_size; a negative numerator or stride 0 gives no valid output (reported as 0)
  assign oh_c = (ks == 8'd0 || num_h < 0) ? 32'd0 : 32'(35'(num_h) / 35'(ks)) + 32'd1;
  assign ow_c = (ks == 8'd0 || num_w < 0) ? 32'd0 : 32'(35'(num_w) / 35'(ks)) + 32'd1;
  assign cikk_c = 64'(d2) * 64'(kk) * 64'(kk);

  // ------------------------------------------------------------------ first-stage errors
  logic [7:0] err_pre;
  logic shp;
  always_comb begin
    // shape limits rendered from the op spec (edgemoe/ops.py) into the package
    shp = !edgemoe_pkg::shapes_ok(op, flags, {d4, d3, d2, d1, d0});
    if (op > 8'd31 || !edgemoe_pkg::OPCODES_KNOWN[op[4:0]]) err_pre = edgemoe_pkg::ERR_BAD_OPCODE;
    else if (!edgemoe_pkg::OPS_BUILT[op[3:0]]) err_pre = edgemoe_pkg::ERR_OP_NOT_BUILT;
    else if ((flags & ~edgemoe_pkg::op_flags(op)) != 16'd0) err_pre = edgemoe_pkg::ERR_BAD_FLAGS;
    else if (shp) err_pre = edgemoe_pkg::ERR_BAD_SHAPE;
    else err_pre = edgemoe_pkg::ERR_OK;
  end

  // ------------------------------------------------------------------ operand table
  logic [3:0] j;
  logic ov;                    // operand j exists
  logic signed [65:0] ooff;    // its offset
  logic [63:0] f0, f1, f2, add;
  logic [2:0] f3;
  logic [2:0] sh;
  logic aln;
  logic [1:0] cls;             // 0 read, 1 weight, 2 written
  logic [63:0] slot4t, cnt4e;
  assign slot4t = edgemoe_pkg::align64(64'(d0) << 2);
  assign cnt4e = edgemoe_pkg::align64((op == edgemoe_pkg::OP_MOE_GATE ? 64'(d2) : 64'(d3)) << 2);
  logic signed [65:0] gate_off;
  assign gate_off = $signed({34'd0, a1}) + $signed({63'd0, task_id}) * $signed({{34{imm[31]}}, imm});

  always_comb begin
    ov = 1'b0; ooff = '0; f0 = 64'd1; f1 = 64'd1; f2 = 64'd1; f3 = 3'd1; sh = 3'd0;
    aln = 1'b0; add = '0; cls = 2'd0;
    case (op)
      edgemoe_pkg::OP_LINEAR: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(f_gat ? d3 : d0); f1 = 64'(d2); sh = ab; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(f_sca ? d3 : d0); f1 = 64'(d1); sh = ab; cls = 2'd2; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f0 = up_po(d1); f1 = up_pi(64'(d2)); sh = wlg; aln = 1'b1; cls = 2'd1; end
          4'd3: begin ov = 1'b1; ooff = 66'(a3); f0 = up_po(d1); sh = blg; aln = 1'b1; cls = 2'd1; end
          4'd4: begin ov = f_res; ooff = 66'(a4); f0 = 64'(f_sca ? d3 : d0); f1 = 64'(d1); sh = ab; end
          4'd5: begin ov = f_gat || f_sca; ooff = 66'(a5); f0 = 64'(d0); sh = 3'd2; end
          4'd6: begin ov = f_sacc; ooff = 66'(a6); f0 = 64'(d0); sh = 3'd2; end
          4'd7: begin ov = f_dyn; ooff = 66'(a7); sh = 3'd2; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_LAYERNORM: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d1); sh = ab; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(d0); f1 = 64'(d1); sh = ab; cls = 2'd2; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f0 = 64'(d1); sh = nb; end
          4'd3: begin ov = 1'b1; ooff = 66'(a3); f0 = 64'(d1); sh = nb; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_ATTENTION: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d2); f2 = 64'(d1); f3 = 3'd3; sh = ab; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(d0); f1 = 64'(d2); f2 = 64'(d1); sh = ab; cls = 2'd2; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_MOE_GATE: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d1); sh = ab; end
          4'd1: begin ov = 1'b1; ooff = gate_off; f0 = up_po(d2); f1 = up_pi(64'(d1)); sh = lw; aln = 1'b1; cls = 2'd1; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f1 = slot4t; f2 = 64'(d2); f3 = 3'd2; add = cnt4e; cls = 2'd2; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_MOE_EXPERTS: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d1); sh = ab; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(d0); f1 = 64'(d1); sh = ab; cls = 2'd2; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f0 = up_po(d2); f1 = up_pi(64'(d1)); sh = lw; aln = 1'b1; f2 = 64'(d3); cls = 2'd1; end
          4'd3: begin ov = 1'b1; ooff = 66'(a3); f0 = up_po(d2); sh = bb; aln = 1'b1; f2 = 64'(d3); cls = 2'd1; end
          4'd4: begin ov = 1'b1; ooff = 66'(a4); f0 = up_po(d1); f1 = up_pi(64'(d2)); sh = lw; aln = 1'b1; f2 = 64'(d3); cls = 2'd1; end
          4'd5: begin ov = 1'b1; ooff = 66'(a5); f0 = up_po(d1); sh = bb; aln = 1'b1; f2 = 64'(d3); cls = 2'd1; end
          4'd6: begin ov = 1'b1; ooff = 66'(a6); f1 = slot4t; f2 = 64'(d3); f3 = 3'd2; add = cnt4e; end
          4'd7: begin ov = 1'b1; ooff = 66'(a7); f0 = 64'(d0); f1 = 64'(d2); sh = ab; cls = 2'd2; end
          4'd8: begin ov = f_res; ooff = 66'(a8); f0 = 64'(d0); f1 = 64'(d1); sh = ab; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_CONV: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d1); f2 = 64'(d2); sh = xlg; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(oh_c); f1 = 64'(ow_c); f2 = 64'(d3); sh = ab; cls = 2'd2; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f0 = up_po(d3); f1 = up_pi(cikk_c); sh = wlg; aln = 1'b1; cls = 2'd1; end
          4'd3: begin ov = 1'b1; ooff = 66'(a3); f0 = up_po(d3); sh = blg; aln = 1'b1; cls = 2'd1; end
          4'd4: begin ov = f_res; ooff = 66'(a4); f0 = 64'(oh_c); f1 = 64'(ow_c); f2 = 64'(d3); sh = ab; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_UPSAMPLE: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); f1 = 64'(d1); f2 = 64'(d2); sh = ab; end
          4'd1: begin ov = 1'b1; ooff = 66'(a1); f0 = 64'(d0); f1 = 64'(d1); f2 = 64'(d2); f3 = 3'd4; sh = ab; cls = 2'd2; end
          default: ov = 1'b0;
        endcase
      end
      edgemoe_pkg::OP_ADD: begin
        case (j)
          4'd0: begin ov = 1'b1; ooff = 66'(a0); f0 = 64'(d0); sh = ab; end
          4'd1: begin ov = !f_copy; ooff = 66'(a1); f0 = 64'(d0); sh = ab; end
          4'd2: begin ov = 1'b1; ooff = 66'(a2); f0 = 64'(d0); sh = ab; cls = 2'd2; end
          default: ov = 1'b0;
        endcase
      end
      default: ov = 1'b0;
    endcase
  end

  // ------------------------------------------------------------------ sequencer
  typedef enum logic [1:0] {S_IDLE, S_MUL, S_CHECK, S_PAIR} state_t;
  state_t st;
  logic [63:0] prod, inner, ext;
  logic signed [65:0] endb;
  // extents of the operands checked so far (op-spec order), for the overlap pairs
  localparam int NOPS = 9;
  logic [NOPS-1:0] x_on, x_wr;
  logic signed [65:0] x_lo[NOPS];
  logic signed [65:0] x_hi[NOPS];
  logic [3:0] pa, pb;
  logic pair_bad, pair_last;
  always_comb begin
    pair_bad = x_on[pa] && x_on[pb] && (x_wr[pa] || x_wr[pb]) && x_hi[pa] > x_lo[pa] &&
               x_hi[pb] > x_lo[pb] && x_lo[pa] < x_hi[pb] && x_lo[pb] < x_hi[pa] &&
               !(x_lo[pa] == x_lo[pb] && x_hi[pa] == x_hi[pb] &&
                 edgemoe_pkg::alias_ok(op, pa, pb));
    pair_last = pa == 4'(NOPS - 2) && pb == 4'(NOPS - 1);
  end
  always_comb begin
    inner = aln ? edgemoe_pkg::align64(prod << sh) : (prod << sh);
    ext = inner * f2 * 64'(f3) + add;
    endb = ooff + $signed({2'b0, ext});
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE;
      done <= 1'b0;
      err <= '0;
      j <= '0;
      prod <= '0;
      sum_read <= '0;
      sum_weight <= '0;
      sum_written <= '0;
      inner0 <= '0; inner1 <= '0; inner2 <= '0; inner3 <= '0;
      x_on <= '0; x_wr <= '0; pa <= '0; pb <= '0;
      for (int i = 0; i < NOPS; i++) begin
        x_lo[i] <= '0;
        x_hi[i] <= '0;
      end
      oh <= '0; ow <= '0; cikk <= '0; off_w <= '0; q_slot <= '0; q_counts <= '0;
    end else begin
      done <= 1'b0;
      case (st)
        S_IDLE: if (start) begin
          oh <= oh_c;
          ow <= ow_c;
          cikk <= cikk_c;
          off_w <= 64'(gate_off);
          q_slot <= slot4t;
          q_counts <= cnt4e;
          sum_read <= '0;
          sum_weight <= '0;
          sum_written <= '0;
          j <= '0;
          x_on <= '0;
          x_wr <= '0;
          pa <= 4'd0;
          pb <= 4'd1;
          err <= err_pre;
          if (err_pre != edgemoe_pkg::ERR_OK || op == edgemoe_pkg::OP_NOP) done <= 1'b1;
          else st <= S_MUL;
        end
        S_MUL: begin
          prod <= f0 * f1;
          st <= S_CHECK;
        end
        S_CHECK: begin
          x_on[j] <= ov;
          x_wr[j] <= cls == 2'd2;
          x_lo[j] <= ooff;
          x_hi[j] <= endb;
          if (ov) begin
            if (ooff[5:0] != 6'd0) err <= edgemoe_pkg::ERR_MISALIGNED;
            else if (ooff < 0 || endb > $signed({2'b0, mem_bytes})) err <= edgemoe_pkg::ERR_OUT_OF_RANGE;
            case (cls)
              2'd0: sum_read <= sum_read + ext;
              2'd1: sum_weight <= sum_weight + ext;
              default: sum_written <= sum_written + ext;
            endcase
            if (op == edgemoe_pkg::OP_MOE_EXPERTS) begin
              if (j == 4'd2) inner0 <= inner;
              if (j == 4'd3) inner1 <= inner;
              if (j == 4'd4) inner2 <= inner;
              if (j == 4'd5) inner3 <= inner;
            end
          end
          if (ov && (ooff[5:0] != 6'd0 || ooff < 0 || endb > $signed({2'b0, mem_bytes}))) begin
            done <= 1'b1;
            st <= S_IDLE;
          end else if (j == 4'(NOPS - 1)) begin
            st <= S_PAIR;
          end else begin
            j <= j + 4'd1;
            st <= S_MUL;
          end
        end
        S_PAIR: begin
          if (pair_bad) err <= edgemoe_pkg::ERR_OVERLAP;
          if (pair_bad || pair_last) begin
            done <= 1'b1;
            st <= S_IDLE;
          end else if (pb == 4'(NOPS - 1)) begin
            pa <= pa + 4'd1;
            pb <= pa + 4'd2;
          end else begin
            pb <= pb + 4'd1;
          end
        end
        default: st <= S_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{f_gelu_unused, f_relu_unused, d4[31:24]};
endmodule
