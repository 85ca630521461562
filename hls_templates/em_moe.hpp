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

#include "em_linear_ops.hpp"

namespace edgemoe {

/**
 * The router: online softmax over the experts in index order, top-k by logit (ties ->
 * lower index), scores = exp(l - max) * recip(sum) (not renormalised), then (token,
 * score) appended to each chosen expert's queue in token order; writes the queue region.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void moe_route(typename CFG::word_t* mem, const int64_t (&logits)[CFG::MAX_TOKENS][CFG::MAX_EXPERTS],
               uint32_t t, uint32_t e, uint32_t top_k, uint64_t q, uint64_t& overflows) {
#pragma HLS INLINE off  // the router: one instance
  typedef typename CFG::act ACT;
  uint32_t counts[CFG::MAX_EXPERTS];
  int64_t q_index[CFG::MAX_EXPERTS][CFG::QUEUE_SLOT_WORDS];
  int64_t q_score[CFG::MAX_EXPERTS][CFG::QUEUE_SLOT_WORDS];
#pragma HLS ARRAY_PARTITION variable=counts type=complete  // top-k appends to any expert
  const queue_layout_t lay(e, t);
  const uint32_t slot_words = (uint32_t)(lay.slot / 4);
GATE_CLEAR:
  for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
    counts[x] = 0;
  GATE_CLEAR_SLOT:
    for (uint32_t s = 0; s < slot_words; s++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::QUEUE_SLOT_WORDS
#pragma HLS PIPELINE II=1
      q_index[x][s] = 0;
      q_score[x][s] = 0;
    }
  }
GATE_TOKENS:
  for (uint32_t tok = 0; tok < t; tok++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    int64_t bias = raw_min<ACT>(), sum = 0;
  GATE_SOFTMAX:
    for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
#pragma HLS PIPELINE  // the running max/sum recurrence bounds the II
      softmax_update<ACT>(bias, sum, logits[tok][x]);
    }
    const int64_t recip = reciprocal<ACT::FRAC, ACT>(sum);
    // streaming top-k: a later expert displaces an earlier one only with a larger logit
    int64_t best[CFG::MAX_TOP_K];
    uint32_t best_idx[CFG::MAX_TOP_K];
#pragma HLS ARRAY_PARTITION variable=best type=complete  // compared and shifted in parallel
#pragma HLS ARRAY_PARTITION variable=best_idx type=complete
    uint32_t filled = 0;
  GATE_TOPK:
    for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
#pragma HLS PIPELINE
      topk_offer(best, best_idx, filled, top_k, logits[tok][x], x);
    }
  GATE_APPEND:
    for (uint32_t j = 0; j < top_k; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOP_K
#pragma HLS PIPELINE II=1
      const uint32_t x = best_idx[j];
      q_index[x][counts[x]] = tok;
      q_score[x][counts[x]] = softmax_prob_counted<ACT>(best[j], bias, recip, overflows);
      counts[x]++;
    }
  }
  int64_t count_words[CFG::COUNT_SLOTS];
  const uint32_t count_slots = (uint32_t)(lay.index / 4);
GATE_COUNTS:
  for (uint32_t x = 0; x < (uint32_t)CFG::COUNT_SLOTS; x++) {
#pragma HLS PIPELINE II=1
    count_words[x] = x < e ? (int64_t)counts[x] : 0;
  }
  write_row<CFG, 4>(mem, q, count_slots, count_words);
GATE_WRITE_QUEUES:
  for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
    write_row<CFG, 4>(mem, q + lay.index + (uint64_t)x * lay.slot, slot_words, q_index[x]);
    write_row<CFG, 4>(mem, q + lay.scores + (uint64_t)x * lay.slot, slot_words, q_score[x]);
  }
}

/**
 * MOE_GATE: logits = q(x . w_gate[task]) on the linear engine, then the router.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_moe_gate(typename CFG::word_t* mem, const typename CFG::word_t* wmem,
                     const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                     lin_buffers<CFG>& lb, const instr_t& ins, uint32_t task, profile_t& prof) {
#pragma HLS INLINE  // its lin_run call joins the dispatcher's single engine instance
  typedef typename CFG::act ACT;
  const uint32_t t = ins.f(isa::FLD_MOE_GATE_TOKENS), d = ins.f(isa::FLD_MOE_GATE_DIM);
  const uint32_t e = ins.f(isa::FLD_MOE_GATE_EXPERTS), top_k = ins.f(isa::FLD_MOE_GATE_TOP_K);
  const uint64_t w_off = (uint64_t)((int64_t)ins.f(isa::FLD_MOE_GATE_W_GATE) +
                                    (int64_t)task * (int64_t)ins.imm());
  lin_job<CFG>& job = lb.job;
  job.kind = JOB_GATE;
  job.hidden_codes = 0;
  job.overflows = 0;
  job.src = ins.f(isa::FLD_MOE_GATE_SRC);
  job.d = d;
  lin_pass ps = lin_pass_of<CFG>(ins, t, e, d, w_off, 0, ACT::FRAC);
  ps.has_bias = false;
  lin_run<CFG>(mem, wmem, xmem, ymem, lb, ps);
  moe_route<CFG>(mem, lb.logits, t, e, top_k, ins.f(isa::FLD_MOE_GATE_QUEUES), job.overflows);
  prof.v[isa::PROF_OVERFLOWS] += job.overflows;  // logits and the chosen scores
  prof.v[isa::PROF_MACS] += (uint64_t)t * d * e;
  prof.v[isa::PROF_WEIGHT_BYTES] += weight_block_bytes<CFG>(e, d, CFG::linear_weight::BYTES);
  return isa::ERR_OK;
}

/**
 * Check every expert queue (counts within t, indices in range and distinct per expert).
 *
 * @tparam CFG design point.
 * @return ERR_OK or ERR_BAD_QUEUE.
 */
template <class CFG>
uint32_t moe_check_queues(const typename CFG::word_t* mem, uint64_t q, const queue_layout_t& lay,
                          const uint32_t (&counts)[CFG::MAX_EXPERTS], uint32_t t, uint32_t e) {
EXP_CHECK_COUNTS:
  for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
#pragma HLS PIPELINE II=1
    if (counts[x] > t) return isa::ERR_BAD_QUEUE;
  }
  bool seen[CFG::MAX_TOKENS];
EXP_CHECK_QUEUES:
  for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
  EXP_CHECK_RESET:
    for (uint32_t i = 0; i < t; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
      seen[i] = false;
    }
  EXP_CHECK_ENTRIES:
    for (uint32_t i = 0; i < counts[x]; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
      const uint64_t at = q + lay.index + x * lay.slot + 4 * (uint64_t)i;
      const int64_t r = load_elem<CFG, 4, true>(mem, at);
      if (r < 0 || r >= (int64_t)t || seen[r]) return isa::ERR_BAD_QUEUE;
      seen[r] = true;
    }
  }
  return isa::ERR_OK;
}

