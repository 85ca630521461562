/**
 * @file em_isa.hpp
 * @brief Instruction decoding and the per-instruction checks of edgemoe/validate.py:
 *        same error codes, same order of checks, same operand extents.  Also the traffic
 *        and ideal-cycle figures written to the profile (edgemoe/golden/executor.py,
 *        edgemoe/golden/cycles.py).
 *
 * Opcode, flag, error and field names (isa::OP_*, isa::FLAG_*, isa::ERR_*, isa::FLD_*)
 * come from the generated ISA header, rendered from edgemoe/isa.py.
 */
#ifndef EDGEMOE_EM_ISA_HPP
#define EDGEMOE_EM_ISA_HPP

#include "em_common.hpp"

namespace edgemoe {

/** One decoded instruction: 16 little-endian words (isa.py). */
struct instr_t {
  uint32_t w[isa::WORDS];
  uint32_t op() const { return w[0] & 0xFF; }
  uint32_t flags() const { return (w[0] >> 8) & 0xFFFF; }
  uint32_t task_mask() const { return w[0] >> 24; }
  bool has(uint32_t flag) const { return (flags() & flag) != 0; }
  uint32_t f(int word) const { return w[word]; }
  int32_t imm() const { return (int32_t)w[isa::FLD_IMM]; }
  bool runs_for(uint32_t task) const { return ((task_mask() >> task) & 1) != 0; }
};

/** What an operand is to the traffic count. */
enum operand_role { ROLE_READ = 0, ROLE_WRITE = 1, ROLE_WEIGHT = 2 };

/** Memory operands of an instruction, in validate.operand_bytes order. */
struct operand_list {
  int n;
  int64_t off[isa::N_ADDRS];
  uint64_t bytes[isa::N_ADDRS];
  int role[isa::N_ADDRS];
  void add(int64_t o, uint64_t b, int r) {
    off[n] = o;
    bytes[n] = b;
    role[n] = r;
    n++;
  }
};

/** Profile counters of one instruction (layout.PROFILE_FIELDS). */
struct profile_t {
  uint64_t v[isa::N_PROFILE_FIELDS];
};

/**
 * Bytes of one tile-packed weight matrix padded to 64 bytes (layout.weight_block_bytes).
 *
 * @tparam CFG design point (P_IN x P_OUT tiles).
 */
template <class CFG>
inline uint64_t weight_block_bytes(uint64_t out_f, uint64_t in_f, uint64_t wbytes) {
  return align64(ceil_div(out_f, CFG::P_OUT) * CFG::P_OUT * ceil_div(in_f, CFG::P_IN) * CFG::P_IN *
                 wbytes);
}

/**
 * Bytes of one bias vector padded to P_OUT words and 64 bytes (layout.bias_block_bytes).
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline uint64_t bias_block_bytes(uint64_t out_f, uint64_t bbytes) {
  return align64(ceil_div(out_f, CFG::P_OUT) * CFG::P_OUT * bbytes);
}

/** Byte layout of the MoE expert-queue region (layout.queue_layout). */
struct queue_layout_t {
  uint64_t index, scores, slot, total;
  queue_layout_t(uint64_t experts, uint64_t tokens) {
    const uint64_t counts = align64(4 * experts);
    slot = align64(4 * tokens);
    index = counts;
    scores = counts + experts * slot;
    total = counts + 2 * experts * slot;
  }
};

/** Output size of a convolution along one axis; <= 0 when invalid (layout.conv_out_size). */
inline int64_t conv_out_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
  if (stride <= 0) return 0;
  const int64_t num = size + 2 * pad - kernel;
  if (num < 0) return 0;  // Python floor division gives <= 0 here as well
  return num / stride + 1;
}

/** Element bytes of the weight format an instruction selects. @tparam CFG design point. */
template <class CFG>
inline uint64_t weight_bytes_of(const instr_t& ins) {
  if (ins.has(isa::FLAG_WFMT_PATCH)) return CFG::patch_weight::BYTES;
  if (ins.has(isa::FLAG_WFMT_CONV)) return CFG::conv_weight::BYTES;
  return CFG::linear_weight::BYTES;
}

/** Element bytes of the bias format an instruction selects. @tparam CFG design point. */
template <class CFG>
inline uint64_t bias_bytes_of(const instr_t& ins) {
  return ins.has(isa::FLAG_BFMT_ATTN) ? CFG::attn_bias::BYTES : CFG::bias::BYTES;
}

/** 1 <= v <= limit. */
inline bool in_limit(uint64_t v, uint64_t limit) { return v >= 1 && v <= limit; }

