/**
 * @file em_numerics.hpp
 * @brief Integer transcendentals (exp, reciprocal, rsqrt, GELU) and the single-pass
 *        softmax, step for step as edgemoe.numerics defines them.
 *
 * The ROMs (EXP_T0..2, RECIP_TABLE, RSQRT_TABLE, GELU_DELTA_TABLE) and the constants
 * (namespace edgemoe::num) come from the generated params header, rendered from
 * edgemoe.numerics.numerics_tables() / numerics_constants().  No hls_math, no float.
 */
#ifndef EDGEMOE_EM_NUMERICS_HPP
#define EDGEMOE_EM_NUMERICS_HPP

#include "em_common.hpp"

namespace edgemoe {

/**
 * Quantize the positive value y * 2**(e - 30) into OUT, saturating at its maximum
 * (numerics.common.emit_scaled).
 *
 * @tparam OUT output format trait.
 */
template <class OUT>
inline int64_t emit_scaled(int64_t y, int64_t e) {
  const int rf = OUT::FRAC + num::GUARD_BITS;
  const int64_t s = rf - num::MANT_FRAC + e;
  const int64_t sat = shl_wrap(raw_max<OUT>(), num::GUARD_BITS);
  int64_t v = shift_by(y, em_min(s, num::MAX_LEFT_SHIFT));
  v = (s > num::MAX_LEFT_SHIFT) ? sat : em_min(v, sat);
  return quant<OUT, OUT::FRAC + num::GUARD_BITS>(v);
}

/**
 * e**x for x <= 0 (x > 0 clamps to 0) into OUT: three 256-entry ROMs, two multiplies
 * (numerics.exp.exp_neg).
 *
 * @tparam X_FRAC fraction bits of the argument's raw code.
 * @tparam OUT    output format trait.
 */
template <int X_FRAC, class OUT>
inline int64_t exp_neg(int64_t x) {
  const int lim_bits = (int)em_max(em_min(X_FRAC + 5, 62), 0);
  int64_t u = -x;
  if (u < 0) u = 0;
  if (u > ((int64_t)1 << lim_bits)) u = (int64_t)1 << lim_bits;
  u = em_min(shift_by(u, num::EXP_U_FRAC - X_FRAC), num::EXP_U_MAX);
  const int64_t v = (u * num::EXP_LOG2E_Q30) >> num::MANT_FRAC;
  const int64_t n = v >> num::EXP_U_FRAC;
  int64_t m = EXP_T0[(v >> 16) & 0xFF];
  m = (m * EXP_T1[(v >> 8) & 0xFF]) >> num::MANT_FRAC;
  m = (m * EXP_T2[v & 0xFF]) >> num::MANT_FRAC;
  return emit_scaled<OUT>(m, -n);
}

/** ROM interpolation T[j] - (((T[j] - T[j+1]) * t) >> 24) (numerics.recip._interp). */
inline int64_t rom_interp(int64_t a, int64_t b, int64_t t) {
  return a - (((a - b) * t) >> num::INTERP_BITS);
}

/**
 * 1/x for x > 0 into OUT (x <= 0 gives OUT's maximum): normalise, interpolate a 65-entry
 * ROM, one Newton step (numerics.recip.reciprocal).
 *
 * @tparam X_FRAC fraction bits of x.
 * @tparam OUT    output format trait.
 */
template <int X_FRAC, class OUT>
inline int64_t reciprocal(int64_t x) {
  if (x <= 0) return raw_max<OUT>();
  const int p = floor_log2(x);
  const int64_t m = shift_by(x, num::MANT_FRAC - p);
  const int i = (int)((m >> num::INTERP_BITS) & 63);
  const int64_t t = m & (((int64_t)1 << num::INTERP_BITS) - 1);
  const int64_t y0 = rom_interp(RECIP_TABLE[i], RECIP_TABLE[i + 1], t);
  const int64_t d = ((int64_t)2 << num::MANT_FRAC) - ((m * y0) >> num::MANT_FRAC);
  const int64_t y1 = (y0 * d) >> num::MANT_FRAC;
  return emit_scaled<OUT>(y1, X_FRAC - p);
}

/**
 * 1/sqrt(x) for x > 0 into OUT (x <= 0 gives OUT's maximum): even-shift normalisation,
 * 193-entry ROM, one Newton step (numerics.recip.rsqrt).
 *
 * @tparam X_FRAC fraction bits of x.
 * @tparam OUT    output format trait.
 */
template <int X_FRAC, class OUT>
inline int64_t rsqrt(int64_t x) {
  if (x <= 0) return raw_max<OUT>();
  const int p = floor_log2(x);
  const int64_t e = p - X_FRAC;
  const int64_t q = e & 1;
  const int64_t k = (e - q) >> 1;
  const int64_t m = shift_by(x, num::MANT_FRAC - p + q);
  const int j = (int)((m >> num::INTERP_BITS) - 64);
  const int64_t t = m & (((int64_t)1 << num::INTERP_BITS) - 1);
  const int64_t y0 = rom_interp(RSQRT_TABLE[j], RSQRT_TABLE[j + 1], t);
  const int64_t a = (y0 * y0) >> num::MANT_FRAC;
  const int64_t b = (m * a) >> num::MANT_FRAC;
  const int64_t y1 = (y0 * (((int64_t)3 << num::MANT_FRAC) - b)) >> (num::MANT_FRAC + 1);
  return emit_scaled<OUT>(y1, -k);
}

/**
 * GELU(x) = ReLU(x) - delta(|x|) with the interpolated 177-entry delta ROM, one rounding
 * into ACT, whose wrap or saturation counts into ``overflows`` (numerics.gelu_counted).
 *
 * @tparam ACT activation format trait (at least 5 fraction bits).
 */
template <class ACT>
inline int64_t gelu_counted(int64_t x, uint64_t& overflows) {
  const int sh = ACT::FRAC - num::GELU_STEP_BITS;
  const int g_frac = ACT::FRAC > num::GELU_TABLE_FRAC ? ACT::FRAC : num::GELU_TABLE_FRAC;
  const int64_t a = x < 0 ? -x : x;
  const int64_t idx = a >> sh;
  int64_t delta = 0;
  if (idx < num::GELU_LIMIT_INDEX) {
    const int64_t lo = GELU_DELTA_TABLE[idx];
    const int64_t hi = GELU_DELTA_TABLE[idx + 1];
    delta = lo + (((hi - lo) * (a & (((int64_t)1 << sh) - 1))) >> sh);
  }
  const int64_t g = shl_wrap(x > 0 ? x : 0, g_frac - ACT::FRAC) -
                    shl_wrap(delta, g_frac - num::GELU_TABLE_FRAC);
  return quant_counted<ACT, (ACT::FRAC > num::GELU_TABLE_FRAC ? ACT::FRAC
                                                              : num::GELU_TABLE_FRAC)>(g, overflows);
}

/** gelu_counted() without the count. @tparam ACT activation format trait. */
template <class ACT>
inline int64_t gelu(int64_t x) {
  uint64_t unused = 0;
  return gelu_counted<ACT>(x, unused);
}

/**
 * Fold one score into a row's online-softmax state (numerics.softmax.softmax_update):
 * running maximum `bias` and running sum of exp(s - bias) `sum`, both raw ACT codes.
 *
 * @tparam ACT activation format trait.
 */
template <class ACT>
inline void softmax_update(int64_t& bias, int64_t& sum, int64_t s) {
  const int64_t d = bias - s;
  const int64_t e = exp_neg<ACT::FRAC, ACT>(d < 0 ? d : -d);
  if (d < 0) {
    const int64_t scaled = quant<ACT, 2 * ACT::FRAC>(mul_wrap(sum, e));
    sum = quant<ACT, ACT::FRAC>(scaled + ((int64_t)1 << ACT::FRAC));
    bias = s;
  } else {
    sum = quant<ACT, ACT::FRAC>(add_wrap(sum, e));
  }
}

/**
 * Probability exp(s - bias) * recip_sum with its overflow counted
 * (numerics.softmax.softmax_probs_counted).
 *
 * @tparam ACT activation format trait.
 */
template <class ACT>
inline int64_t softmax_prob_counted(int64_t s, int64_t bias, int64_t recip_sum,
                                    uint64_t& overflows) {
  const int64_t e = exp_neg<ACT::FRAC, ACT>(s - bias);
  return quant_counted<ACT, 2 * ACT::FRAC>(mul_wrap(e, recip_sum), overflows);
}

/**
 * Probability exp(s - bias) * recip_sum (numerics.softmax.softmax_probs).
 *
 * @tparam ACT activation format trait.
 */
template <class ACT>
inline int64_t softmax_prob(int64_t s, int64_t bias, int64_t recip_sum) {
  uint64_t unused = 0;
  return softmax_prob_counted<ACT>(s, bias, recip_sum, unused);
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_NUMERICS_HPP
