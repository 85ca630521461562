/**
 * @file em_linear.hpp
 * @brief The unified linear engine: a P_OUT x P_IN multiply-accumulate tile fed from
 *        double-buffered (ping/pong) weight memories, shared by LINEAR, CONV, MOE_GATE
 *        and MOE_EXPERTS (edgemoe/golden/linear_ops.py, linear_core).
 *
 * Weights are packed [ceil(out/P_OUT)][ceil(in/P_IN)][P_OUT][P_IN] (edgemoe/layout.py).
 * A layer whose weights exceed one buffer runs in chunks of whole output-tile strips;
 * the next chunk (or the next layer's first chunk, see lin_next) loads into the idle
 * buffer, independent of the compute on the current one.  For every
 * token the engine accumulates x . w exactly in 64-bit wrap-around registers starting
 * from the bias (aligned to the accumulator's fraction bits) and hands the raw sums to
 * the op's job, which quantizes once and applies its epilogue.
 *
 * A job is a struct with
 *   void load_row(word_t* mem, uint32_t token, xbuf_t x[], uint32_t padded_k);
 *   void emit(word_t* mem, uint32_t token, uint32_t col0, uint32_t ncols,
 *             const int64_t acc[], int acc_frac);
 */
#ifndef EDGEMOE_EM_LINEAR_HPP
#define EDGEMOE_EM_LINEAR_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

namespace edgemoe {

/**
 * Ping/pong weight buffers and their aligned biases (one instance, shared by every op).
 *
 * @tparam CFG design point: WBUF_TILES tiles of P_OUT x P_IN weights per buffer.
 */
template <class CFG>
struct lin_buffers {
  typename CFG::wbuf_t w[2][CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN];
  int64_t bias[2][CFG::MAX_ROW_OUT];
  // what the idle buffer was preloaded with during the previous layer (see lin_next)
  bool pre_valid;
  int pre_buf;
  uint64_t pre_w, pre_b;
  uint32_t pre_n, pre_k;
};

/** The layer that runs after the current one: its first weight chunk is loaded into the
 *  idle buffer while the current layer's last chunk computes (same weight/bias formats). */
struct lin_next {
  bool valid;
  uint64_t w_off, b_off;
  uint32_t n, k;
};

/**
 * Load output tiles [ot0, ot0 + n_ot) of a packed matrix (kt input tiles per row strip).
 *
 * @tparam CFG  design point.
 * @tparam WFMT weight format trait (storage bytes, signed).
 */
template <class CFG, class WFMT>
void lin_load_weights(const typename CFG::word_t* mem, uint64_t w_off, uint32_t kt, uint32_t ot0,
                      uint32_t n_ot,
                      typename CFG::wbuf_t (&buf)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN]) {
  const uint32_t tile_words = CFG::P_OUT * CFG::P_IN;
  const uint64_t base = w_off + (uint64_t)ot0 * kt * tile_words * WFMT::BYTES;
  typename CFG::wbuf_t tile[CFG::P_OUT * CFG::P_IN];
LW_TILES:
  for (uint32_t t = 0; t < n_ot * kt; t++) {
    read_row<CFG, WFMT::BYTES, true>(mem, base + (uint64_t)t * tile_words * WFMT::BYTES, tile_words,
                                     tile);
  LW_OUT:
    for (int o = 0; o < CFG::P_OUT; o++) {
    LW_IN:
      for (int i = 0; i < CFG::P_IN; i++) buf[t][o][i] = tile[o * CFG::P_IN + i];
    }
  }
}

/**
 * Load the biases of output columns [ot0*P_OUT, ...) aligned to acc_frac fraction bits
 * (zero without a bias or past the last column).
 *
 * @tparam CFG  design point.
 * @tparam BFMT bias format trait.
 */
