/**
 * @file em_moe.hpp
 * @brief MOE_GATE (router logits on the linear engine, single-pass softmax, a correct
 *        top-k with ties to the lower expert index, expert queues = patch reordering) and
 *        MOE_EXPERTS (per active expert: fc1 + GELU on its gathered tokens, fc2 scaled by
 *        the router score and scatter-added), as edgemoe/golden/linear_ops.py defines them.
 *
 * Queue region (edgemoe/layout.py queue_layout): u32 counts[experts] padded to 64 bytes,
 * then per expert `slot` bytes of int32 token indices, then per expert `slot` bytes of raw
 * scores.  MOE_GATE rewrites the whole region (unused entries zero).
 */
#ifndef EDGEMOE_EM_MOE_HPP
#define EDGEMOE_EM_MOE_HPP

#include "em_linear.hpp"

namespace edgemoe {

/** MOE_GATE's row source and logit sink. @tparam CFG design point. */
template <class CFG>
struct gate_job {
  typedef typename CFG::act ACT;
  uint64_t src;
  uint32_t d;
  int64_t logits[CFG::MAX_TOKENS][CFG::MAX_EXPERTS];

  void load_row(typename CFG::word_t* mem, uint32_t t, typename CFG::xbuf_t (&x)[CFG::XROW],
                uint32_t padded) {
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + (uint64_t)t * d * ACT::BYTES, d, x);
    pad_row<CFG>(x, d, padded);
  }

  void emit(typename CFG::word_t*, uint32_t t, uint32_t col0, uint32_t ncols,
            const int64_t (&acc)[CFG::MAX_ROW_OUT], int acc_frac) {
  GATE_LOGITS:
    for (uint32_t j = 0; j < ncols; j++) {
      logits[t][col0 + j] = quant_rt<ACT, CFG::QMAX>(acc[j], acc_frac);
    }
  }
};

/**
 * MOE_GATE: logits = q(x . w_gate[task]), online softmax over the experts in index order,
 * top-k by logit (ties -> lower index), scores = exp(l - max) * recip(sum) (not
 * renormalised), then (token, score) appended to each chosen expert's queue in token order.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_moe_gate(typename CFG::word_t* mem, lin_buffers<CFG>& lb, const instr_t& ins,
                     uint32_t task, profile_t& prof) {
  typedef typename CFG::act ACT;
  const uint32_t t = ins.f(isa::FLD_MOE_GATE_TOKENS), d = ins.f(isa::FLD_MOE_GATE_DIM);
  const uint32_t e = ins.f(isa::FLD_MOE_GATE_EXPERTS), top_k = ins.f(isa::FLD_MOE_GATE_TOP_K);
  const uint64_t q = ins.f(isa::FLD_MOE_GATE_QUEUES);
  const uint64_t w_off = (uint64_t)((int64_t)ins.f(isa::FLD_MOE_GATE_W_GATE) +
                                    (int64_t)task * (int64_t)ins.imm());
  static gate_job<CFG> job;
  job.src = ins.f(isa::FLD_MOE_GATE_SRC);
  job.d = d;
  const lin_next none = {false, 0, 0, 0, 0};
  lin_run<CFG, typename CFG::linear_weight, typename CFG::bias>(mem, lb, job, t, e, d, w_off, 0,
                                                                 false, ACT::FRAC, none);
  uint32_t counts[CFG::MAX_EXPERTS];
  int64_t q_index[CFG::MAX_EXPERTS][CFG::QUEUE_SLOT_WORDS];
  int64_t q_score[CFG::MAX_EXPERTS][CFG::QUEUE_SLOT_WORDS];
  const queue_layout_t lay(e, t);
  const uint32_t slot_words = (uint32_t)(lay.slot / 4);
GATE_CLEAR:
  for (uint32_t x = 0; x < e; x++) {
    counts[x] = 0;
  GATE_CLEAR_SLOT:
    for (uint32_t s = 0; s < slot_words; s++) {
      q_index[x][s] = 0;
      q_score[x][s] = 0;
    }
  }
GATE_TOKENS:
  for (uint32_t tok = 0; tok < t; tok++) {
    int64_t bias = raw_min<ACT>(), sum = 0;
  GATE_SOFTMAX:
    for (uint32_t x = 0; x < e; x++) softmax_update<ACT>(bias, sum, job.logits[tok][x]);
    const int64_t recip = reciprocal<ACT::FRAC, ACT>(sum);
    // streaming top-k: a later expert displaces an earlier one only with a larger logit
    int64_t best[CFG::MAX_TOP_K];
    uint32_t best_idx[CFG::MAX_TOP_K];
    uint32_t filled = 0;
  GATE_TOPK:
    for (uint32_t x = 0; x < e; x++) {
      const int64_t v = job.logits[tok][x];
      uint32_t pos = filled;
    GATE_TOPK_FIND:
      for (uint32_t j = 0; j < filled; j++) {
        if (pos == filled && v > best[j]) pos = j;
      }
      if (pos < top_k) {
        const uint32_t last = filled < top_k ? filled : top_k - 1;
      GATE_TOPK_SHIFT:
        for (uint32_t j = last; j > pos; j--) {
          best[j] = best[j - 1];
          best_idx[j] = best_idx[j - 1];
        }
        best[pos] = v;
        best_idx[pos] = x;
        if (filled < top_k) filled++;
      }
    }
  GATE_APPEND:
    for (uint32_t j = 0; j < top_k; j++) {
      const uint32_t x = best_idx[j];
      q_index[x][counts[x]] = tok;
      q_score[x][counts[x]] = softmax_prob<ACT>(best[j], bias, recip);
      counts[x]++;
    }
  }
  int64_t count_words[CFG::MAX_EXPERTS + 16];
  const uint32_t count_slots = (uint32_t)(lay.index / 4);
GATE_COUNTS:
  for (uint32_t x = 0; x < count_slots; x++) count_words[x] = x < e ? (int64_t)counts[x] : 0;
  write_row<CFG, 4>(mem, q, count_slots, count_words);
GATE_WRITE_QUEUES:
  for (uint32_t x = 0; x < e; x++) {
    write_row<CFG, 4>(mem, q + lay.index + (uint64_t)x * lay.slot, slot_words, q_index[x]);
    write_row<CFG, 4>(mem, q + lay.scores + (uint64_t)x * lay.slot, slot_words, q_score[x]);
  }
  prof.v[isa::PROF_MACS] += (uint64_t)t * d * e;
  prof.v[isa::PROF_WEIGHT_BYTES] += weight_block_bytes<CFG>(e, d, CFG::linear_weight::BYTES);
  return isa::ERR_OK;
}

/** The two linears of one expert: fc1 (+GELU) into scratch, fc2 scaled and scatter-added.
 *  @tparam CFG design point. */
