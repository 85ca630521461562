/**
 * @file em_pool.hpp
 * @brief POOL (opcode 9) on an HWC activation map, as edgemoe/golden/pool_ops.py defines it:
 *        MAX (k x k / stride s windows, ceil mode, clipped at the edge), GLOBAL_AVG (exact
 *        sum times the reciprocal in imm, one rounding) and SCALE (eSE: x * min(gate, 1)),
 *        as a DATAFLOW region of a load, a reduce and a store process joined by
 *        VEC_LANES-wide tile streams (em_stream.hpp).  Every mode is a window per output:
 *        MAX k x k at stride s, GLOBAL_AVG the whole map, SCALE one pixel.  The outputs are
 *        written behind the reads of their windows, so SCALE in place is safe.
 */
#ifndef EDGEMOE_EM_POOL_HPP
#define EDGEMOE_EM_POOL_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_stream.hpp"

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
inline int64_t pool_mean(int64_t sum, int64_t recip, int e) {
  typedef typename CFG::act ACT;
  const int QM = ACT::FRAC + CFG::POOL_RECIP_BITS + 16;
  ap_int<128> prod = (ap_int<128>)sum * (ap_int<128>)recip;  // < 2**78: exact
  prod = prod << (16 - e);
  ap_fixed<128, 128 - QM> src = 0;
  src.range(127, 0) = prod;
  typename ACT::type dst = src;  // the only rounding/overflow step
  return raw_of<ACT>(dst);
}

/** A POOL window's pixels: the taps of one output. */
struct pool_window {
  uint32_t kh, kw, stride;  ///< window size and step (clipped at the map's edge)
  uint32_t out_w;           ///< outputs per row of the output map
};

/**
 * POOL load process: for each output (row-major), its tap count, then its window's pixels
 * as tiles.  MAX: k x k windows at stride s; GLOBAL_AVG: one window of the whole map;
 * SCALE: one pixel per output.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void pool_load(const typename CFG::word_t* xmem, uint64_t src, uint32_t h, uint32_t w,
               uint32_t c, pool_window win, uint32_t outputs, hls::stream<uint32_t>& taps,
               hls::stream<vec_tile<CFG> >& xs) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  const uint64_t px = (uint64_t)c * ACT::BYTES;
  uint32_t oy = 0, ox = 0;  // output of step o (counters, no division)
POOL_LOAD_OUTPUTS:
  for (uint32_t o = 0; o < outputs; o++) {
#pragma HLS LOOP_TRIPCOUNT max=4096
    const uint32_t y0 = oy * win.stride, x0 = ox * win.stride;
    const uint32_t y1 = em_umin(y0 + win.kh, h), x1 = em_umin(x0 + win.kw, w);
    taps.write((y1 - y0) * (x1 - x0));
  POOL_WIN_ROWS:
    for (uint32_t iy = y0; iy < y1; iy++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::POOL_MAX_KERNEL
    POOL_WIN_COLS:
      for (uint32_t ix = x0; ix < x1; ix++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::POOL_MAX_KERNEL
        load_tiles<CFG, ACT>(xmem, src + ((uint64_t)iy * w + ix) * px, c, row, xs);
      }
    }
    ox = ox + 1 == win.out_w ? 0 : ox + 1;
    oy = ox == 0 ? oy + 1 : oy;
  }
}

/**
 * POOL compute process: per output, the running max (MAX) or exact sum (GLOBAL_AVG, then
 * sum * recip with one rounding) over its taps, or x * min(gate, 1) (SCALE).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void pool_reduce(hls::stream<vec_tile<CFG> >& xs, hls::stream<uint32_t>& taps,
                 const int64_t (&gate)[CFG::MAX_IN_FEATURES], uint32_t mode, uint32_t c,
                 int64_t recip, int e, uint32_t outputs, hls::stream<vec_tile<CFG> >& ys) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t acc[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=acc type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  const int64_t one = ((int64_t)1) << ACT::FRAC;
POOL_OUTPUTS:
  for (uint32_t o = 0; o < outputs; o++) {
#pragma HLS LOOP_TRIPCOUNT max=4096
    const uint32_t n = taps.read();
  POOL_TAPS:
    for (uint32_t t = 0; t < n; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::POOL_MAX_KERNEL * CFG::POOL_MAX_KERNEL
    POOL_TAP_TILES:
      for (uint32_t k = 0; k < vec_tiles(c, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
        const vec_tile<CFG> x = xs.read();
      POOL_LANES:
        for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
          const uint32_t j = k * CFG::VEC_LANES + i;
          if (j < c) {
            const int64_t a = acc[j];
            if (mode == isa::POOL_MAX) {
              acc[j] = (t == 0 || x.v[i] > a) ? x.v[i] : a;
            } else if (mode == isa::POOL_GLOBAL_AVG) {
              acc[j] = (t == 0 ? 0 : a) + x.v[i];  // exact: |sum| < 2**47 for n <= 2**16
            } else {  // SCALE: the gate's clip at 1.0 is the upper half of eSE's hard sigmoid
              acc[j] = quant<ACT, 2 * ACT::FRAC>(mul_wrap(x.v[i], gate[j] < one ? gate[j] : one));
            }
          }
        }
      }
    }
  POOL_EMIT:
    for (uint32_t k = 0; k < vec_tiles(c, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
      vec_tile<CFG> y;
    POOL_EMIT_LANES:
      for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
        const uint32_t j = k * CFG::VEC_LANES + i;
        y.v[i] = j >= c ? 0 : mode == isa::POOL_GLOBAL_AVG ? pool_mean<CFG>(acc[j], recip, e)
                                                          : acc[j];
      }
      ys.write(y);
    }
  }
}

/** POOL's DATAFLOW region: load -> reduce -> store over the outputs. @tparam CFG design point. */
template <class CFG>
void pool_region(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                 const int64_t (&gate)[CFG::MAX_IN_FEATURES], uint64_t src, uint64_t dst,
                 uint32_t h, uint32_t w, uint32_t c, uint32_t mode, pool_window win,
                 int64_t recip, int e, uint32_t outputs) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<uint32_t> taps("pool_taps");