template <class CFG, class BFMT>
void lin_load_bias(const typename CFG::word_t* mem, uint64_t b_off, bool has_bias, uint32_t ot0,
                   uint32_t n_ot, uint32_t n_out, int acc_frac, int64_t (&bias)[CFG::MAX_ROW_OUT]) {
  const uint32_t col0 = ot0 * CFG::P_OUT;
  const uint32_t cols = n_ot * CFG::P_OUT;
  const uint32_t valid = has_bias ? (uint32_t)em_umin(cols, n_out - col0) : 0;
  int64_t raw[CFG::MAX_ROW_OUT];
  read_row<CFG, BFMT::BYTES, BFMT::SIGNED>(mem, b_off + (uint64_t)col0 * BFMT::BYTES, valid, raw);
LB_COLS:
  for (uint32_t j = 0; j < cols; j++) {
    bias[j] = j < valid ? shift_frac(raw[j], BFMT::FRAC, acc_frac) : 0;
  }
}

/**
 * One token through the MAC tile: acc[c] = bias[c] + sum_k x[k] * w[c][k] (mod 2**64) for
 * the n_ot output tiles held in one weight buffer.  The single instance of the engine.
 *
 * @tparam CFG design point (P_OUT x P_IN MACs per cycle).
 */
template <class CFG>
void lin_row(const typename CFG::xbuf_t (&x)[CFG::XROW],
             const typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
             const int64_t (&bias)[CFG::MAX_ROW_OUT], uint32_t kt, uint32_t n_ot,
             int64_t (&acc_out)[CFG::MAX_ROW_OUT]) {
LR_OTILES:
  for (uint32_t ot = 0; ot < n_ot; ot++) {
    uint64_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=acc type=complete  // one accumulator register per output lane
  LR_INIT:
    for (int o = 0; o < CFG::P_OUT; o++) acc[o] = (uint64_t)bias[ot * CFG::P_OUT + o];
  LR_KTILES:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS PIPELINE II=1
    LR_MAC_OUT:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        uint64_t sum = 0;
      LR_MAC_IN:
#pragma GCC unroll 64  // C-simulation speed only (g++ -O2 keeps the x row in registers)
        for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
          sum += mac_product(x[k * CFG::P_IN + i], w[ot * kt + k][o][i]);
        }
        acc[o] += sum;
      }
    }
  LR_STORE:
    for (int o = 0; o < CFG::P_OUT; o++) acc_out[ot * CFG::P_OUT + o] = (int64_t)acc[o];
  }
}

/**
 * Run a whole linear layer (tokens x [n, k] weights) through the engine for one job.
 *
 * @tparam CFG  design point.
 * @tparam WFMT weight format trait.
 * @tparam BFMT bias format trait.
 * @tparam JOB  op-specific row source and output sink (see the file comment).
 */
