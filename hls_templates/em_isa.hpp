/**
 * @file em_isa.hpp
 * @brief Instruction decoding and the per-instruction checks of edgemoe/validate.py:
 *        same error codes, same order of checks, same operand extents.  Also the traffic
 *        figures written to the profile (edgemoe/golden/executor.py).  What each opcode
 *        means (limits, operands, aliases, cycles) is the generated edgemoe_ops.hpp.
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

/** Memory operands of an instruction, in op-spec order (validate.operand_extents). */
struct operand_list {
  int n;
  int64_t off[isa::N_ADDRS];
  uint64_t bytes[isa::N_ADDRS];
  int role[isa::N_ADDRS];
  int index[isa::N_ADDRS];  // position in the op spec's operand list (alias_ok)
  void add(int64_t o, uint64_t b, int r, int k) {
    off[n] = o;
    bytes[n] = b;
    role[n] = r;
    index[n] = k;
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
  if (ins.has(isa::FLAG_WFMT_Q8)) return 1;  // int8 codes (edgemoe/numerics/int8.py)
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

}  // namespace edgemoe

// shapes_ok, operands, alias_ok, ideal_cycles: rendered from the op spec (edgemoe/ops.py)
#include "edgemoe_ops.hpp"

namespace edgemoe {

/**
 * All checks of validate.check_instr; returns the first error code (ERR_OK when the
 * instruction may run).
 *
 * @tparam CFG design point (limits, formats, built ops).
 */
template <class CFG>
uint32_t check_instr(const instr_t& ins, uint64_t mem_bytes, uint32_t task) {
  const uint32_t op = ins.op();
  if (op >= isa::N_OPCODES || ((isa::OPCODES_KNOWN >> op) & 1) == 0) return isa::ERR_BAD_OPCODE;
  if (op != isa::OP_NOP && ((CFG::BUILT_OPS >> op) & 1) == 0) return isa::ERR_OP_NOT_BUILT;
  if (ins.flags() & ~isa::OP_FLAGS[op]) return isa::ERR_BAD_FLAGS;
  if ((ins.flags() & isa::OP_REQUIRED_FLAGS[op]) != isa::OP_REQUIRED_FLAGS[op])
    return isa::ERR_BAD_FLAGS;
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
  // a written operand may not overlap another one, except an exact alias the spec allows
CHECK_OVERLAP:
  for (int i = 0; i < ol.n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=isa::N_ADDRS
  CHECK_OVERLAP_PAIR:
    for (int j = i + 1; j < ol.n; j++) {
#pragma HLS LOOP_TRIPCOUNT max=isa::N_ADDRS
#pragma HLS PIPELINE II=1
      if (ol.role[i] != ROLE_WRITE && ol.role[j] != ROLE_WRITE) continue;
      if (ol.bytes[i] == 0 || ol.bytes[j] == 0) continue;
      const int64_t end_i = ol.off[i] + (int64_t)ol.bytes[i];
      const int64_t end_j = ol.off[j] + (int64_t)ol.bytes[j];
      if (ol.off[i] >= end_j || ol.off[j] >= end_i) continue;
      const bool exact = ol.off[i] == ol.off[j] && ol.bytes[i] == ol.bytes[j];
      if (!(exact && alias_ok(op, ol.index[i], ol.index[j]))) return isa::ERR_OVERLAP;
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

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ISA_HPP
