/**
 * @file em_linear_ops.hpp
 * @brief LINEAR and CONV on the unified linear engine (edgemoe/golden/linear_ops.py
 *        op_linear, op_conv): they fill the engine's job (em_linear_job.hpp) and run one
 *        pass.  The handlers are inlined into the dispatcher so that every op shares the
 *        one lin_run instance (see the top function's ALLOCATION pragma).
 */
#ifndef EDGEMOE_EM_LINEAR_OPS_HPP
#define EDGEMOE_EM_LINEAR_OPS_HPP

#include "em_linear.hpp"

namespace edgemoe {

/**
 * Weight + bias block bytes of the formats selected by the flags (profile weight_bytes);
 * W8A8: the channel multipliers, with codes out (a LINEAR's) the code multipliers too.
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline uint64_t fetched_weight_bytes(const instr_t& ins, uint64_t n, uint64_t k,
                                     const lin_q4& q4, bool codes_out) {
  const uint64_t scales = ins.has(isa::FLAG_WFMT_Q8 | isa::FLAG_WFMT_Q4)
                              ? bias_block_bytes<CFG>(n, 4) * (codes_out ? 2 : 1) : 0;
  const uint64_t w = q4.on ? q4_weight_bytes<CFG>(q4)
                           : weight_block_bytes<CFG>(n, k, weight_bytes_of<CFG>(ins));
  return w + bias_block_bytes<CFG>(n, bias_bytes_of<CFG>(ins)) + scales;
}

/**
 * A pass over [n, k] weights with the weight/bias formats the instruction's flags select.
 *
 * @tparam CFG design point.
 */
template <class CFG>
lin_pass lin_pass_of(const instr_t& ins, uint32_t tokens, uint32_t n, uint32_t k, uint64_t w_off,
                     uint64_t b_off, int x_frac) {
  lin_pass ps;
  ps.tokens = tokens;
  ps.n = n;
  ps.k = k;
  ps.w_off = w_off;
  ps.b_off = b_off;
  ps.has_bias = true;
  ps.x_frac = x_frac;
  if (ins.has(isa::FLAG_WFMT_PATCH)) ps.wfmt = fmt_of<typename CFG::patch_weight>();
  else if (ins.has(isa::FLAG_WFMT_CONV)) ps.wfmt = fmt_of<typename CFG::conv_weight>();
  else ps.wfmt = fmt_of<typename CFG::linear_weight>();
  ps.wfmt.sign = true;  // weights are read as signed containers
  ps.q8 = ins.has(isa::FLAG_WFMT_Q8 | isa::FLAG_WFMT_Q4);  // mixed: a W8A8 pass (em_int4.hpp)
  const lin_q4 dense = {false, 0, 0, 0, 0, 0, 0};
  ps.q4 = dense;
  ps.s_off = 0;
  ps.c_off = 0;
  ps.dq_shift = 0;
  ps.skip = false;
  ps.map_off = 0;
  if (ps.q8) {  // int8 codes; multipliers and shift are LINEAR's (op_linear sets them)
    const fmt_rt codes = {1, 0, true};
    ps.wfmt = codes;
  }
  ps.bfmt = ins.has(isa::FLAG_BFMT_ATTN) ? fmt_of<typename CFG::attn_bias>()
                                         : fmt_of<typename CFG::bias>();
  const lin_next none = {false, 0, 0, 0, 0};
  ps.after = none;
  return ps;
}

/**
 * LINEAR (golden op_linear): optional dynamic token count, gather/scatter through an
 * index list, GELU/ReLU epilogue, residual add or score-scaled accumulate.
 * Returns ERR_BAD_QUEUE, before writing anything, for a bad count or index list.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_linear(typename CFG::word_t* mem, const typename CFG::word_t* wmem,
                   const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                   lin_buffers<CFG>& lb, const instr_t& ins, profile_t& prof) {
#pragma HLS INLINE  // its lin_run call joins the dispatcher's single engine instance
  const uint32_t tokens = ins.f(isa::FLD_LINEAR_TOKENS);
  const uint32_t n = ins.f(isa::FLD_LINEAR_OUT_FEATURES), k = ins.f(isa::FLD_LINEAR_IN_FEATURES);
  const uint32_t rows = ins.f(isa::FLD_D3);
  uint32_t t = tokens;
  if (ins.has(isa::FLAG_DYN_COUNT)) {
    t = load_u32<CFG>(mem, ins.f(isa::FLD_LINEAR_COUNT));
    if (t > tokens) return isa::ERR_BAD_QUEUE;
  }
  lin_job<CFG>& job = lb.job;
  job.kind = JOB_LINEAR;
  job.src = ins.f(isa::FLD_LINEAR_SRC);
  job.dst = ins.f(isa::FLD_LINEAR_DST);
  job.base_off = ins.has(isa::FLAG_SCORE_ACC) ? job.dst : (uint64_t)ins.f(isa::FLD_LINEAR_RESIDUAL);
  job.index = ins.f(isa::FLD_LINEAR_INDEX);
  job.scores = ins.f(isa::FLD_LINEAR_SCORES);
  job.n = n;
  job.k = k;
  job.flags = ins.flags();
  job.x_mul = (int32_t)ins.f(isa::FLD_LINEAR_X_MUL);
  job.overflows = 0;
  // W8A8 d4 (edgemoe/isa.py pack_linear_q8): dq_shift, then int8 code rows in and out
  // (out: column c coded with code_muls[c], after the channel multipliers in scales)
  const uint32_t q8_word = ins.f(isa::FLD_LINEAR_Q8_SHIFT_CODES);
  const bool q8 = ins.has(isa::FLAG_WFMT_Q8);
  const bool codes_out = q8 && ((q8_word >> CFG::LINEAR_CODES_OUT_BIT) & 1);
  job.hidden_x_mul = 0;
  job.hidden_codes = (codes_out ? (uint32_t)(HC_OUT | HC_MULS) : 0u) |
                     (q8 && ((q8_word >> CFG::LINEAR_CODES_IN_BIT) & 1) ? (uint32_t)HC_IN : 0u);
  if (ins.flags() & (isa::FLAG_GATHER | isa::FLAG_SCATTER)) {
  LIN_CHECK_INDEX:
    for (uint32_t i = 0; i < t; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
      const int64_t r = load_elem<CFG, 4, true>(mem, job.index + 4 * (uint64_t)i);
      if (r < 0 || r >= (int64_t)rows) return isa::ERR_BAD_QUEUE;
    }
  }
  lin_pass ps = lin_pass_of<CFG>(ins, t, n, k, ins.f(isa::FLD_LINEAR_WEIGHTS),
                                 ins.f(isa::FLD_LINEAR_BIAS), CFG::act::FRAC);
  ps.s_off = ins.f(isa::FLD_LINEAR_SCALES);
  ps.c_off = codes_out ? ps.s_off + bias_block_bytes<CFG>(n, 4) : 0;  // layout.code_muls_offset
  ps.dq_shift = (int)(q8_word & ((1u << CFG::MOE_DQ_BITS) - 1));
  ps.skip = ins.has(isa::FLAG_WSKIP);
  ps.map_off = ins.f(isa::FLD_LINEAR_TILE_MAP);
  if (ins.has(isa::FLAG_WFMT_Q4)) {  // mixed int4/int8 rows (numerics.int4.unpack_split)
    const uint32_t split = ins.f(isa::FLD_LINEAR_Q4_SPLIT);
    const lin_q4 q4 = {true, ps.w_off, ins.f(isa::FLD_LINEAR_CHANNEL_INDEX), n, k,
                       split & 0xFFFF, split >> 16};
    if (!q4_index_ok<CFG>(mem, q4.idx_off, n)) return isa::ERR_BAD_QUEUE;
    ps.q4 = q4;
  }
  lin_run<CFG>(mem, wmem, xmem, ymem, lb, ps);
  prof.v[isa::PROF_OVERFLOWS] += job.overflows;
  prof.v[isa::PROF_MACS] += (uint64_t)t * n * k;
  prof.v[isa::PROF_WEIGHT_BYTES] += fetched_weight_bytes<CFG>(ins, n, k, ps.q4, codes_out);
  return isa::ERR_OK;
}

/**
 * CONV (golden op_conv) lowered onto the linear engine: every output pixel is one token
 * whose input row is its im2col column (ordered channel, ky, kx).
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_conv(typename CFG::word_t* mem, const typename CFG::word_t* wmem,
                 const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                 lin_buffers<CFG>& lb, const instr_t& ins, profile_t& prof) {
#pragma HLS INLINE  // its lin_run call joins the dispatcher's single engine instance
  lin_job<CFG>& job = lb.job;
  const uint32_t ksp = ins.f(isa::FLD_CONV_KERNEL_STRIDE_PAD);
  job.kind = JOB_CONV;
  job.hidden_codes = 0;
  job.flags = ins.flags();
  job.overflows = 0;
  job.kernel = ksp & 0xFF;
  job.stride = (ksp >> 8) & 0xFF;
  job.pad = (ksp >> 16) & 0xFF;
  job.h = ins.f(isa::FLD_CONV_IN_H);
  job.w = ins.f(isa::FLD_CONV_IN_W);
  job.ci = ins.f(isa::FLD_CONV_IN_CH);
  job.co = ins.f(isa::FLD_CONV_OUT_CH);
  job.src = ins.f(isa::FLD_CONV_SRC);
  job.dst = ins.f(isa::FLD_CONV_DST);
  job.residual = ins.f(isa::FLD_CONV_RESIDUAL);
  const uint32_t oh = (uint32_t)conv_out_size(job.h, job.kernel, job.stride, job.pad);
  job.oh = oh;
  job.ow = (uint32_t)conv_out_size(job.w, job.kernel, job.stride, job.pad);
  const uint32_t k = job.ci * job.kernel * job.kernel;
  // edgemoe/layout.py conv_uses_line
  job.use_line = CFG::CONV_LINE_WORDS > 0 && !ins.has(isa::FLAG_PIXEL_INPUT) &&
             job.ci % CFG::P_IN == 0 &&
             (uint64_t)(job.kernel + job.stride) * job.w * job.ci <=
                 (uint64_t)CFG::CONV_LINE_WORDS;
  const int x_frac = ins.has(isa::FLAG_PIXEL_INPUT) ? CFG::pixel::FRAC : CFG::act::FRAC;
  lin_pass ps = lin_pass_of<CFG>(ins, oh * job.ow, job.co, k, ins.f(isa::FLD_CONV_WEIGHTS),
                                 ins.f(isa::FLD_CONV_BIAS), x_frac);
  job.x_mul = (int32_t)ins.f(isa::FLD_CONV_X_MUL);  // W8A8 (golden conv_q8), else unused
  ps.s_off = ins.f(isa::FLD_CONV_SCALES);
  ps.dq_shift = (int)(ksp >> 24);
  lin_run<CFG>(mem, wmem, xmem, ymem, lb, ps);
  prof.v[isa::PROF_OVERFLOWS] += job.overflows;
  prof.v[isa::PROF_MACS] += (uint64_t)oh * job.ow * job.co * k;
  const lin_q4 dense = {false, 0, 0, 0, 0, 0, 0};
  prof.v[isa::PROF_WEIGHT_BYTES] += fetched_weight_bytes<CFG>(ins, job.co, k, dense, false);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_OPS_HPP
