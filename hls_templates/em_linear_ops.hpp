/**
 * @file em_linear_ops.hpp
 * @brief LINEAR and CONV on the unified linear engine (edgemoe/golden/linear_ops.py
 *        op_linear, op_conv): their row sources (plain, gathered, im2col) and epilogues
 *        (GELU/ReLU, residual, score-scaled accumulate, scatter).
 */
#ifndef EDGEMOE_EM_LINEAR_OPS_HPP
#define EDGEMOE_EM_LINEAR_OPS_HPP

#include "em_linear.hpp"

namespace edgemoe {

/** LINEAR's row source and epilogue. @tparam CFG design point. */
template <class CFG>
struct linear_job {
  typedef typename CFG::act ACT;
  uint64_t src, dst, base_off, index, scores;
  uint32_t n, k, flags;

  uint32_t row_of(const typename CFG::word_t* mem, uint32_t t, uint32_t flag) const {
    return (flags & flag) ? (uint32_t)load_elem<CFG, 4, true>(mem, index + 4 * (uint64_t)t) : t;
  }

  void load_row(typename CFG::word_t* mem, uint32_t t, typename CFG::xbuf_t (&x)[CFG::XROW],
                uint32_t padded) {
    const uint32_t r = row_of(mem, t, isa::FLAG_GATHER);
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src + (uint64_t)r * k * ACT::BYTES, k, x);
    pad_row<CFG>(x, k, padded);
  }

  void emit(typename CFG::word_t* mem, uint32_t t, uint32_t col0, uint32_t ncols,
            const int64_t (&acc)[CFG::MAX_ROW_OUT], int acc_frac) {
    const uint32_t r = row_of(mem, t, isa::FLAG_SCATTER);
    const uint64_t row = ((uint64_t)r * n + col0) * ACT::BYTES;
    const bool score = (flags & isa::FLAG_SCORE_ACC) != 0;
    const bool accumulate = score || (flags & isa::FLAG_RESIDUAL) != 0;
    int64_t y[CFG::MAX_ROW_OUT];
    int64_t base[CFG::MAX_ROW_OUT];
    if (accumulate) read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, base_off + row, ncols, base);
    // scores are int32 words holding raw activation values (as the MoE queues)
    const uint64_t s_off = scores + (uint64_t)t * 4;
    const int64_t s = score ? load_elem<CFG, 4, true>(mem, s_off) : 0;
  LIN_EPILOGUE:
    for (uint32_t j = 0; j < ncols; j++) {
#pragma HLS PIPELINE II=1
      int64_t v = quant_rt<ACT, CFG::QMAX>(acc[j], acc_frac);
      if (flags & isa::FLAG_GELU) v = gelu<ACT>(v);
      if ((flags & isa::FLAG_RELU) && v < 0) v = 0;
      if (score) v = quant<ACT, 2 * ACT::FRAC>(mul_wrap(s, v));
      if (accumulate) v = quant<ACT, ACT::FRAC>(add_wrap(base[j], v));
      y[j] = v;
    }
    write_row<CFG, ACT::BYTES>(mem, dst + row, ncols, y);
  }
};

/**
 * LINEAR (golden op_linear): optional dynamic token count, gather/scatter through an
 * index list, GELU/ReLU epilogue, residual add or score-scaled accumulate.
 * Returns ERR_BAD_QUEUE, before writing anything, for a bad count or index list.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_linear(typename CFG::word_t* mem, lin_buffers<CFG>& lb, const instr_t& ins,
                   profile_t& prof) {
  const uint32_t tokens = ins.f(isa::FLD_LINEAR_TOKENS);
  const uint32_t n = ins.f(isa::FLD_LINEAR_OUT_FEATURES), k = ins.f(isa::FLD_LINEAR_IN_FEATURES);
  const uint32_t rows = ins.f(isa::FLD_D3);
  uint32_t t = tokens;
  if (ins.has(isa::FLAG_DYN_COUNT)) {
    t = load_u32<CFG>(mem, ins.f(isa::FLD_LINEAR_COUNT));
    if (t > tokens) return isa::ERR_BAD_QUEUE;
  }
  linear_job<CFG> job;
  job.src = ins.f(isa::FLD_LINEAR_SRC);
  job.dst = ins.f(isa::FLD_LINEAR_DST);
  job.base_off = ins.has(isa::FLAG_SCORE_ACC) ? job.dst : (uint64_t)ins.f(isa::FLD_LINEAR_RESIDUAL);
  job.index = ins.f(isa::FLD_LINEAR_INDEX);
  job.scores = ins.f(isa::FLD_LINEAR_SCORES);
  job.n = n;
  job.k = k;
  job.flags = ins.flags();
  if (ins.flags() & (isa::FLAG_GATHER | isa::FLAG_SCATTER)) {
  LIN_CHECK_INDEX:
    for (uint32_t i = 0; i < t; i++) {
      const int64_t r = load_elem<CFG, 4, true>(mem, job.index + 4 * (uint64_t)i);
      if (r < 0 || r >= (int64_t)rows) return isa::ERR_BAD_QUEUE;
    }
  }
  lin_run_flags<CFG>(mem, lb, job, ins, t, n, k, ins.f(isa::FLD_LINEAR_WEIGHTS),
                     ins.f(isa::FLD_LINEAR_BIAS), CFG::act::FRAC);
  prof.v[isa::PROF_MACS] += (uint64_t)t * n * k;
  prof.v[isa::PROF_WEIGHT_BYTES] += fetched_weight_bytes<CFG>(ins, n, k);
  return isa::ERR_OK;
}

/** CONV's im2col row source (HWC activations or planar pixels) and epilogue.
 *  @tparam CFG design point. */
