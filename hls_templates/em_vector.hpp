/**
 * @file em_vector.hpp
 * @brief Ops outside the linear engine: LAYERNORM (single pass), UPSAMPLE (bilinear x2)
 *        and ADD / COPY, as edgemoe/golden/vector_ops.py defines them.
 */
#ifndef EDGEMOE_EM_VECTOR_HPP
#define EDGEMOE_EM_VECTOR_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

namespace edgemoe {

/**
 * LAYERNORM over the last axis, one pass per row:
 * mean = floor(sum x / D); var = max(floor(sum (x>>s)^2 / D) - (mean>>s)^2, 0) + eps;
 * rstd = rsqrt(var); y = q(q(q((x - mean) * rstd) * gamma) + q(beta)).
 *
 * @tparam CFG design point (CFG::LN_SHIFT = s, CFG::LN_VAR_FRAC, CFG::ln_rstd format).
 */
template <class CFG>
uint32_t op_layernorm(const typename CFG::word_t* xmem, const typename CFG::word_t* wmem,
                      typename CFG::word_t* ymem, const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  typedef typename CFG::norm NORM;
  typedef typename CFG::ln_rstd RSTD;
  const uint32_t t = ins.f(isa::FLD_LAYERNORM_TOKENS), d = ins.f(isa::FLD_LAYERNORM_DIM);
  const uint64_t src = ins.f(isa::FLD_LAYERNORM_SRC), dst = ins.f(isa::FLD_LAYERNORM_DST);
  const int64_t eps = ins.imm();
  int64_t gamma[CFG::MAX_IN_FEATURES], beta[CFG::MAX_IN_FEATURES];
  int64_t x[CFG::MAX_IN_FEATURES], y[CFG::MAX_IN_FEATURES];
  read_row<CFG, NORM::BYTES, NORM::SIGNED>(wmem, ins.f(isa::FLD_LAYERNORM_GAMMA), d, gamma);
  read_row<CFG, NORM::BYTES, NORM::SIGNED>(wmem, ins.f(isa::FLD_LAYERNORM_BETA), d, beta);
LN_BETA:
  for (uint32_t j = 0; j < d; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
    beta[j] = quant<ACT, NORM::FRAC>(beta[j]);
  }
LN_ROWS:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const uint64_t off = (uint64_t)r * d * ACT::BYTES;
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src + off, d, x);
    int64_t sum = 0, sumsq = 0;
  LN_SUMS:
    for (uint32_t j = 0; j < d; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
      const int64_t xs = x[j] >> CFG::LN_SHIFT;
      sum = add_wrap(sum, x[j]);
      sumsq = add_wrap(sumsq, mul_wrap(xs, xs));
    }
    const int64_t mean = floor_div(sum, d);
    const int64_t ex2 = floor_div(sumsq, d);
    const int64_t ms = mean >> CFG::LN_SHIFT;
    const int64_t var = add_wrap(em_max(sub_wrap(ex2, mul_wrap(ms, ms)), 0), eps);
    const int64_t rstd = rsqrt<CFG::LN_VAR_FRAC, RSTD>(var);
  LN_SCALE:
    for (uint32_t j = 0; j < d; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
      const int64_t centred = mul_wrap(sub_wrap(x[j], mean), rstd);
      uint64_t& ovf = prof.v[isa::PROF_OVERFLOWS];  // wrapped/saturated values
      const int64_t normed = quant_counted<ACT, ACT::FRAC + RSTD::FRAC>(centred, ovf);
      const int64_t g = quant_counted<ACT, ACT::FRAC + NORM::FRAC>(mul_wrap(normed, gamma[j]), ovf);
      y[j] = quant_counted<ACT, ACT::FRAC>(add_wrap(g, beta[j]), ovf);
    }
    write_row<CFG, ACT::BYTES>(ymem, dst + off, d, y);
  }
  return isa::ERR_OK;
}

