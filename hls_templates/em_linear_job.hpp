/**
 * @file em_linear_job.hpp
 * @brief What the linear engine reads and writes for each op: the row source (plain,
 *        gathered, im2col, expert queue) and the epilogue (GELU/ReLU, residual,
 *        score-scaled accumulate, scatter, router logits), selected by a run-time kind so
 *        that one engine instance serves LINEAR, CONV, MOE_GATE and MOE_EXPERTS
 *        (edgemoe/golden/linear_ops.py).
 */
#ifndef EDGEMOE_EM_LINEAR_JOB_HPP
#define EDGEMOE_EM_LINEAR_JOB_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_int8.hpp"
#include "em_numerics.hpp"

namespace edgemoe {

/** Which op a pass of the linear engine serves. */
enum lin_kind { JOB_LINEAR = 0, JOB_CONV = 1, JOB_GATE = 2, JOB_FC1 = 3, JOB_FC2 = 4 };

/** lin_job::hidden_codes bits (edgemoe/numerics/int8.py hidden_codes): a W8A8 MOE_EXPERTS'
 *  fc1 or a LINEAR with codes out writes its rows as int8 codes, one byte an element
 *  (HC_OUT): the expert's with hidden_x_mul, the LINEAR's column c with code_muls[c]
 *  (HC_MULS: the strip's cmul, loaded beside its channel multipliers); fc2 or a LINEAR with
 *  codes in reads them as its input codes (HC_IN).  One field as the SV job's. */
enum lin_hidden_codes { HC_OUT = 1, HC_IN = 2, HC_MULS = 4 };

/** Zero x[from..to) (padding of an input row to whole P_IN tiles). @tparam CFG design point. */
template <class CFG>
inline void pad_row(typename CFG::xbuf_t (&x)[CFG::XROW], uint32_t from, uint32_t to) {
PAD_ROW:
  for (uint32_t i = from; i < to; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::P_IN
#pragma HLS PIPELINE II=1
    x[i] = 0;
  }
}

/** Where token t's output row goes and the score it is scaled by: the row source reads
 *  them (index lists and queues live on the control port) and passes them to the writer. */
struct lin_tag {
  uint32_t row;   ///< output row (scatter index, expert-queue token, or t)
  int64_t score;  ///< raw activation-format score (score-scaled accumulate), else 0
  uint32_t clamped;  ///< W8A8: inputs of the row clamped to int8 (counted on chunk 0)
};

/**
 * What the engine's writer needs for every op: scalars only, so the writer process of the
 * dataflow region shares no array with the reader (em_linear.hpp lin_compute).
 *
 * @tparam CFG design point.
 */
template <class CFG>
struct lin_sink {
  typedef typename CFG::act ACT;
  uint32_t kind, flags;
  uint64_t dst, base_off, residual, scratch;
  uint32_t n, co, d, hidden;
  uint32_t hidden_codes;  ///< lin_hidden_codes
  int64_t hidden_x_mul;  ///< HC_OUT without HC_MULS: fc2's input multiplier