template <class CFG>
struct expert_job {
  typedef typename CFG::act ACT;
  uint64_t src, dst, scratch;
  uint32_t d, h;
  bool second;  // false: fc1 (gathered tokens -> scratch), true: fc2 (scratch -> dst)
  int64_t idx[CFG::MAX_TOKENS];
  int64_t score[CFG::MAX_TOKENS];

  void load_row(typename CFG::word_t* mem, uint32_t i, typename CFG::xbuf_t (&x)[CFG::XROW],
                uint32_t padded) {
    if (second) {
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, scratch + (uint64_t)i * h * ACT::BYTES, h, x);
      pad_row<CFG>(x, h, padded);
    } else {
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + (uint64_t)idx[i] * d * ACT::BYTES, d, x);
      pad_row<CFG>(x, d, padded);
    }
  }

  void emit(typename CFG::word_t* mem, uint32_t i, uint32_t col0, uint32_t ncols,
            const int64_t (&acc)[CFG::MAX_ROW_OUT], int acc_frac) {
    int64_t y[CFG::MAX_ROW_OUT];
    if (!second) {
    EXP_FC1_EPILOGUE:
      for (uint32_t j = 0; j < ncols; j++) {
#pragma HLS PIPELINE II=1
        y[j] = gelu<ACT>(quant_rt<ACT, CFG::QMAX>(acc[j], acc_frac));
      }
      write_row<CFG, ACT::BYTES>(mem, scratch + ((uint64_t)i * h + col0) * ACT::BYTES, ncols, y);
      return;
    }
    const uint64_t row = ((uint64_t)idx[i] * d + col0) * ACT::BYTES;
    int64_t base[CFG::MAX_ROW_OUT];
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, dst + row, ncols, base);
  EXP_FC2_EPILOGUE:
    for (uint32_t j = 0; j < ncols; j++) {
#pragma HLS PIPELINE II=1
      const int64_t v = quant_rt<ACT, CFG::QMAX>(acc[j], acc_frac);
      const int64_t contrib = quant<ACT, 2 * ACT::FRAC>(mul_wrap(score[i], v));
      y[j] = quant<ACT, ACT::FRAC>(add_wrap(base[j], contrib));
    }
    write_row<CFG, ACT::BYTES>(mem, dst + row, ncols, y);
  }
};