template <class CFG>
struct conv_job {
  typedef typename CFG::act ACT;
  typedef typename CFG::pixel PIX;
  uint64_t src, dst, residual;
  uint32_t h, w, ci, co, kernel, stride, pad, ow;
  bool pixels, relu, has_residual;

  void load_row(typename CFG::word_t* mem, uint32_t p, typename CFG::xbuf_t (&x)[CFG::XROW],
                uint32_t padded) {
    const int64_t oy = p / ow, ox = p % ow;
    const uint32_t kk = kernel * kernel;
    typename CFG::xbuf_t tap[CFG::XROW];
  CONV_KY:
    for (uint32_t ky = 0; ky < kernel; ky++) {
    CONV_KX:
      for (uint32_t kx = 0; kx < kernel; kx++) {
        const int64_t iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
        const bool inside = iy >= 0 && iy < (int64_t)h && ix >= 0 && ix < (int64_t)w;
        if (inside && !pixels) {
          read_row<CFG, ACT::BYTES, ACT::SIGNED>(
              mem, src + ((uint64_t)iy * w + (uint64_t)ix) * ci * ACT::BYTES, ci, tap);
        }
      CONV_CH:
        for (uint32_t c = 0; c < ci; c++) {
          typename CFG::xbuf_t v = 0;
          if (inside && pixels) {
            v = (typename CFG::xbuf_t)load_elem<CFG, PIX::BYTES, PIX::SIGNED>(
                mem, src + (((uint64_t)c * h + (uint64_t)iy) * w + (uint64_t)ix) * PIX::BYTES);
          } else if (inside) {
            v = tap[c];
          }
          x[c * kk + ky * kernel + kx] = v;
        }
      }
    }
    pad_row<CFG>(x, ci * kk, padded);
  }

  void emit(typename CFG::word_t* mem, uint32_t p, uint32_t col0, uint32_t ncols,
            const int64_t (&acc)[CFG::MAX_ROW_OUT], int acc_frac) {
    const uint64_t row = ((uint64_t)p * co + col0) * ACT::BYTES;
    int64_t y[CFG::MAX_ROW_OUT];
    int64_t base[CFG::MAX_ROW_OUT];
    if (has_residual) read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, residual + row, ncols, base);
  CONV_EPILOGUE:
    for (uint32_t j = 0; j < ncols; j++) {
#pragma HLS PIPELINE II=1
      int64_t v = quant_rt<ACT, CFG::QMAX>(acc[j], acc_frac);
      if (relu && v < 0) v = 0;
      if (has_residual) v = quant<ACT, ACT::FRAC>(add_wrap(v, base[j]));
      y[j] = v;
    }
    write_row<CFG, ACT::BYTES>(mem, dst + row, ncols, y);
  }
};

/**
 * CONV (golden op_conv) lowered onto the linear engine: every output pixel is one token
 * whose input row is its im2col column (ordered channel, ky, kx).
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_conv(typename CFG::word_t* mem, lin_buffers<CFG>& lb, const instr_t& ins,
                 profile_t& prof) {
  conv_job<CFG> job;
  const uint32_t ksp = ins.f(isa::FLD_CONV_KERNEL_STRIDE_PAD);
  job.kernel = ksp & 0xFF;
  job.stride = (ksp >> 8) & 0xFF;
  job.pad = (ksp >> 16) & 0xFF;
  job.h = ins.f(isa::FLD_CONV_IN_H);
  job.w = ins.f(isa::FLD_CONV_IN_W);
  job.ci = ins.f(isa::FLD_CONV_IN_CH);
  job.co = ins.f(isa::FLD_CONV_OUT_CH);
  job.src = ins.f(isa::FLD_CONV_SRC);
  job.dst = ins.f(isa::FLD_CONV_DST);
  job.residual = ins.f(isa::FLD_CONV_RESIDUAL);
  job.pixels = ins.has(isa::FLAG_PIXEL_INPUT);
  job.relu = ins.has(isa::FLAG_RELU);
  job.has_residual = ins.has(isa::FLAG_RESIDUAL);
  const uint32_t oh = (uint32_t)conv_out_size(job.h, job.kernel, job.stride, job.pad);
  job.ow = (uint32_t)conv_out_size(job.w, job.kernel, job.stride, job.pad);
  const uint32_t k = job.ci * job.kernel * job.kernel;
  const int x_frac = job.pixels ? CFG::pixel::FRAC : CFG::act::FRAC;
  lin_run_flags<CFG>(mem, lb, job, ins, oh * job.ow, job.co, k, ins.f(isa::FLD_CONV_WEIGHTS),
                     ins.f(isa::FLD_CONV_BIAS), x_frac);
  prof.v[isa::PROF_MACS] += (uint64_t)oh * job.ow * job.co * k;
  prof.v[isa::PROF_WEIGHT_BYTES] += fetched_weight_bytes<CFG>(ins, job.co, k);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_OPS_HPP