/**
 * Shape checks of validate._shape_limits: false when any shape is out of range.
 *
 * @tparam CFG design point (buffer limits).
 */
template <class CFG>
bool shapes_ok(const instr_t& ins) {
  const uint32_t op = ins.op();
  const uint64_t kin = CFG::MAX_IN_FEATURES, kout = CFG::MAX_OUT_FEATURES;
  const uint64_t tmax = CFG::MAX_TOKENS;
  const uint64_t d0 = ins.f(isa::FLD_D0), d1 = ins.f(isa::FLD_D1), d2 = ins.f(isa::FLD_D2);
  const uint64_t d3 = ins.f(isa::FLD_D3), d4 = ins.f(isa::FLD_D4);
  bool ok = true;
  if (op == isa::OP_LINEAR) {
    ok = in_limit(d0, (uint64_t)1 << 24) && in_limit(d2, kin) && in_limit(d1, kout);
    if (ins.flags() & (isa::FLAG_GATHER | isa::FLAG_SCATTER)) {
      ok = ok && in_limit(d3, (uint64_t)1 << 24);
    }
  } else if (op == isa::OP_LAYERNORM) {
    ok = in_limit(d0, (uint64_t)1 << 24) && in_limit(d1, kin);
  } else if (op == isa::OP_ATTENTION) {
    ok = in_limit(d0, tmax) && in_limit(d1, CFG::MAX_HEADS) && in_limit(d2, CFG::MAX_HEAD_DIM);
  } else if (op == isa::OP_MOE_GATE) {
    const uint64_t k_lim = CFG::MAX_TOP_K < d2 ? CFG::MAX_TOP_K : d2;
    ok = in_limit(d0, tmax) && in_limit(d1, kin) && in_limit(d2, CFG::MAX_EXPERTS) &&
         in_limit(d3, k_lim);
  } else if (op == isa::OP_MOE_EXPERTS) {
    const uint64_t lim = kin < kout ? kin : kout;
    ok = in_limit(d0, tmax) && in_limit(d1, lim) && in_limit(d2, lim) &&
         in_limit(d3, CFG::MAX_EXPERTS);
  } else if (op == isa::OP_CONV) {
    const int64_t k = d4 & 0xFF, s = (d4 >> 8) & 0xFF, p = (d4 >> 16) & 0xFF;
    const int64_t oh = conv_out_size((int64_t)d0, k, s, p);
    const int64_t ow = conv_out_size((int64_t)d1, k, s, p);
    const int64_t o = oh < ow ? oh : ow;
    ok = in_limit(d0, (uint64_t)1 << 16) && in_limit(d1, (uint64_t)1 << 16) && in_limit(k, 255) &&
         in_limit(s, 255) && o >= 1 && o <= ((int64_t)1 << 16) &&
         in_limit(d2 * (uint64_t)(k * k), kin) && in_limit(d3, kout) && in_limit(p + 1, k);
  } else if (op == isa::OP_UPSAMPLE) {
    ok = in_limit(d0, (uint64_t)1 << 16) && in_limit(d1, (uint64_t)1 << 16) && in_limit(d2, kin);
  } else if (op == isa::OP_ADD) {
    ok = in_limit(d0, (uint64_t)1 << 28);
  }
  return ok;
}

