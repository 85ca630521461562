/**
 * @file em_layernorm.hpp
 * @brief LAYERNORM (single pass statistics) on the vector engine, as
 *        edgemoe/golden/vector_ops.py defines it: a DATAFLOW region of five processes
 *        joined by VEC_LANES-wide tile streams (em_stream.hpp).
 *
 * The row needs two passes (statistics, then normalise), so the statistics process keeps
 * the row in its buffer and forwards it after the row's mean and rstd: while it sums row
 * r, the normalise process works on row r-1, the unpack process splits row r+1 into tiles
 * while the fetch process streams the rows after it (up to LN_ROW_SLOTS rows ahead, so
 * the read latency hides), and the store process writes row r-2.  gamma and beta are read
 * once, before the rows stream.
 */
#ifndef EDGEMOE_EM_LAYERNORM_HPP
#define EDGEMOE_EM_LAYERNORM_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"
#include "em_stream.hpp"

namespace edgemoe {

/** Mean and reciprocal standard deviation of one row (the statistics stream's beat). */
struct ln_row_stats {
  int64_t mean, rstd;
};

/**
 * LAYERNORM fetch process: the rows are contiguous, so their AXI beats are one run, each
 * beat read once (a beat two rows share goes with the first); the reads never wait for
 * the rows' consumers, so the m_axi adapter keeps its bursts in flight and the beat
 * stream holds LN_ROW_SLOTS rows: the read latency is paid once, not per row.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void ln_fetch(const typename CFG::word_t* xmem, uint64_t src, uint32_t rows, uint32_t d,
              hls::stream<typename CFG::word_t>& beats) {
#pragma HLS INLINE off  // a dataflow process
  const uint64_t row_bytes = (uint64_t)d * CFG::act::BYTES;
  uint64_t next = src / CFG::AXI_BYTES;  // the first beat not fetched yet
LN_FETCH_ROWS:
  for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const uint64_t last = (src + (r + 1) * row_bytes - 1) / CFG::AXI_BYTES;
  LN_FETCH_BEATS:
    for (uint64_t w = next; w <= last; w++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_BEATS
#pragma HLS PIPELINE II=1  // one AXI beat per cycle
      beats.write(xmem[w]);
    }
    next = last + 1 > next ? last + 1 : next;
  }
}

/**
 * LAYERNORM unpack process: each row's elements from the beat stream, as tiles.  A beat
 * two rows share is read once and held for the second.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void ln_unpack(hls::stream<typename CFG::word_t>& beats, uint64_t src, uint32_t rows,
               uint32_t d, hls::stream<vec_tile<CFG> >& xs) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  typename CFG::word_t held;
  uint64_t held_w = ~(uint64_t)0;  // index of the held beat (none yet)
LN_UNPACK_ROWS:
  for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const uint64_t off = src + (uint64_t)r * d * ACT::BYTES, end = off + (uint64_t)d * ACT::BYTES;
  LN_UNPACK_BEATS:
    for (uint64_t w = off / CFG::AXI_BYTES; w <= (end - 1) / CFG::AXI_BYTES; w++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_BEATS
#pragma HLS PIPELINE II=1
      if (w != held_w) {
        held = beats.read();
        held_w = w;
      }
    LN_UNPACK_SLOTS:
      for (int b = 0; b < CFG::AXI_BYTES; b += ACT::BYTES) {
        const uint64_t pos = w * CFG::AXI_BYTES + b;
        if (pos >= off && pos < end) {
          row[(pos - off) / ACT::BYTES] =
              lane_get<ACT::BYTES, ACT::SIGNED>(held.lane[b / 8], b % 8);
        }
      }
    }
    push_tiles<CFG, CFG::MAX_IN_FEATURES>(row, d, xs);
  }
}

/**
 * LAYERNORM statistics process: mean = floor(sum x / D); var = max(floor(sum (x>>s)^2 / D)
 * - (mean>>s)^2, 0) + eps; rstd = rsqrt(var); then the row itself, from the row buffer.
 *
 * @tparam CFG design point (CFG::LN_SHIFT = s, CFG::LN_VAR_FRAC, CFG::ln_rstd format).
 */
template <class CFG>
void ln_stats(hls::stream<vec_tile<CFG> >& xs, uint32_t rows, uint32_t d, int64_t eps,
              hls::stream<ln_row_stats>& stats, hls::stream<vec_tile<CFG> >& fwd) {
#pragma HLS INLINE off  // a dataflow process
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
LN_STAT_ROWS:
  for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    int64_t sum = 0, sumsq = 0;  // modulo 2**64: the lanes' order does not matter
  LN_SUMS:
    for (uint32_t k = 0; k < vec_tiles(d, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
      const vec_tile<CFG> tile = xs.read();
    LN_SUM_LANES:
      for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
        const int64_t x = tile.v[i], xs_ = x >> CFG::LN_SHIFT;  // lanes past d are 0
        sum = add_wrap(sum, x);
        sumsq = add_wrap(sumsq, mul_wrap(xs_, xs_));
        if (k * CFG::VEC_LANES + i < d) row[k * CFG::VEC_LANES + i] = x;
      }
    }
    const int64_t mean = floor_div(sum, d);
    const int64_t ms = mean >> CFG::LN_SHIFT;
    const int64_t var = add_wrap(em_max(sub_wrap(floor_div(sumsq, d), mul_wrap(ms, ms)), 0), eps);
    const ln_row_stats st = {mean, rsqrt<CFG::LN_VAR_FRAC, typename CFG::ln_rstd>(var)};
    stats.write(st);
    push_tiles<CFG, CFG::MAX_IN_FEATURES>(row, d, fwd);
  }
}