  /** Quantize the raw sums of token t, columns col0.., apply the epilogue and store (the
   *  rows it accumulates onto are read on the activation-out port it writes); MOE_GATE
   *  keeps its logits on chip for the router instead. */
  void emit(typename CFG::word_t* ymem, uint32_t t, const lin_tag& tag, uint32_t col0,
            uint32_t ncols, const int64_t (&acc)[CFG::MAX_ROW_OUT],
            const int64_t (&cmul)[CFG::MAX_ROW_OUT], int acc_frac,
            int64_t (&logits)[CFG::MAX_TOKENS][CFG::MAX_EXPERTS], uint64_t& overflows) const {
    uint64_t out = 0;       // byte offset of the output row
    uint64_t base = 0;      // byte offset of the row added to the result
    bool accumulate = false, scaled = false;
    int64_t s = 0;
    const bool gelu_on = (kind == JOB_LINEAR && (flags & isa::FLAG_GELU)) || kind == JOB_FC1;
    const bool relu_on = (kind == JOB_LINEAR || kind == JOB_CONV) && (flags & isa::FLAG_RELU);
    const bool codes = (hidden_codes & HC_OUT) != 0;  // a byte an element
    if (kind == JOB_LINEAR) {
      const uint64_t row = ((uint64_t)tag.row * n + col0) * ACT::BYTES;
      out = dst + (codes ? ((uint64_t)tag.row * n + col0) : row);
      base = base_off + row;
      scaled = (flags & isa::FLAG_SCORE_ACC) != 0;
      accumulate = scaled || (flags & isa::FLAG_RESIDUAL) != 0;
      s = tag.score;
    } else if (kind == JOB_CONV) {
      const uint64_t row = ((uint64_t)t * co + col0) * ACT::BYTES;
      out = dst + row;
      base = residual + row;
      accumulate = (flags & isa::FLAG_RESIDUAL) != 0;
    } else if (kind == JOB_FC1) {
      out = scratch + ((uint64_t)t * hidden + col0) * (codes ? 1 : ACT::BYTES);
    } else if (kind == JOB_FC2) {
      out = dst + ((uint64_t)tag.row * d + col0) * ACT::BYTES;
      base = out;
      scaled = accumulate = true;
      s = tag.score;
    }
    int64_t y[CFG::MAX_ROW_OUT];
    int64_t prev[CFG::MAX_ROW_OUT];
    uint32_t clamped = 0;  // hidden codes clamped to int8 (step 1 of fc2's input, here)
    if (accumulate) read_row<CFG, ACT::BYTES, ACT::SIGNED>(ymem, base, ncols, prev);
  LIN_EPILOGUE:
    for (uint32_t j = 0; j < ncols; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_OUT
#pragma HLS PIPELINE II=1
      int64_t v = quant_rt_counted<ACT, CFG::QMAX>(acc[j], acc_frac, overflows);
      if (gelu_on) v = gelu_counted<ACT>(v, overflows);
      if (scaled) v = quant_counted<ACT, 2 * ACT::FRAC>(mul_wrap(s, v), overflows);
      if (accumulate) v = quant_counted<ACT, ACT::FRAC>(add_wrap(prev[j], v), overflows);
      if (relu_on && v < 0) v = 0;  // on the sum: pieces accumulated into one output
      if (codes) v = q8_input<ACT>(v, (hidden_codes & HC_MULS) ? cmul[j] : hidden_x_mul, clamped);
      y[j] = v;
      if (kind == JOB_GATE) logits[t][col0 + j] = v;
    }
    if (codes) write_row<CFG, 1>(ymem, out, ncols, y);
    else if (kind != JOB_GATE) write_row<CFG, ACT::BYTES>(ymem, out, ncols, y);
    if (col0 == 0) overflows += tag.clamped;  // each row is read once per chunk
    overflows += clamped;  // each hidden element is written once
  }
};

/**
 * Row source of the linear engine for every op, and the fields its sink takes (sink()).
 *
 * @tparam CFG design point.
 */
template <class CFG>
struct lin_job {
  typedef typename CFG::act ACT;
  typedef typename CFG::pixel PIX;
  uint32_t kind;  ///< lin_kind
  uint32_t flags;  ///< LINEAR / CONV / MOE_EXPERTS instruction flags
  // LINEAR: rows of src (optionally gathered), written to dst (optionally scattered)
  uint64_t src, dst, base_off, index, scores;
  uint32_t n, k;
  int64_t x_mul;  ///< W8A8 (FLAG_WFMT_Q8): input multiplier, else 0 (rows pass unchanged)
  uint32_t hidden_codes;  ///< lin_hidden_codes (set by every op that runs a pass)
  int64_t hidden_x_mul;  ///< HC_OUT without HC_MULS: fc2's input multiplier (fc1 makes the codes)
  // CONV: im2col of an HWC tensor (or planar pixels), residual added when flagged;
  // use_line: through the line buffer (edgemoe/layout.py conv_uses_line)
  uint64_t residual;
  uint32_t h, w, ci, co, kernel, stride, pad, oh, ow;
  bool use_line;
  // MOE_EXPERTS: queue of the current expert, fc1 output in scratch
  uint64_t scratch;
  uint32_t d, hidden;
  int64_t idx[CFG::MAX_TOKENS];
  int64_t score[CFG::MAX_TOKENS];
  uint64_t overflows;  ///< values that wrapped or saturated (profile), cleared by the op

  uint32_t row_of(const typename CFG::word_t* mem, uint32_t t, uint32_t flag) const {
    return (flags & flag) ? (uint32_t)load_elem<CFG, 4, true>(mem, index + 4 * (uint64_t)t) : t;
  }

  /** Line buffer (edgemoe_lin_loader.sv G_FILL, G_PRE): input row iy lives in slot
   *  iy mod (kernel + stride).  Pixel 0 reads the kernel's first rows whole; pixel (oy,
   *  ox) then reads ahead input pixels [ox*s, ox*s + s) (the row's last pixel: the rest)
   *  of the rows output row oy + 1 adds, so each input pixel is read once per pass. */
  void fill_line(const typename CFG::word_t* mem, bool first, int64_t oy, int64_t ox,
                 typename CFG::xbuf_t (&line)[CFG::CONV_LINE_DEPTH]) const {
    const uint32_t row = w * ci, rows = kernel + stride;
  LINE_FIRST:
    for (uint32_t ky = 0; ky < kernel; ky++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_CONV_KERNEL
      const int64_t iy = (int64_t)ky - pad;
      if (first && iy >= 0 && iy < (int64_t)h) {
        read_row<CFG, ACT::BYTES, ACT::SIGNED>(
            mem, src + (uint64_t)iy * row * ACT::BYTES, row, &line[(iy % rows) * row]);
      }
    }
    const uint32_t x0 = (uint32_t)em_umin(ox * stride, w);
    const uint32_t x1 = ox + 1 == ow ? w : (uint32_t)em_umin(ox * stride + stride, w);
  LINE_AHEAD:
    for (uint32_t j = 0; j < stride; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_CONV_KERNEL
      const int64_t iy = oy * stride - pad + kernel + j;
      if (!first && oy + 1 < (int64_t)oh && iy >= 0 && iy < (int64_t)h && x1 > x0) {
        read_row<CFG, ACT::BYTES, ACT::SIGNED>(
            mem, src + ((uint64_t)iy * w + x0) * ci * ACT::BYTES, (x1 - x0) * ci,
            &line[(iy % rows) * row + x0 * ci]);
      }
    }
  }