/** Operand extents of validate.operand_bytes, in the same order. @tparam CFG design point. */
template <class CFG>
void operands(const instr_t& ins, uint32_t task, operand_list& ol) {
  const uint32_t op = ins.op();
  const uint64_t a = CFG::act::BYTES;
  const uint64_t d0 = ins.f(isa::FLD_D0), d1 = ins.f(isa::FLD_D1), d2 = ins.f(isa::FLD_D2);
  const uint64_t d3 = ins.f(isa::FLD_D3), d4 = ins.f(isa::FLD_D4);
  const int64_t a0 = ins.f(isa::FLD_A0), a1 = ins.f(isa::FLD_A1), a2 = ins.f(isa::FLD_A2);
  const int64_t a3 = ins.f(isa::FLD_A3), a4 = ins.f(isa::FLD_A4), a5 = ins.f(isa::FLD_A5);
  const int64_t a6 = ins.f(isa::FLD_A6), a7 = ins.f(isa::FLD_A7), a8 = ins.f(isa::FLD_A8);
  ol.n = 0;
  if (op == isa::OP_LINEAR) {
    const uint64_t dst = (ins.has(isa::FLAG_SCATTER) ? d3 : d0) * d1 * a;
    ol.add(a0, (ins.has(isa::FLAG_GATHER) ? d3 : d0) * d2 * a, ROLE_READ);
    ol.add(a1, dst, ROLE_WRITE);
    ol.add(a2, weight_block_bytes<CFG>(d1, d2, weight_bytes_of<CFG>(ins)), ROLE_WEIGHT);
    ol.add(a3, bias_block_bytes<CFG>(d1, bias_bytes_of<CFG>(ins)), ROLE_WEIGHT);
    if (ins.has(isa::FLAG_RESIDUAL)) ol.add(a4, dst, ROLE_READ);
    if (ins.flags() & (isa::FLAG_GATHER | isa::FLAG_SCATTER)) ol.add(a5, 4 * d0, ROLE_READ);
    if (ins.has(isa::FLAG_SCORE_ACC)) ol.add(a6, 4 * d0, ROLE_READ);
    if (ins.has(isa::FLAG_DYN_COUNT)) ol.add(a7, 4, ROLE_READ);
  } else if (op == isa::OP_LAYERNORM) {
    ol.add(a0, d0 * d1 * a, ROLE_READ);
    ol.add(a1, d0 * d1 * a, ROLE_WRITE);
    ol.add(a2, d1 * CFG::norm::BYTES, ROLE_READ);
    ol.add(a3, d1 * CFG::norm::BYTES, ROLE_READ);
  } else if (op == isa::OP_ATTENTION) {
    ol.add(a0, 3 * d0 * d1 * d2 * a, ROLE_READ);
    ol.add(a1, d0 * d1 * d2 * a, ROLE_WRITE);
  } else if (op == isa::OP_MOE_GATE) {
    ol.add(a0, d0 * d1 * a, ROLE_READ);
    ol.add(a1 + (int64_t)task * (int64_t)ins.imm(),
           weight_block_bytes<CFG>(d2, d1, CFG::linear_weight::BYTES), ROLE_WEIGHT);
    ol.add(a2, queue_layout_t(d2, d0).total, ROLE_WRITE);
  } else if (op == isa::OP_MOE_EXPERTS) {
    const uint64_t wb = CFG::linear_weight::BYTES, bb = CFG::bias::BYTES;
    ol.add(a0, d0 * d1 * a, ROLE_READ);
    ol.add(a1, d0 * d1 * a, ROLE_WRITE);
    ol.add(a2, d3 * weight_block_bytes<CFG>(d2, d1, wb), ROLE_WEIGHT);
    ol.add(a3, d3 * bias_block_bytes<CFG>(d2, bb), ROLE_WEIGHT);
    ol.add(a4, d3 * weight_block_bytes<CFG>(d1, d2, wb), ROLE_WEIGHT);
    ol.add(a5, d3 * bias_block_bytes<CFG>(d1, bb), ROLE_WEIGHT);
    ol.add(a6, queue_layout_t(d3, d0).total, ROLE_READ);
    ol.add(a7, d0 * d2 * a, ROLE_WRITE);
    if (ins.has(isa::FLAG_RESIDUAL)) ol.add(a8, d0 * d1 * a, ROLE_READ);
  } else if (op == isa::OP_CONV) {
    const uint64_t k = d4 & 0xFF, s = (d4 >> 8) & 0xFF, p = (d4 >> 16) & 0xFF;
    const int64_t oh = conv_out_size((int64_t)d0, k, s, p);
    const int64_t ow = conv_out_size((int64_t)d1, k, s, p);
    const uint64_t src_elem = ins.has(isa::FLAG_PIXEL_INPUT) ? (uint64_t)CFG::pixel::BYTES : a;
    const uint64_t dst = (uint64_t)em_max(oh, 0) * (uint64_t)em_max(ow, 0) * d3 * a;
    ol.add(a0, d0 * d1 * d2 * src_elem, ROLE_READ);
    ol.add(a1, dst, ROLE_WRITE);
    ol.add(a2, weight_block_bytes<CFG>(d3, d2 * k * k, weight_bytes_of<CFG>(ins)), ROLE_WEIGHT);
    ol.add(a3, bias_block_bytes<CFG>(d3, bias_bytes_of<CFG>(ins)), ROLE_WEIGHT);
    if (ins.has(isa::FLAG_RESIDUAL)) ol.add(a4, dst, ROLE_READ);
  } else if (op == isa::OP_UPSAMPLE) {
    const uint64_t n = d0 * d1 * d2 * a;
    ol.add(a0, n, ROLE_READ);
    ol.add(a1, 4 * n, ROLE_WRITE);
  } else if (op == isa::OP_ADD) {
    const uint64_t n = d0 * a;
    ol.add(a0, n, ROLE_READ);
    if (!ins.has(isa::FLAG_COPY)) ol.add(a1, n, ROLE_READ);
    ol.add(a2, n, ROLE_WRITE);
  }
}

