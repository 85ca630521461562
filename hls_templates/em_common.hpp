/**
 * @file em_common.hpp
 * @brief Integer helpers shared by every kernel: wrap-around arithmetic, shifts, floor
 *        division, leading-one detection, and quantization into the configured formats.
 *
 * Every kernel computes on raw fixed-point codes held in int64_t, exactly as the golden
 * executor (edgemoe.golden) does on int64 numpy arrays: sums and products wrap modulo
 * 2**64, right shifts of negative numbers are arithmetic (floor), and every store into a
 * typed value goes through quant(), a cast into the format's ap_fixed type.
 */
#ifndef EDGEMOE_EM_COMMON_HPP
#define EDGEMOE_EM_COMMON_HPP

#include <stdint.h>

// The ap_types headers trip -Wmaybe-uninitialized inside their own conversion code once
// inlined (false positives in vendor code); silence those two warnings for the headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <ap_fixed.h>
#include <ap_int.h>
#pragma GCC diagnostic pop

// Loop labels name loops in HLS reports and pragmas; g++ would flag them as unused labels.
#pragma GCC diagnostic ignored "-Wunused-label"

namespace edgemoe {

/** Smaller of two signed values. */
inline int64_t em_min(int64_t a, int64_t b) { return a < b ? a : b; }
/** Larger of two signed values. */
inline int64_t em_max(int64_t a, int64_t b) { return a > b ? a : b; }
/** Smaller of two unsigned values. */
inline uint64_t em_umin(uint64_t a, uint64_t b) { return a < b ? a : b; }
/** Ceiling division of unsigned values (b > 0). */
inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
/** Round up to a multiple of 64 bytes (edgemoe.layout.align). */
inline uint64_t align64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

/** a + b modulo 2**64 (numpy int64 semantics). */
inline int64_t add_wrap(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
/** a - b modulo 2**64. */
inline int64_t sub_wrap(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
/** a * b modulo 2**64. */
inline int64_t mul_wrap(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
/**
 * Product of two raw codes for a wrap-around accumulator: the exact signed product when
 * the operand containers fit 64 bits together (so HLS builds an XT x WT multiplier),
 * otherwise the product modulo 2**64 (as golden's int64 arithmetic).
 *
 * @tparam XT activation container type.
 * @tparam WT weight (or second operand) container type.
 */
template <typename XT, typename WT>
inline uint64_t mac_product(XT x, WT w) {
  return (sizeof(XT) + sizeof(WT) <= 8) ? (uint64_t)((int64_t)x * (int64_t)w)
                                        : (uint64_t)(int64_t)x * (uint64_t)(int64_t)w;
}

/** x * 2**s modulo 2**64 for 0 <= s <= 63. */
inline int64_t shl_wrap(int64_t x, int s) { return (int64_t)((uint64_t)x << s); }

/**
 * x * 2**s: left shift for s >= 0 (at most 62), floor right shift (at most 63) else.
 * Same as edgemoe.numerics.common.shift.
 */
inline int64_t shift_by(int64_t x, int64_t s) {
  if (s >= 0) return shl_wrap(x, (int)em_min(s, 62));
  return x >> (int)em_min(-s, 63);
}

/** Floor division by a positive divisor (numpy floor_divide). */
inline int64_t floor_div(int64_t a, int64_t d) {
  int64_t q = a / d;
  if ((a % d != 0) && (a < 0)) q -= 1;
  return q;
}

/** Leading-one position of x > 0 by six compare-and-shift steps (0 for x <= 0). */
inline int floor_log2(int64_t x) {
  int64_t v = x;
  int p = 0;
FLOG2_STEPS:
  for (int k = 32; k >= 1; k >>= 1) {
#pragma HLS UNROLL
    if (v >= ((int64_t)1 << k)) {
      v >>= k;
      p += k;
    }
  }
  return p;
}

/** Largest raw code of a format trait FMT (FMT::WIDTH, FMT::SIGNED). */
template <class FMT>
constexpr int64_t raw_max() {
  return FMT::SIGNED ? (int64_t)((((uint64_t)1) << (FMT::WIDTH - 1)) - 1)
                     : (int64_t)((((uint64_t)1) << FMT::WIDTH) - 1);
}

/** Smallest raw code of a format trait FMT. */
template <class FMT>
constexpr int64_t raw_min() {
  return FMT::SIGNED ? -(int64_t)(((uint64_t)1) << (FMT::WIDTH - 1)) : (int64_t)0;
}

/** Raw code of an ap_fixed value of format FMT, sign-extended when FMT is signed. */
template <class FMT>
inline int64_t raw_of(const typename FMT::type& v) {
  uint64_t bits = v.range(FMT::WIDTH - 1, 0).to_uint64();
  if (FMT::SIGNED && FMT::WIDTH < 64) {
    const int pad = 64 - FMT::WIDTH;
    return ((int64_t)(bits << pad)) >> pad;
  }
  return (int64_t)bits;
}

/**
 * Quantize the exact value raw * 2**-FRAC into format FMT (FixedType.from_raw).
 *
 * @tparam FMT  format trait: FMT::type is the ap_fixed type (its quantization and overflow
 *              modes apply), FMT::WIDTH / FMT::SIGNED describe the raw code.
 * @tparam FRAC fraction bits of the source raw value (compile time).
 */
template <class FMT, int FRAC>
inline int64_t quant(int64_t raw) {
  ap_fixed<64, 64 - FRAC> src = 0;
  src.range(63, 0) = (uint64_t)raw;
  typename FMT::type dst = src;  // the only rounding/overflow step
  return raw_of<FMT>(dst);
}

/**
 * 1 when storing src into FMT changed it beyond rounding (it wrapped or saturated):
 * FixedType.from_raw_counted.  FMT::rounding rounds like FMT::type but cannot overflow.
 */
template <class FMT, class SRC>
inline uint64_t overflowed(const SRC& src, const typename FMT::type& dst) {
  const typename FMT::rounding rounded = src;
  return rounded != dst ? 1 : 0;
}

/**
 * Quantize the exact product a * b (raw, FRAC fraction bits) into FMT: the 96-bit product
 * is formed exactly and rounded once (golden vector_ops.scaled_scores); a wrap or
 * saturation is counted into ``overflows``.
 *
 * @tparam FMT  destination format trait.
 * @tparam FRAC fraction bits of the product.
 */
template <class FMT, int FRAC>
inline int64_t quant_product(int64_t a, int32_t b, uint64_t& overflows) {
  const ap_int<96> prod = (ap_int<96>)a * (ap_int<96>)b;  // a 64 x 32 multiplier
  ap_fixed<96, 96 - FRAC> src = 0;
  src.range(95, 0) = prod;
  typename FMT::type dst = src;  // the only rounding/overflow step
  overflows += overflowed<FMT>(src, dst);
  return raw_of<FMT>(dst);
}

/** quant() that also counts a wrap or saturation into ``overflows``. */
template <class FMT, int FRAC>
inline int64_t quant_counted(int64_t raw, uint64_t& overflows) {
  ap_fixed<64, 64 - FRAC> src = 0;
  src.range(63, 0) = (uint64_t)raw;
  typename FMT::type dst = src;
  overflows += overflowed<FMT>(src, dst);
  return raw_of<FMT>(dst);
}

/**
 * quant_rt() that also counts a wrap or saturation into ``overflows``.
 *
 * @tparam FMT  destination format trait.
 * @tparam QMAX largest fraction count any caller passes (frac <= QMAX, QMAX - frac <= 63).
 */
template <class FMT, int QMAX>
inline int64_t quant_rt_counted(int64_t raw, int frac, uint64_t& overflows) {
  ap_int<128> wide = (ap_int<128>)raw;
  wide = wide << (QMAX - frac);
  ap_fixed<128, 128 - QMAX> src = 0;
  src.range(127, 0) = wide;
  typename FMT::type dst = src;
  overflows += overflowed<FMT>(src, dst);
  return raw_of<FMT>(dst);
}

/**
 * Quantize raw * 2**-frac into FMT for a fraction count known only at run time.
 *
 * The value is first aligned, exactly, to QMAX fraction bits in a 128-bit register (a
 * run-time left shift by QMAX - frac), then cast once like quant().
 *
 * @tparam FMT  destination format trait.
 * @tparam QMAX largest fraction count any caller passes (frac <= QMAX, QMAX - frac <= 63).
 */
template <class FMT, int QMAX>
inline int64_t quant_rt(int64_t raw, int frac) {
  uint64_t unused = 0;
  return quant_rt_counted<FMT, QMAX>(raw, frac, unused);
}

/** Bias alignment (golden intmath.shift_frac): raw at from_frac re-expressed at to_frac. */
inline int64_t shift_frac(int64_t raw, int from_frac, int to_frac) {
  if (to_frac >= from_frac) return shl_wrap(raw, to_frac - from_frac);
  return raw >> (from_frac - to_frac);
}

/**
 * Streaming top-k (the router's experts, top-k attention's keys): offer value v of index i
 * to the `filled` best entries (best first) kept in at most `cap` <= N places.  It lands
 * before the first entry it beats strictly, so equal values keep the earlier index; the
 * entries behind it move down one place and a full list drops its last.
 */
template <int N>
inline void topk_offer(int64_t (&best)[N], uint32_t (&idx)[N], uint32_t& filled, uint32_t cap,
                       int64_t v, uint32_t i) {
  uint32_t pos = filled;
TOPK_FIND:
  for (int j = 0; j < N; j++) {
#pragma HLS UNROLL
    if ((uint32_t)j < filled && pos == filled && v > best[j]) pos = j;
  }
  if (pos >= cap) return;
  const uint32_t last = filled < cap ? filled : cap - 1;
TOPK_SHIFT:
  for (int j = N - 1; j > 0; j--) {
#pragma HLS UNROLL
    if ((uint32_t)j <= last && (uint32_t)j > pos) {
      best[j] = best[j - 1];
      idx[j] = idx[j - 1];
    }
  }
  best[pos] = v;
  idx[pos] = i;
  if (filled < cap) filled++;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_COMMON_HPP