/**
 * MOE_EXPERTS: dst = residual (or 0); then for every expert with a non-empty queue
 * fc1 + GELU on its tokens -> scratch rows 0..c-1, fc2 -> dst[token] += q(score * y).
 * All queues are checked first, so a bad queue (ERR_BAD_QUEUE) leaves memory untouched.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_moe_experts(typename CFG::word_t* mem, lin_buffers<CFG>& lb, const instr_t& ins,
                        profile_t& prof) {
  typedef typename CFG::act ACT;
  typedef typename CFG::linear_weight LW;
  typedef typename CFG::bias BF;
  const uint32_t t = ins.f(isa::FLD_MOE_EXPERTS_TOKENS), d = ins.f(isa::FLD_MOE_EXPERTS_DIM);
  const uint32_t h = ins.f(isa::FLD_MOE_EXPERTS_HIDDEN), e = ins.f(isa::FLD_MOE_EXPERTS_EXPERTS);
  const uint64_t q = ins.f(isa::FLD_MOE_EXPERTS_QUEUES);
  const queue_layout_t lay(e, t);
  uint32_t counts[CFG::MAX_EXPERTS];
  read_row<CFG, 4, false>(mem, q, e, counts);
EXP_CHECK_COUNTS:
  for (uint32_t x = 0; x < e; x++) {
    if (counts[x] > t) return isa::ERR_BAD_QUEUE;
  }
  bool seen[CFG::MAX_TOKENS];
EXP_CHECK_QUEUES:
  for (uint32_t x = 0; x < e; x++) {
  EXP_CHECK_RESET:
    for (uint32_t i = 0; i < t; i++) seen[i] = false;
  EXP_CHECK_ENTRIES:
    for (uint32_t i = 0; i < counts[x]; i++) {
      const uint64_t at = q + lay.index + x * lay.slot + 4 * (uint64_t)i;
      const int64_t r = load_elem<CFG, 4, true>(mem, at);
      if (r < 0 || r >= (int64_t)t || seen[r]) return isa::ERR_BAD_QUEUE;
      seen[r] = true;
    }
  }
  const uint64_t dst = ins.f(isa::FLD_MOE_EXPERTS_DST);
  int64_t row[CFG::XROW];
EXP_INIT_DST:
  for (uint32_t i = 0; i < t; i++) {
    if (ins.has(isa::FLAG_RESIDUAL)) {
      const uint64_t res = ins.f(isa::FLD_MOE_EXPERTS_RESIDUAL);
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, res + (uint64_t)i * d * ACT::BYTES, d, row);
    } else {
    EXP_ZERO_ROW:
      for (uint32_t j = 0; j < d; j++) row[j] = 0;
    }
    write_row<CFG, ACT::BYTES>(mem, dst + (uint64_t)i * d * ACT::BYTES, d, row);
  }
  const uint64_t w1_stride = weight_block_bytes<CFG>(h, d, LW::BYTES);
  const uint64_t w2_stride = weight_block_bytes<CFG>(d, h, LW::BYTES);
  const uint64_t b1_stride = bias_block_bytes<CFG>(h, BF::BYTES);
  const uint64_t b2_stride = bias_block_bytes<CFG>(d, BF::BYTES);
  static expert_job<CFG> job;
  job.src = ins.f(isa::FLD_MOE_EXPERTS_SRC);
  job.dst = dst;
  job.scratch = ins.f(isa::FLD_MOE_EXPERTS_SCRATCH);
  job.d = d;
  job.h = h;
  const uint64_t w1 = ins.f(isa::FLD_MOE_EXPERTS_W1), b1 = ins.f(isa::FLD_MOE_EXPERTS_B1);
  const uint64_t w2 = ins.f(isa::FLD_MOE_EXPERTS_W2), b2 = ins.f(isa::FLD_MOE_EXPERTS_B2);
EXP_EXPERTS:
  for (uint32_t x = 0; x < e; x++) {
    const uint32_t c = counts[x];
    if (c == 0) continue;
    uint32_t following = x + 1;  // the next expert with tokens: its fc1 preloads during our fc2
  EXP_FIND_NEXT:
    while (following < e && counts[following] == 0) following++;
    read_row<CFG, 4, true>(mem, q + lay.index + x * lay.slot, c, job.idx);
    read_row<CFG, 4, true>(mem, q + lay.scores + x * lay.slot, c, job.score);
    const lin_next fc2 = {true, w2 + x * w2_stride, b2 + x * b2_stride, d, h};
    const lin_next next_fc1 = {following < e, w1 + following * w1_stride,
                               b1 + following * b1_stride, h, d};
    job.second = false;
    lin_run<CFG, LW, BF>(mem, lb, job, c, h, d, w1 + x * w1_stride, b1 + x * b1_stride, true,
                         ACT::FRAC, fc2);
    job.second = true;
    lin_run<CFG, LW, BF>(mem, lb, job, c, d, h, w2 + x * w2_stride, b2 + x * b2_stride, true,
                         ACT::FRAC, next_fc1);
    prof.v[isa::PROF_MACS] += 2 * (uint64_t)c * d * h;
    prof.v[isa::PROF_WEIGHT_BYTES] += w1_stride + b1_stride + w2_stride + b2_stride;
    prof.v[isa::PROF_EXPERTS_ACTIVE] += 1;
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_MOE_HPP