template <class CFG, class WFMT, class BFMT, class JOB>
void lin_run(typename CFG::word_t* mem, lin_buffers<CFG>& lb, JOB& job, uint32_t tokens,
             uint32_t n, uint32_t k, uint64_t w_off, uint64_t b_off, bool has_bias, int x_frac,
             const lin_next& after) {
  const int acc_frac = x_frac + WFMT::FRAC;
  const uint32_t kt = (uint32_t)ceil_div(k, CFG::P_IN);
  const uint32_t ot_total = (uint32_t)ceil_div(n, CFG::P_OUT);
  const uint32_t per_chunk = CFG::WBUF_TILES / kt;
  typename CFG::xbuf_t x[CFG::XROW];
  int64_t acc[CFG::MAX_ROW_OUT];
  const bool preloaded = lb.pre_valid && has_bias && lb.pre_w == w_off && lb.pre_b == b_off &&
                         lb.pre_n == n && lb.pre_k == k;
  int ping = preloaded ? lb.pre_buf : 0;
  lb.pre_valid = false;
  if (!preloaded) {
    const uint32_t n_first = (uint32_t)em_umin(per_chunk, ot_total);
    lin_load_weights<CFG, WFMT>(mem, w_off, kt, 0, n_first, lb.w[ping]);
    lin_load_bias<CFG, BFMT>(mem, b_off, has_bias, 0, n_first, n, acc_frac, lb.bias[ping]);
  }
LRUN_CHUNKS:
  for (uint32_t ot0 = 0; ot0 < ot_total; ot0 += per_chunk) {
    const uint32_t n_ot = (uint32_t)em_umin(per_chunk, ot_total - ot0);
    const uint32_t next = ot0 + per_chunk;
    // fill the idle buffer (this layer's next chunk, or else the first chunk of the layer
    // that follows): it shares no buffer with this chunk's compute, so the two can overlap
    if (next < ot_total) {
      const uint32_t n_next = (uint32_t)em_umin(per_chunk, ot_total - next);
      lin_load_weights<CFG, WFMT>(mem, w_off, kt, next, n_next, lb.w[1 - ping]);
      lin_load_bias<CFG, BFMT>(mem, b_off, has_bias, next, n_next, n, acc_frac, lb.bias[1 - ping]);
    } else if (after.valid) {
      const uint32_t kt2 = (uint32_t)ceil_div(after.k, CFG::P_IN);
      const uint32_t n_pre =
          (uint32_t)em_umin(CFG::WBUF_TILES / kt2, ceil_div(after.n, CFG::P_OUT));
      lin_load_weights<CFG, WFMT>(mem, after.w_off, kt2, 0, n_pre, lb.w[1 - ping]);
      lin_load_bias<CFG, BFMT>(mem, after.b_off, true, 0, n_pre, after.n, acc_frac,
                               lb.bias[1 - ping]);
      lb.pre_valid = true;
      lb.pre_buf = 1 - ping;
      lb.pre_w = after.w_off;
      lb.pre_b = after.b_off;
      lb.pre_n = after.n;
      lb.pre_k = after.k;
    }
    const uint32_t col0 = ot0 * CFG::P_OUT;
    const uint32_t ncols = (uint32_t)em_umin((uint64_t)n_ot * CFG::P_OUT, n - col0);
  LRUN_TOKENS:
    for (uint32_t t = 0; t < tokens; t++) {
      job.load_row(mem, t, x, kt * CFG::P_IN);
      lin_row<CFG>(x, lb.w[ping], lb.bias[ping], kt, n_ot, acc);
      job.emit(mem, t, col0, ncols, acc, acc_frac);
    }
    ping = 1 - ping;
  }
}

/** Zero x[from..to) (padding of an input row to whole P_IN tiles). @tparam CFG design point. */
template <class CFG>
inline void pad_row(typename CFG::xbuf_t (&x)[CFG::XROW], uint32_t from, uint32_t to) {
PAD_ROW:
  for (uint32_t i = from; i < to; i++) x[i] = 0;
}

/**
 * Run lin_run with the weight/bias formats the instruction's flags select.
 *
 * @tparam CFG design point.
 * @tparam JOB the op's row source and output sink.
 */
template <class CFG, class JOB>
void lin_run_flags(typename CFG::word_t* mem, lin_buffers<CFG>& lb, JOB& job, const instr_t& ins,
                   uint32_t tokens, uint32_t n, uint32_t k, uint64_t w_off, uint64_t b_off,
                   int x_frac) {
  typedef typename CFG::attn_bias AB;
  typedef typename CFG::bias B;
  const bool attn = ins.has(isa::FLAG_BFMT_ATTN);
  const lin_next none = {false, 0, 0, 0, 0};
  if (ins.has(isa::FLAG_WFMT_PATCH)) {
    typedef typename CFG::patch_weight W;
    if (attn) lin_run<CFG, W, AB>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
    else lin_run<CFG, W, B>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
  } else if (ins.has(isa::FLAG_WFMT_CONV)) {
    typedef typename CFG::conv_weight W;
    if (attn) lin_run<CFG, W, AB>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
    else lin_run<CFG, W, B>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
  } else {
    typedef typename CFG::linear_weight W;
    if (attn) lin_run<CFG, W, AB>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
    else lin_run<CFG, W, B>(mem, lb, job, tokens, n, k, w_off, b_off, true, x_frac, none);
  }
}

/**
 * Weight + bias block bytes of the formats selected by the flags (profile weight_bytes).
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline uint64_t fetched_weight_bytes(const instr_t& ins, uint64_t n, uint64_t k) {
  return weight_block_bytes<CFG>(n, k, weight_bytes_of<CFG>(ins)) +
         bias_block_bytes<CFG>(n, bias_bytes_of<CFG>(ins));
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_HPP