/**
 * All checks of validate.check_instr; returns the first error code (ERR_OK when the
 * instruction may run).
 *
 * @tparam CFG design point (limits, formats, built ops).
 */
template <class CFG>
uint32_t check_instr(const instr_t& ins, uint64_t mem_bytes, uint32_t task) {
  const uint32_t op = ins.op();
  if (op >= isa::N_OPCODES) return isa::ERR_BAD_OPCODE;
  if (op != isa::OP_NOP && ((CFG::BUILT_OPS >> op) & 1) == 0) return isa::ERR_OP_NOT_BUILT;
  if (ins.flags() & ~isa::OP_FLAGS[op]) return isa::ERR_BAD_FLAGS;
  if (!shapes_ok<CFG>(ins)) return isa::ERR_BAD_SHAPE;
  operand_list ol;
  operands<CFG>(ins, task, ol);
CHECK_OPERANDS:
  for (int i = 0; i < ol.n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=isa::N_ADDRS
#pragma HLS PIPELINE II=1
    if (ol.off[i] & (isa::ALIGN - 1)) return isa::ERR_MISALIGNED;
    if (ol.off[i] < 0 || (uint64_t)ol.off[i] + ol.bytes[i] > mem_bytes) {
      return isa::ERR_OUT_OF_RANGE;
    }
  }
  return isa::ERR_OK;
}

/**
 * Bytes read and written (golden executor._traffic); weights count as fetched.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void traffic(const instr_t& ins, uint32_t task, profile_t& prof) {
  operand_list ol;
  operands<CFG>(ins, task, ol);
  uint64_t rd = 0, wr = 0;
TRAFFIC_SUM:
  for (int i = 0; i < ol.n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=isa::N_ADDRS
#pragma HLS PIPELINE II=1
    if (ol.role[i] == ROLE_READ) rd += ol.bytes[i];
    if (ol.role[i] == ROLE_WRITE) wr += ol.bytes[i];
  }
  prof.v[isa::PROF_BYTES_READ] = rd + prof.v[isa::PROF_WEIGHT_BYTES];
  prof.v[isa::PROF_BYTES_WRITTEN] = wr;
}

/**
 * Ideal cycles at full engine use (golden cycles.ideal_cycles).
 *
 * @tparam CFG design point (engine sizes).
 */
template <class CFG>
uint64_t ideal_cycles(const instr_t& ins, const profile_t& prof) {
  const uint32_t op = ins.op();
  const uint64_t po = CFG::P_OUT, pi = CFG::P_IN, lanes = CFG::ATTN_LANES, vec = CFG::VEC_LANES;
  const uint64_t d0 = ins.f(isa::FLD_D0), d1 = ins.f(isa::FLD_D1), d2 = ins.f(isa::FLD_D2);
  const uint64_t d3 = ins.f(isa::FLD_D3), d4 = ins.f(isa::FLD_D4);
  if (op == isa::OP_LINEAR) return d0 * ceil_div(d1, po) * ceil_div(d2, pi);
  if (op == isa::OP_CONV) {
    const int64_t k = d4 & 0xFF, s = (d4 >> 8) & 0xFF, p = (d4 >> 16) & 0xFF;
    const uint64_t px =
        (uint64_t)(conv_out_size((int64_t)d0, k, s, p) * conv_out_size((int64_t)d1, k, s, p));
    return px * ceil_div(d3, po) * ceil_div(d2 * (uint64_t)(k * k), pi);
  }
  if (op == isa::OP_MOE_EXPERTS) {
    const uint64_t per_token = 2 * ceil_div(d2, po) * ceil_div(d1, pi);
    const uint64_t div = 2 * d2 * d1 > 1 ? 2 * d2 * d1 : 1;
    return prof.v[isa::PROF_MACS] / div * per_token;
  }
  if (op == isa::OP_MOE_GATE) return d0 * ceil_div(d2, po) * ceil_div(d1, pi);
  if (op == isa::OP_ATTENTION) {
    const uint64_t steps = ceil_div(d0, lanes) * (d0 + lanes - 1);
    return 2 * d1 * steps * ceil_div(d2, 8);
  }
  if (op == isa::OP_LAYERNORM) return 2 * d0 * ceil_div(d1, vec);
  if (op == isa::OP_UPSAMPLE) return 4 * d0 * d1 * ceil_div(d2, vec);
  if (op == isa::OP_ADD) return ceil_div(d0, vec);
  return 1;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ISA_HPP