#pragma HLS STREAM variable=taps depth=2
  hls::stream<vec_tile<CFG> > xs("pool_x");
#pragma HLS STREAM variable=xs depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one pixel
  hls::stream<vec_tile<CFG> > ys("pool_y");
#pragma HLS STREAM variable=ys depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one output
  pool_load<CFG>(xmem, src, h, w, c, win, outputs, taps, xs);
  pool_reduce<CFG>(xs, taps, gate, mode, c, recip, e, outputs, ys);
  vec_store_rows<CFG, CFG::MAX_IN_FEATURES, 4096>(ys, ymem, dst, c, (uint64_t)outputs * c,
                                                 outputs);
}

/**
 * POOL: see isa.PoolMode.  SCALE's gate is read once, before the pixels stream.
 *
 * @tparam CFG design point (CFG::MAX_IN_FEATURES bounds the channels).
 */
template <class CFG>
uint32_t op_pool(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                 const instr_t& ins, profile_t&) {
  typedef typename CFG::act ACT;
  const uint32_t h = ins.f(isa::FLD_POOL_IN_H), w = ins.f(isa::FLD_POOL_IN_W);
  const uint32_t c = ins.f(isa::FLD_POOL_CHANNELS), mode = ins.f(isa::FLD_POOL_MODE);
  const uint32_t ksp = ins.f(isa::FLD_POOL_KERNEL_STRIDE_PAD);
  const uint32_t k = ksp & 0xFF, s = (ksp >> 8) & 0xFF;
  int64_t gate[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=gate type=cyclic factor=CFG::VEC_LANES  // a tile per cycle
  pool_window win = {1, 1, 1, w};  // SCALE: every pixel is an output
  uint32_t outputs = h * w;
  if (mode == isa::POOL_MAX) {
    win.kh = win.kw = k;
    win.stride = s;
    win.out_w = (w - k + s - 1) / s + 1;
    outputs = ((h - k + s - 1) / s + 1) * win.out_w;
  } else if (mode == isa::POOL_GLOBAL_AVG) {
    win.kh = h;
    win.kw = w;
    win.out_w = 1;
    outputs = 1;
  } else {
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, ins.f(isa::FLD_POOL_GATE), c, gate);
  }
  pool_region<CFG>(xmem, ymem, gate, ins.f(isa::FLD_POOL_SRC), ins.f(isa::FLD_POOL_DST), h, w, c,
                   mode, win, ins.imm(), pool_clog2((uint64_t)h * w), outputs);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_POOL_HPP
