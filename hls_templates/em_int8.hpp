/**
 * @file em_int8.hpp
 * @brief W8A8 steps of the linear engine (LINEAR with FLAG_WFMT_Q8), bit-exact with
 *        edgemoe/numerics/int8.py: the int8 input code, the paired MAC tile (two int8
 *        products per multiply) and the channel dequantization.
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

/** a * x and b * x of int8 values through one multiply (numerics.int8.packed_products): the
 *  27 x 18 DSP product x * (a * 2**PACK_SHIFT + b), split back into its two products. */
inline void q8_packed_products(int64_t x, int64_t a, int64_t b, int64_t& ax, int64_t& bx) {
  const int s = num::PACK_SHIFT;
  const int64_t p = x * (a * ((int64_t)1 << s) + b);
  const int64_t half = (int64_t)1 << (s - 1);
  bx = ((p & (((int64_t)1 << s) - 1)) ^ half) - half;  // the low s bits, sign-extended
  ax = (p >> s) + ((p >> (s - 1)) & 1);               // plus the borrow b * x took
}

/** How a W8A8 pass multiplies: int8 weights in tile pairs (WP486), or unpaired when the
 *  weights are wider than int8 (WFMT_Q4's expanded (u - z) * e, 13 bits: a pair's low
 *  product would spill into the high one). */
enum q8_mode { Q8_OFF = 0, Q8_PAIRED, Q8_WIDE };

/**
 * One token through the paired W8A8 MAC tile: output tiles 2j and 2j + 1 share each
 * multiplier (Q8_PAIR, edgemoe_lin_dot.sv), then acc * m + bias per channel (step 3a/3b).
 * WSKIP never comes with W8A8 (op spec), so every input tile runs.
 *
 * @tparam CFG design point (P_OUT x P_IN multipliers).
 */
template <class CFG>
void q8_pair_row(const typename CFG::xbuf_t (&x)[CFG::XROW],
                 const typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
                 const int64_t (&bias)[CFG::MAX_ROW_OUT], const int64_t (&scale)[CFG::MAX_ROW_OUT],
                 uint32_t kt, uint32_t n_ot, int64_t (&acc_out)[CFG::MAX_ROW_OUT]) {
QP_PAIRS:
  for (uint32_t ot = 0; ot < n_ot; ot += 2) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES / 2
    const bool hi_ok = ot + 1 < n_ot;  // an odd last tile runs alone
    int64_t lo[CFG::P_OUT], hi[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=lo type=complete
#pragma HLS ARRAY_PARTITION variable=hi type=complete
  QP_INIT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      lo[o] = 0;
      hi[o] = 0;
    }
  QP_KTILES:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
    QP_MAC_OUT:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      QP_MAC_IN:
#pragma GCC unroll 64  // C-simulation speed only
        for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
          int64_t ax, bx;
          const int64_t a = hi_ok ? (int64_t)w[(ot + 1) * kt + k][o][i] : 0;
          q8_packed_products((int64_t)x[k * CFG::P_IN + i], a, (int64_t)w[ot * kt + k][o][i],
                             ax, bx);
          lo[o] += bx;
          hi[o] += ax;
        }
      }
    }
  QP_STORE:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      const uint32_t c = ot * CFG::P_OUT + o, d = c + CFG::P_OUT;
      acc_out[c] = q8_dequant(lo[o], scale[c], bias[c]);
      if (hi_ok) acc_out[d] = q8_dequant(hi[o], scale[d], bias[d]);
    }
  }
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_INT8_HPP