/**
 * MOE_EXPERTS: dst = residual (or 0); then for every expert with a non-empty queue
 * fc1 + GELU on its tokens -> scratch rows 0..c-1, fc2 -> dst[token] += q(score * y).
 * W8A8 (and mixed): the scratch rows are fc2's int8 input codes, a byte an element
 * (edgemoe/numerics/int8.py hidden_codes; em_linear_job.hpp).
 * All queues are checked first, so a bad queue (ERR_BAD_QUEUE) leaves memory untouched.
 * Pass 2x is expert x's fc1, pass 2x+1 its fc2: one engine call for all of them.
 * With FLAG_WFMT_Q8 both run W8A8 (em_int8.hpp): fc1's input multiplier is x_mul, fc2's
 * and the shared dq_shift are packed in d4 (edgemoe/isa.py pack_moe_q8).  With FLAG_WSKIP
 * each expert's fc1 and fc2 zero-tile maps sit where W8A8 keeps its multipliers
 * (layout.moe_tile_map_offset) and the engine skips the tiles they mark.  With
 * FLAG_WFMT_Q4 each layer has int8 and int4 rows (em_int4.hpp moe_q4_setup: d4 holds
 * their shapes, the W8A8 d4 word sits at the end of b1) and runs through lin_load_q4.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_moe_experts(typename CFG::word_t* mem, const typename CFG::word_t* wmem,
                        const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                        lin_buffers<CFG>& lb, const instr_t& ins, profile_t& prof) {
#pragma HLS INLINE  // its lin_run call joins the dispatcher's single engine instance
  typedef typename CFG::act ACT;
  typedef typename CFG::linear_weight LW;
  typedef typename CFG::bias BF;
  const uint32_t t = ins.f(isa::FLD_MOE_EXPERTS_TOKENS), d = ins.f(isa::FLD_MOE_EXPERTS_DIM);
  const uint32_t h = ins.f(isa::FLD_MOE_EXPERTS_HIDDEN), e = ins.f(isa::FLD_MOE_EXPERTS_EXPERTS);
  const uint64_t q = ins.f(isa::FLD_MOE_EXPERTS_QUEUES);
  const queue_layout_t lay(e, t);
  uint32_t counts[CFG::MAX_EXPERTS];
  read_row<CFG, 4, false>(mem, q, e, counts);
  const uint32_t bad = moe_check_queues<CFG>(mem, q, lay, counts, t, e);
  if (bad != isa::ERR_OK) return bad;
  const bool q4 = ins.has(isa::FLAG_WFMT_Q4);  // mixed int8/int4 rows (em_int4.hpp)
  moe_q4 mix = {{0, 0}, {1, 1}, {0, 0}, 0};
  const uint32_t bad_q4 = q4 ? moe_q4_setup<CFG>(mem, ins, e, d, h, mix) : (uint32_t)isa::ERR_OK;
  if (bad_q4 != isa::ERR_OK) return bad_q4;
  const uint64_t dst = ins.f(isa::FLD_MOE_EXPERTS_DST);
  int64_t row[CFG::XROW];
EXP_INIT_DST:
  for (uint32_t i = 0; i < t; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    if (ins.has(isa::FLAG_RESIDUAL)) {
      const uint64_t res = ins.f(isa::FLD_MOE_EXPERTS_RESIDUAL);
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, res + (uint64_t)i * d * ACT::BYTES, d, row);
    } else {
    EXP_ZERO_ROW:
      for (uint32_t j = 0; j < d; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
        row[j] = 0;
      }
    }
    // dst is accumulated by fc2 through the same activation-out port
    write_row<CFG, ACT::BYTES>(ymem, dst + (uint64_t)i * d * ACT::BYTES, d, row);
  }
  // W8A8 (FLAG_WFMT_Q8): int8 codes; every expert's multipliers after all experts' biases
  const bool q8 = ins.has(isa::FLAG_WFMT_Q8) || q4;  // mixed: a W8A8 pass per layer
  const uint32_t wb = q8 ? 1 : LW::BYTES;
  const uint64_t w1_stride = q4 ? mix.w_stride[0] : weight_block_bytes<CFG>(h, d, wb);
  const uint64_t w2_stride = q4 ? mix.w_stride[1] : weight_block_bytes<CFG>(d, h, wb);
  const uint64_t b1_stride = bias_block_bytes<CFG>(h, BF::BYTES);
  const uint64_t b2_stride = bias_block_bytes<CFG>(d, BF::BYTES);
  const uint64_t s1_stride = q8 ? bias_block_bytes<CFG>(h, 4) : 0;
  const uint64_t s2_stride = q8 ? bias_block_bytes<CFG>(d, 4) : 0;
  const bool skip = ins.has(isa::FLAG_WSKIP);  // never with W8A8: the maps take its place
  const uint64_t m1_stride = skip ? tile_map_bytes<CFG>(h, d) : 0;
  const uint64_t m2_stride = skip ? tile_map_bytes<CFG>(d, h) : 0;
  const uint32_t q8_word = q4 ? mix.q8_word : ins.f(isa::FLD_MOE_EXPERTS_Q8_SHIFT_MUL);
  const int dq_shift = (int)(q8_word & ((1u << CFG::MOE_DQ_BITS) - 1));
  const int64_t hidden_x_mul = (int64_t)(q8_word >> CFG::MOE_DQ_BITS);
  lin_job<CFG>& job = lb.job;
  job.flags = ins.flags();
  job.src = ins.f(isa::FLD_MOE_EXPERTS_SRC);
  job.dst = dst;
  job.scratch = ins.f(isa::FLD_MOE_EXPERTS_SCRATCH);
  job.d = d;
  job.hidden = h;
  job.overflows = 0;
  job.hidden_x_mul = hidden_x_mul;  // W8A8: fc1 writes fc2's input codes (hidden_codes)
  const uint64_t w1 = ins.f(isa::FLD_MOE_EXPERTS_W1), b1 = ins.f(isa::FLD_MOE_EXPERTS_B1);
  const uint64_t w2 = ins.f(isa::FLD_MOE_EXPERTS_W2), b2 = ins.f(isa::FLD_MOE_EXPERTS_B2);
EXP_PASSES:
  for (uint32_t p = 0; p < 2 * e; p++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_MOE_PASSES
    const uint32_t x = p / 2;
    const bool second = (p % 2) != 0;
    const uint32_t c = counts[x];
    if (c == 0) continue;
    uint32_t following = x + 1;  // the next expert with tokens: its fc1 preloads during our fc2
  EXP_FIND_NEXT:
    while (following < e && counts[following] == 0) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
#pragma HLS PIPELINE II=1
      following++;
    }
    if (!second) {
      read_row<CFG, 4, true>(mem, q + lay.index + x * lay.slot, c, job.idx);
      read_row<CFG, 4, true>(mem, q + lay.scores + x * lay.slot, c, job.score);
    }
    lin_pass ps = lin_pass_of<CFG>(ins, c, second ? d : h, second ? h : d,
                                   second ? w2 + x * w2_stride : w1 + x * w1_stride,
                                   second ? b2 + x * b2_stride : b1 + x * b1_stride, ACT::FRAC);
    const lin_next fc2 = {true, w2 + x * w2_stride, b2 + x * b2_stride, d, h};
    const lin_next next_fc1 = {following < e, w1 + following * w1_stride,
                               b1 + following * b1_stride, h, d};
    ps.after = second ? next_fc1 : fc2;
    ps.s_off = second ? b2 + e * b2_stride + x * s2_stride : b1 + e * b1_stride + x * s1_stride;
    ps.dq_shift = dq_shift;
    ps.skip = skip;
    ps.map_off = second ? b2 + e * b2_stride + x * m2_stride : b1 + e * b1_stride + x * m1_stride;
    const uint64_t idx = moe_q4_index_off<CFG>(second ? b2 : b1, x, e, ps.n, BF::BYTES);
    const lin_q4 rows = {q4, ps.w_off, idx, ps.n, ps.k, mix.high[second], mix.groups[second]};
    ps.q4 = rows;  // off unless mixed: then the loader is lin_load_q4
    // a W8A8 pass never takes a preload, and a dense one would read past a mixed block
    if (q4) ps.after.valid = false;
    job.x_mul = second ? hidden_x_mul : (int64_t)(int32_t)ins.f(isa::FLD_MOE_EXPERTS_X_MUL);
    job.kind = second ? JOB_FC2 : JOB_FC1;
    job.hidden_codes = !(q8 || q4) ? 0u : second ? (uint32_t)HC_IN : (uint32_t)HC_OUT;
    lin_run<CFG>(mem, wmem, xmem, ymem, lb, ps);
    if (second) {
      prof.v[isa::PROF_MACS] += 2 * (uint64_t)c * d * h;
      prof.v[isa::PROF_WEIGHT_BYTES] +=
          w1_stride + b1_stride + w2_stride + b2_stride + s1_stride + s2_stride + m1_stride +
          m2_stride;
      prof.v[isa::PROF_EXPERTS_ACTIVE] += 1;
    }
  }
  prof.v[isa::PROF_OVERFLOWS] += job.overflows;  // fc1, GELU, fc2, score and accumulate
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_MOE_HPP
