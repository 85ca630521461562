/**
 * @file em_int8.hpp
 * @brief W8A8 steps of the linear engine (LINEAR with FLAG_WFMT_Q8), bit-exact with
 *        edgemoe/numerics/int8.py: the int8 input code and the channel dequantization.
 */
#ifndef EDGEMOE_EM_INT8_HPP
#define EDGEMOE_EM_INT8_HPP

#include "em_common.hpp"

namespace edgemoe {

/**
 * Step 1: act raw x -> symmetric int8 code round_half_up(x * x_mul / 2**s), clamped to
 * +-Q8_MAX (a clamp is counted), s = ACT::FRAC + XQ_GUARD.
 *
 * @tparam ACT activation format trait.
 */
template <class ACT>
inline int64_t q8_input(int64_t x, int64_t x_mul, uint32_t& clamped) {
  const int s = ACT::FRAC + num::XQ_GUARD;
  // |x| <= 2**31 and |x_mul| <= 2**31 (an int32): the product is exact in 64 bits
  const int64_t v = ((int64_t)(int32_t)x * (int64_t)(int32_t)x_mul + ((int64_t)1 << (s - 1))) >> s;
  if (v > num::Q8_MAX || v < -num::Q8_MAX) {
    clamped++;
    return v > 0 ? num::Q8_MAX : -num::Q8_MAX;
  }
  return v;
}

/** Step 3a/3b before the act quantization: acc * m + aligned bias, modulo 2**64.  The
 *  int8 sum and the multiplier are int32 (in_features <= 2**17 by the op spec), so the
 *  product is a 32 x 32 multiply. */
inline int64_t q8_dequant(int64_t acc, int64_t m, int64_t bias_aligned) {
  const int64_t p = (int64_t)(int32_t)acc * (int64_t)(int32_t)m;
  return (int64_t)((uint64_t)p + (uint64_t)bias_aligned);
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_INT8_HPP