/**
 * LAYERNORM normalise process: y = q(q(q((x - mean) * rstd) * gamma) + q(beta)).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void ln_normalise(hls::stream<vec_tile<CFG> >& fwd, hls::stream<ln_row_stats>& stats,
                  const int64_t (&gamma)[CFG::MAX_IN_FEATURES],
                  const int64_t (&beta)[CFG::MAX_IN_FEATURES], uint32_t rows, uint32_t d,
                  hls::stream<vec_tile<CFG> >& ys, uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  typedef typename CFG::norm NORM;
  typedef typename CFG::ln_rstd RSTD;
  uint64_t ovf = 0;  // wrapped/saturated values
LN_NORM_ROWS:
  for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const ln_row_stats st = stats.read();
  LN_SCALE:
    for (uint32_t k = 0; k < vec_tiles(d, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
      const vec_tile<CFG> x = fwd.read();
      vec_tile<CFG> y;
    LN_SCALE_LANES:
      for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
        const uint32_t j = k * CFG::VEC_LANES + i;
        y.v[i] = 0;
        if (j < d) {  // lanes past d would count overflows golden never sees
          const int64_t centred = mul_wrap(sub_wrap(x.v[i], st.mean), st.rstd);
          const int64_t normed = quant_counted<ACT, ACT::FRAC + RSTD::FRAC>(centred, ovf);
          const int64_t g = quant_counted<ACT, ACT::FRAC + NORM::FRAC>(mul_wrap(normed, gamma[j]),
                                                                      ovf);
          y.v[i] = quant_counted<ACT, ACT::FRAC>(add_wrap(g, beta[j]), ovf);
        }
      }
      ys.write(y);
    }
  }
  overflows += ovf;
}

/**
 * LAYERNORM's DATAFLOW region: fetch -> unpack -> statistics -> normalise -> store over
 * the rows.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void ln_region(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
               const int64_t (&gamma)[CFG::MAX_IN_FEATURES],
               const int64_t (&beta)[CFG::MAX_IN_FEATURES], uint64_t src, uint64_t dst,
               uint32_t rows, uint32_t d, int64_t eps, uint64_t& overflows) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<typename CFG::word_t> beats("ln_beats");
#pragma HLS STREAM variable=beats depth=CFG::LN_ROW_SLOTS * CFG::MAX_ROW_BEATS  // the row ring
  hls::stream<vec_tile<CFG> > xs("ln_x");
#pragma HLS STREAM variable=xs depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one row
  hls::stream<ln_row_stats> stats("ln_stats");
#pragma HLS STREAM variable=stats depth=2
  hls::stream<vec_tile<CFG> > fwd("ln_row");
#pragma HLS STREAM variable=fwd depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one row
  hls::stream<vec_tile<CFG> > ys("ln_y");
#pragma HLS STREAM variable=ys depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one row
  ln_fetch<CFG>(xmem, src, rows, d, beats);
  ln_unpack<CFG>(beats, src, rows, d, xs);
  ln_stats<CFG>(xs, rows, d, eps, stats, fwd);
  ln_normalise<CFG>(fwd, stats, gamma, beta, rows, d, ys, overflows);
  vec_store_rows<CFG, CFG::MAX_IN_FEATURES, CFG::MAX_TOKENS>(ys, ymem, dst, d, (uint64_t)rows * d,
                                                            rows);
}

/**
 * LAYERNORM's parameters: gamma, and beta already quantized into the activation format.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void ln_load_params(const typename CFG::word_t* wmem, uint64_t gamma_off, uint64_t beta_off,
                    uint32_t d, int64_t (&gamma)[CFG::MAX_IN_FEATURES],
                    int64_t (&beta)[CFG::MAX_IN_FEATURES]) {
  typedef typename CFG::norm NORM;
  read_row<CFG, NORM::BYTES, NORM::SIGNED>(wmem, gamma_off, d, gamma);
  read_row<CFG, NORM::BYTES, NORM::SIGNED>(wmem, beta_off, d, beta);
LN_BETA:
  for (uint32_t j = 0; j < d; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
    beta[j] = quant<typename CFG::act, NORM::FRAC>(beta[j]);
  }
}

/**
 * LAYERNORM over the last axis of a [tokens, dim] tensor.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_layernorm(const typename CFG::word_t* xmem, const typename CFG::word_t* wmem,
                      typename CFG::word_t* ymem, const instr_t& ins, profile_t& prof) {
  int64_t gamma[CFG::MAX_IN_FEATURES], beta[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=gamma type=cyclic factor=CFG::VEC_LANES  // a tile per cycle
#pragma HLS ARRAY_PARTITION variable=beta type=cyclic factor=CFG::VEC_LANES
  const uint32_t d = ins.f(isa::FLD_LAYERNORM_DIM);
  ln_load_params<CFG>(wmem, ins.f(isa::FLD_LAYERNORM_GAMMA), ins.f(isa::FLD_LAYERNORM_BETA), d,
                      gamma, beta);
  ln_region<CFG>(xmem, ymem, gamma, beta, ins.f(isa::FLD_LAYERNORM_SRC),
                 ins.f(isa::FLD_LAYERNORM_DST), ins.f(isa::FLD_LAYERNORM_TOKENS), d, ins.imm(),
                 prof.v[isa::PROF_OVERFLOWS]);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LAYERNORM_HPP
