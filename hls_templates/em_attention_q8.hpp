/**
 * @file em_attention_q8.hpp
 * @brief The int8 mode of the attention lanes (ATTENTION with isa::FLAG_WFMT_Q8), the integer
 *        definition of edgemoe/numerics/attn_q8.py (golden: edgemoe/golden/attn_q8.py).
 *
 * q, k and v are act in memory; the reader turns each row into symmetric int8 codes as it
 * loads it (W8A8's input step, q8_input, one multiplier per tensor), or, with codes in
 * (q8_codes & ATTN_Q8_CODES_IN), reads the producer's codes a byte an element; the lanes keep one
 * byte an element on chip and a beat covers ATTN_Q8_MACS codes (four times the dense
 * mode's ATTN_MACS).  QK^T sums int8 x int8 products exactly, AV act probabilities x int8
 * codes; each sum becomes act through a 64-bit wrap-around product with a multiplier and
 * one rounding at a run-time shift (q8_rescale).  The parameters come from one block of
 * ATTN_Q8_PARAM_WORDS int32 words, read once per instruction (att_q8_params).  With codes
 * out (ATTN_Q8_CODES_OUT) each output becomes the consumer's int8 input code (q8_input with
 * out_x_mul, clamps counted) and the writer stores a byte an element.
 */
#ifndef EDGEMOE_EM_ATTENTION_Q8_HPP
#define EDGEMOE_EM_ATTENTION_Q8_HPP

#include "em_common.hpp"
#include "em_int8.hpp"
#include "em_mem.hpp"

namespace edgemoe {

/**
 * act.from_raw(acc * mul, shift) with the product modulo 2**64, a wrap or saturation
 * counted (numerics.attn_q8._rescale).
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline int64_t q8_rescale(int64_t acc, int32_t mul, uint32_t shift, uint64_t& overflows) {
  return quant_rt_counted<typename CFG::act, CFG::ATTN_Q8_SHIFT_MAX>(mul_wrap(acc, mul),
                                                                      (int)shift, overflows);
}

/**
 * Int8 mode: the lanes hold int8 codes of q, k and v, ATTN_Q8_MACS a beat; the score is
 * act(q . k * s_mul >> s_shift) and the output act(sum p * v * o_mul >> o_shift).
 *
 * @tparam CFG design point.
 */
template <class CFG>
struct att_q8 {
  typedef typename CFG::act ACT;
  typedef int8_t elem_t;  ///< a K, V or Q code on chip
  typedef int32_t dot_t;  ///< qc . kc, exact: |qc . kc| <= 127**2 * head_dim
  static_assert((int64_t)num::Q8_MAX * num::Q8_MAX * CFG::MAX_HEAD_DIM < ((int64_t)1 << 31),
                "int8 attention: a QK^T sum must fit its 32-bit accumulator");
  static const int MACS = CFG::ATTN_Q8_MACS;
  static const int TC_BEATS = CFG::TC_ATTN_Q8_BEATS;
  int32_t in_mul[3];  ///< code multipliers of q, k and v (the row's part indexes it)
  int32_t s_mul;      ///< score multiplier
  uint32_t s_shift;   ///< score shift (0..ATTN_Q8_SHIFT_MAX)
  int32_t o_mul;      ///< output multiplier
  uint32_t o_shift;   ///< output shift
  bool codes_in;      ///< the qkv rows are int8 codes (a byte an element)
  bool codes_out;     ///< the output rows are written as int8 codes made with out_x_mul
  int32_t out_x_mul;  ///< the consumer's input multiplier (codes out)

  /** Bytes of a qkv element in memory. */
  uint32_t x_bytes() const { return codes_in ? 1 : ACT::BYTES; }
  /** Bytes of an output element in memory. */
  uint32_t y_bytes() const { return codes_out ? 1 : ACT::BYTES; }

  /** Row `part` (0 q, 1 k, 2 v) of n act elements at byte off as int8 codes; every clamped
   *  code counts into `clamped`.  Codes in: the row's n codes as they are (their producer
   *  counted the clamps). */
  void load(const typename CFG::word_t* xmem, uint64_t off, uint32_t n, int part, elem_t* row,
            uint32_t& clamped) const {
    if (codes_in) {
      read_row<CFG, 1, true>(xmem, off, n, row);
      return;
    }
    const int E = CFG::AXI_BYTES / ACT::BYTES;  // elements a bus beat brings: coded at that rate
    int64_t raw[CFG::MAX_HEAD_DIM];
#pragma HLS ARRAY_PARTITION variable=raw type=cyclic factor=CFG::AXI_BYTES / ACT::BYTES
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, off, n, raw);
    const int64_t mul = in_mul[part];
  ATT_Q8_BEATS:
    for (uint32_t x0 = 0; x0 < n; x0 += E) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
    ATT_Q8_CODES:
      for (int u = 0; u < E; u++) {
#pragma HLS UNROLL
        if (x0 + u < n) row[x0 + u] = (elem_t)q8_input<ACT>(raw[x0 + u], mul, clamped);
      }
    }
  }
  /** sum qc * kc (exact) -> score in act. */
  int64_t score(int64_t dot, uint64_t& overflows) const {
    return q8_rescale<CFG>(dot, s_mul, s_shift, overflows);
  }
  /** sum p * vc (exact) -> output in act (codes out: its int8 code). */
  int64_t output(int64_t acc, uint64_t& overflows) const {
    const int64_t y = q8_rescale<CFG>(acc, o_mul, o_shift, overflows);
    if (!codes_out) return y;
    uint32_t clamped = 0;
    const int64_t c = q8_input<ACT>(y, out_x_mul, clamped);
    overflows += clamped;
    return c;
  }
};

/**
 * The parameter block at byte `off` (numerics.attn_q8.param_words): multipliers are
 * signed int32 words, a shift word's low bits up to ATTN_Q8_SHIFT_MAX are its shift;
 * `codes` is the instruction's q8_codes.
 *
 * @tparam CFG design point.
 */
template <class CFG>
att_q8<CFG> att_q8_params(const typename CFG::word_t* xmem, uint64_t off, uint32_t codes) {
  int64_t w[CFG::ATTN_Q8_PARAM_WORDS];
  read_row<CFG, 4, true>(xmem, off, CFG::ATTN_Q8_PARAM_WORDS, w);
  att_q8<CFG> m;
  m.in_mul[0] = (int32_t)w[CFG::ATTN_Q8_Q_MUL];
  m.in_mul[1] = (int32_t)w[CFG::ATTN_Q8_K_MUL];
  m.in_mul[2] = (int32_t)w[CFG::ATTN_Q8_V_MUL];
  m.s_mul = (int32_t)w[CFG::ATTN_Q8_S_MUL];
  m.s_shift = (uint32_t)w[CFG::ATTN_Q8_S_SHIFT] & CFG::ATTN_Q8_SHIFT_MAX;
  m.o_mul = (int32_t)w[CFG::ATTN_Q8_O_MUL];
  m.o_shift = (uint32_t)w[CFG::ATTN_Q8_O_SHIFT] & CFG::ATTN_Q8_SHIFT_MAX;
  m.codes_in = (codes & CFG::ATTN_Q8_CODES_IN) != 0;
  m.codes_out = (codes & CFG::ATTN_Q8_CODES_OUT) != 0;
  m.out_x_mul = (int32_t)w[CFG::ATTN_Q8_OUT_X_MUL];
  return m;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ATTENTION_Q8_HPP