  /** im2col column of output pixel p (ordered channel, ky, kx); with the line buffer the
   *  taps come from `line` instead of memory. */
  void load_im2col(const typename CFG::word_t* mem, uint32_t p,
                   typename CFG::xbuf_t (&x)[CFG::XROW],
                   typename CFG::xbuf_t (&line)[CFG::CONV_LINE_DEPTH]) const {
    const int64_t oy = p / ow, ox = p % ow;
    if (use_line && p == 0) fill_line(mem, true, 0, 0, line);  // the kernel's first rows
    const uint32_t kk = kernel * kernel;
    const bool pixels = (flags & isa::FLAG_PIXEL_INPUT) != 0;
    typename CFG::xbuf_t tap[CFG::XROW];
  CONV_KY:
    for (uint32_t ky = 0; ky < kernel; ky++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_CONV_KERNEL
    CONV_KX:
      for (uint32_t kx = 0; kx < kernel; kx++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_CONV_KERNEL
        const int64_t iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
        const bool inside = iy >= 0 && iy < (int64_t)h && ix >= 0 && ix < (int64_t)w;
        const uint64_t at =
            inside ? ((uint64_t)(iy % (kernel + stride)) * w + (uint64_t)ix) * ci : 0;
        if (inside && !pixels && !use_line) {
          read_row<CFG, ACT::BYTES, ACT::SIGNED>(
              mem, src + ((uint64_t)iy * w + (uint64_t)ix) * ci * ACT::BYTES, ci, tap);
        }
      CONV_CH:
        for (uint32_t c = 0; c < ci; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
          typename CFG::xbuf_t v = 0;
          if (inside && pixels) {
            v = (typename CFG::xbuf_t)load_elem<CFG, PIX::BYTES, PIX::SIGNED>(
                mem, src + (((uint64_t)c * h + (uint64_t)iy) * w + (uint64_t)ix) * PIX::BYTES);
          } else if (inside && use_line) {
            v = line[at + c];
          } else if (inside) {
            v = tap[c];
          }
          x[c * kk + ky * kernel + kx] = v;
        }
      }
    }
    if (use_line) fill_line(mem, false, oy, ox, line);  // after the taps: their slots stay intact
  }

  /** The scalars the writer needs (lin_sink). */
  lin_sink<CFG> sink() const {
    const lin_sink<CFG> out = {kind, flags, dst,    base_off,     residual,    scratch,
                               n,    co,    d,      hidden,       hidden_codes, hidden_x_mul};
    return out;
  }

  /** Input row of token t, zero-padded to `padded` elements (activation-in port; index
   *  lists and scores on the control port); returns where its output goes. */
  lin_tag load_row(const typename CFG::word_t* mem, const typename CFG::word_t* xmem,
                   uint32_t t, typename CFG::xbuf_t (&x)[CFG::XROW], uint32_t padded,
                   typename CFG::xbuf_t (&line)[CFG::CONV_LINE_DEPTH]) const {
    uint64_t off = 0;
    uint32_t len = k;
    lin_tag tag = {t, 0, 0};
    const bool codes = (hidden_codes & HC_IN) != 0;  // int8 codes: passed as is
    const uint32_t xb = codes ? 1 : ACT::BYTES;
    if (kind == JOB_LINEAR) {
      off = src + (uint64_t)row_of(mem, t, isa::FLAG_GATHER) * k * xb;
      tag.row = row_of(mem, t, isa::FLAG_SCATTER);
      // scores are int32 words holding raw activation values (as the MoE queues)
      if (flags & isa::FLAG_SCORE_ACC) {
        tag.score = load_elem<CFG, 4, true>(mem, scores + (uint64_t)t * 4);
      }
    } else if (kind == JOB_GATE) {
      off = src + (uint64_t)t * d * ACT::BYTES;
      len = d;
    } else if (kind == JOB_FC1) {
      off = src + (uint64_t)idx[t] * d * ACT::BYTES;
      len = d;
    } else if (kind == JOB_FC2) {
      // scratch rows of the fc1 pass, whose engine call (and writes) ended before this one
      off = scratch + (uint64_t)t * hidden * xb;
      len = hidden;
      tag.row = (uint32_t)idx[t];
      tag.score = score[t];
    }
    if (kind == JOB_CONV) {
      load_im2col(xmem, t, x, line);
      len = ci * kernel * kernel;
    } else if (codes) {
      read_row<CFG, 1, true>(xmem, off, len, x);
    } else {
      read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, off, len, x);
    }
    pad_row<CFG>(x, len, padded);
    return tag;
  }
};

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_JOB_HPP