/** Taps of bilinear x2 (align_corners=False) along one axis: near and far input index. */
inline void upsample_taps(uint32_t o, uint32_t n, uint32_t& near, uint32_t& far) {
  near = o / 2;
  if (o % 2 == 0) far = near > 0 ? near - 1 : 0;
  else far = near + 1 < n ? near + 1 : n - 1;
}

/**
 * UPSAMPLE: bilinear x2 of an HWC tensor, out = q((9a + 3b + 3c + d) / 16) with a the
 * nearest input pixel, b/c its vertical/horizontal neighbours and d the diagonal one.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_upsample(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                     const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  const uint32_t h = ins.f(isa::FLD_UPSAMPLE_IN_H), w = ins.f(isa::FLD_UPSAMPLE_IN_W);
  const uint32_t c = ins.f(isa::FLD_UPSAMPLE_CHANNELS);
  const uint64_t src = ins.f(isa::FLD_UPSAMPLE_SRC), dst = ins.f(isa::FLD_UPSAMPLE_DST);
  int64_t a[CFG::MAX_IN_FEATURES], b[CFG::MAX_IN_FEATURES];
  int64_t cc[CFG::MAX_IN_FEATURES], dd[CFG::MAX_IN_FEATURES], out[CFG::MAX_IN_FEATURES];
UP_ROWS:
  for (uint32_t oy = 0; oy < 2 * h; oy++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE
    uint32_t ny, fy;
    upsample_taps(oy, h, ny, fy);
  UP_COLS:
    for (uint32_t ox = 0; ox < 2 * w; ox++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE
      uint32_t nx, fx;
      upsample_taps(ox, w, nx, fx);
      const uint64_t row_bytes = (uint64_t)w * c * ACT::BYTES, px = (uint64_t)c * ACT::BYTES;
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src + ny * row_bytes + nx * px, c, a);
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src + fy * row_bytes + nx * px, c, b);
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src + ny * row_bytes + fx * px, c, cc);
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src + fy * row_bytes + fx * px, c, dd);
    UP_CH:
      for (uint32_t k = 0; k < c; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
        const int64_t rows_n = add_wrap(mul_wrap(3, a[k]), b[k]);
        const int64_t rows_f = add_wrap(mul_wrap(3, cc[k]), dd[k]);
        out[k] = quant_counted<ACT, ACT::FRAC + 4>(add_wrap(mul_wrap(3, rows_n), rows_f),
                                                   prof.v[isa::PROF_OVERFLOWS]);
      }
      write_row<CFG, ACT::BYTES>(ymem, dst + ((uint64_t)oy * 2 * w + ox) * px, c, out);
    }
  }
  return isa::ERR_OK;
}

/**
 * ADD: dst = q(a + b), or COPY: dst = a, in chunks of ADD_CHUNK elements.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_add(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  const uint64_t n = ins.f(isa::FLD_ADD_COUNT);
  const uint64_t pa = ins.f(isa::FLD_ADD_A), pb = ins.f(isa::FLD_ADD_B);
  const uint64_t pd = ins.f(isa::FLD_ADD_DST);
  const bool copy = ins.has(isa::FLAG_COPY);
  int64_t va[CFG::ADD_CHUNK], vb[CFG::ADD_CHUNK];
ADD_CHUNKS:
  for (uint64_t i0 = 0; i0 < n; i0 += CFG::ADD_CHUNK) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ADD_CHUNKS
    const uint32_t m = (uint32_t)em_umin(CFG::ADD_CHUNK, n - i0);
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, pa + i0 * ACT::BYTES, m, va);
    if (!copy) {
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, pb + i0 * ACT::BYTES, m, vb);
    ADD_ELEMS:
      for (uint32_t j = 0; j < m; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ADD_CHUNK
#pragma HLS PIPELINE II=1
        va[j] = quant_counted<ACT, ACT::FRAC>(add_wrap(va[j], vb[j]),
                                              prof.v[isa::PROF_OVERFLOWS]);
      }
    }
    write_row<CFG, ACT::BYTES>(ymem, pd + i0 * ACT::BYTES, m, va);
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_VECTOR_HPP
