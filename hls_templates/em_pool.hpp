/**
 * @file em_pool.hpp
 * @brief POOL (opcode 9) on an HWC activation map, as edgemoe/golden/pool_ops.py defines it:
 *        MAX (k x k / stride s windows, ceil mode, clipped at the edge), AVG (the same
 *        windows; each window's count picks its reciprocal from POOL_WINDOW_RECIP),
 *        GLOBAL_AVG (exact sum times the reciprocal in imm, one rounding) and SCALE (eSE:
 *        x * min(gate, 1)).  Means and scaled values that wrap or saturate are counted.
 */
#ifndef EDGEMOE_EM_POOL_HPP
#define EDGEMOE_EM_POOL_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"

namespace edgemoe {

/** Smallest e with 2**e >= n for n <= 2**16 (golden pool_ops.clog2). */
inline int pool_clog2(uint64_t n) {
  int e = 0;
POOL_CLOG2:
  for (int i = 0; i < 16; i++) {
#pragma HLS UNROLL
    if ((((uint64_t)1) << e) < n) e++;  // 16 compares: n is limited to 2**16
  }
  return e;
}

/**
 * Quantize sum * recip (fraction bits ACT::FRAC + POOL_RECIP_BITS + e, e <= 16 at run time)
 * into ACT: the 128-bit product is aligned to the largest fraction count, then cast once.
 */
template <class CFG>
inline int64_t pool_mean(int64_t sum, int64_t recip, int e, uint64_t& overflows) {
  typedef typename CFG::act ACT;
  const int QM = ACT::FRAC + CFG::POOL_RECIP_BITS + 16;
  ap_int<128> prod = (ap_int<128>)sum * (ap_int<128>)recip;  // < 2**78: exact
  prod = prod << (16 - e);
  ap_fixed<128, 128 - QM> src = 0;
  src.range(127, 0) = prod;
  typename ACT::type dst = src;  // the only rounding/overflow step
  overflows += overflowed<ACT>(src, dst);
  return raw_of<ACT>(dst);
}

/**
 * POOL: see isa.PoolMode.
 *
 * @tparam CFG design point (CFG::MAX_IN_FEATURES bounds the channels).
 */
template <class CFG>
uint32_t op_pool(typename CFG::word_t* mem, const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  const uint32_t h = ins.f(isa::FLD_POOL_IN_H), w = ins.f(isa::FLD_POOL_IN_W);
  const uint32_t c = ins.f(isa::FLD_POOL_CHANNELS), mode = ins.f(isa::FLD_POOL_MODE);
  const uint32_t ksp = ins.f(isa::FLD_POOL_KERNEL_STRIDE_PAD);
  const uint32_t k = ksp & 0xFF, s = (ksp >> 8) & 0xFF;
  const uint64_t src = ins.f(isa::FLD_POOL_SRC), dst = ins.f(isa::FLD_POOL_DST);
  const uint64_t px = (uint64_t)c * ACT::BYTES;
  int64_t x[CFG::MAX_IN_FEATURES], y[CFG::MAX_IN_FEATURES];
  uint64_t& ovf = prof.v[isa::PROF_OVERFLOWS];  // means and products that wrapped/saturated
  if (mode == isa::POOL_MAX || mode == isa::POOL_AVG) {
    const bool avg = mode == isa::POOL_AVG;
    const uint32_t oh = (h - k + s - 1) / s + 1, ow = (w - k + s - 1) / s + 1;
  POOL_MAX_ROWS:
    for (uint32_t oy = 0; oy < oh; oy++) {
#pragma HLS LOOP_TRIPCOUNT max=64
    POOL_MAX_COLS:
      for (uint32_t ox = 0; ox < ow; ox++) {
#pragma HLS LOOP_TRIPCOUNT max=64
        const uint32_t y1 = em_umin(oy * s + k, h), x1 = em_umin(ox * s + k, w);
      POOL_WIN_ROWS:
        for (uint32_t iy = oy * s; iy < y1; iy++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::POOL_MAX_KERNEL
        POOL_WIN_COLS:
          for (uint32_t ix = ox * s; ix < x1; ix++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::POOL_MAX_KERNEL
            read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + ((uint64_t)iy * w + ix) * px, c, x);
            const bool first = iy == oy * s && ix == ox * s;
          POOL_MAX_CH:
            for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
              y[j] = first ? x[j] : avg ? y[j] + x[j] : (x[j] > y[j] ? x[j] : y[j]);
            }
          }
        }
        if (avg) {  // the clipped window's own count n <= 9: a ROM reciprocal, no divider
          const uint32_t n = (y1 - oy * s) * (x1 - ox * s);
          const int e = pool_clog2(n);
        POOL_AVG_MEAN:
          for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
            y[j] = pool_mean<CFG>(y[j], POOL_WINDOW_RECIP[n], e, ovf);
          }
        }
        write_row<CFG, ACT::BYTES>(mem, dst + ((uint64_t)oy * ow + ox) * px, c, y);
      }
    }
  } else if (mode == isa::POOL_GLOBAL_AVG) {
    const uint64_t n = (uint64_t)h * w;
  POOL_SUM_INIT:
    for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
      y[j] = 0;
    }
  POOL_SUM_POS:
    for (uint64_t p = 0; p < n; p++) {
#pragma HLS LOOP_TRIPCOUNT max=4096
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + p * px, c, x);
    POOL_SUM_CH:
      for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
        y[j] += x[j];  // exact: |sum| < 2**47 for n <= 2**16
      }
    }
    const int e = pool_clog2(n);
  POOL_MEAN:
    for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
      y[j] = pool_mean<CFG>(y[j], ins.imm(), e, ovf);
    }
    write_row<CFG, ACT::BYTES>(mem, dst, c, y);
  } else {  // SCALE: the gate's clip at 1.0 is the upper half of eSE's hard sigmoid
    int64_t g[CFG::MAX_IN_FEATURES];
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, ins.f(isa::FLD_POOL_GATE), c, g);
    const int64_t one = ((int64_t)1) << ACT::FRAC;
  POOL_SCALE_POS:
    for (uint64_t p = 0; p < (uint64_t)h * w; p++) {
#pragma HLS LOOP_TRIPCOUNT max=4096
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + p * px, c, x);
    POOL_SCALE_CH:
      for (uint32_t j = 0; j < c; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
        y[j] = quant_counted<ACT, 2 * ACT::FRAC>(mul_wrap(x[j], g[j] < one ? g[j] : one), ovf);
      }
      write_row<CFG, ACT::BYTES>(mem, dst + p * px, c, y);
    }
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_POOL_HPP
