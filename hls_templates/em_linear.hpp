/**
 * @file em_linear.hpp
 * @brief The unified linear engine: a P_OUT x P_IN multiply-accumulate tile fed from
 *        double-buffered (ping/pong) weight memories, shared by LINEAR, CONV, MOE_GATE
 *        and MOE_EXPERTS (edgemoe/golden/linear_ops.py, linear_core).
 *
 * Weights are packed [ceil(out/P_OUT)][ceil(in/P_IN)][P_OUT][P_IN] (edgemoe/layout.py).
 * A layer whose weights exceed one buffer runs in chunks of whole output-tile strips.
 * Step s of lin_run fills the idle buffer with chunk s+1 (or, after the last chunk, the
 * first chunk of the layer that follows, see lin_next) and computes chunk s on the other
 * buffer: the two share no memory, so the load overlaps the compute.  For every token
 * the engine accumulates x . w exactly in 64-bit wrap-around registers starting from the
 * bias (aligned to the accumulator's fraction bits) and hands the raw sums to the job
 * (em_linear_job.hpp), which quantizes once and applies the op's epilogue.
 *
 * One hardware instance: lin_run is templated on the design point only (weight and bias
 * formats and the job kind are run-time values), INLINE off, and the top function limits it
 * to one instance (ALLOCATION limit=1) over the op handlers that call it, which are
 * inlined into the dispatcher; lin_load and lin_row are each called once, from lin_run.
 */
#ifndef EDGEMOE_EM_LINEAR_HPP
#define EDGEMOE_EM_LINEAR_HPP

#include "em_isa.hpp"
#include "em_linear_job.hpp"
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
  lin_job<CFG> job;  // the row source and sink of the current pass (one for every op)
};

/** The layer that runs after the current one: its first weight chunk is loaded into the
 *  idle buffer while the current layer's last chunk computes (same weight/bias formats). */
struct lin_next {
  bool valid;
  uint64_t w_off, b_off;
  uint32_t n, k;
};

/** One pass of the engine: tokens x [n, k] weights in the given formats. */
struct lin_pass {
  uint32_t tokens, n, k;
  uint64_t w_off, b_off;
  bool has_bias;
  int x_frac;          ///< fraction bits of the input rows
  fmt_rt wfmt, bfmt;   ///< weight and bias formats
  lin_next after;      ///< layer whose first chunk preloads during the last chunk
};

/** Output tiles [ot0, ot0 + n_ot) of a packed matrix to load into one buffer. */
struct lin_load_req {
  uint64_t w_off, b_off;
  bool has_bias;
  uint32_t kt, ot0, n_ot, n_out;
};

/**
 * Load output tiles of a packed matrix and their biases (aligned to acc_frac fraction
 * bits; zero without a bias or past the last column) into buffer `buf`.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_load(const typename CFG::word_t* mem, const lin_load_req& rq, int acc_frac,
              const fmt_rt& wfmt, const fmt_rt& bfmt, lin_buffers<CFG>& lb, int buf) {
#pragma HLS INLINE off  // the weight loader: one instance
  const uint32_t tile_words = CFG::P_OUT * CFG::P_IN;
  const uint64_t base = rq.w_off + (uint64_t)rq.ot0 * rq.kt * tile_words * wfmt.bytes;
  typename CFG::wbuf_t tile[CFG::P_OUT * CFG::P_IN];
#pragma HLS ARRAY_PARTITION variable=tile type=complete  // one tile lands in one cycle
LW_TILES:
  for (uint32_t t = 0; t < rq.n_ot * rq.kt; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
    read_row_fmt<CFG>(mem, base + (uint64_t)t * tile_words * wfmt.bytes, tile_words, wfmt, tile);
  LW_OUT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
    LW_IN:
      for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
        lb.w[buf][t][o][i] = tile[o * CFG::P_IN + i];
      }
    }
  }
  const uint32_t col0 = rq.ot0 * CFG::P_OUT;
  const uint32_t cols = rq.n_ot * CFG::P_OUT;
  const uint32_t valid = rq.has_bias ? (uint32_t)em_umin(cols, rq.n_out - col0) : 0;
  int64_t raw[CFG::MAX_ROW_OUT];
  read_row_fmt<CFG>(mem, rq.b_off + (uint64_t)col0 * bfmt.bytes, valid, bfmt, raw);
LB_COLS:
  for (uint32_t j = 0; j < cols; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_OUT
#pragma HLS PIPELINE II=1
    lb.bias[buf][j] = j < valid ? shift_frac(raw[j], bfmt.frac, acc_frac) : 0;
  }
}

/**
 * One token through the MAC tile: acc[c] = bias[c] + sum_k x[k] * w[c][k] (mod 2**64) for
 * the n_ot output tiles held in weight buffer `buf`.
 *
 * @tparam CFG design point (P_OUT x P_IN MACs per cycle).
 */
template <class CFG>
void lin_row(const typename CFG::xbuf_t (&x)[CFG::XROW], const lin_buffers<CFG>& lb, int buf,
             uint32_t kt, uint32_t n_ot, int64_t (&acc_out)[CFG::MAX_ROW_OUT]) {
#pragma HLS INLINE off  // the MAC tile: one instance
LR_OTILES:
  for (uint32_t ot = 0; ot < n_ot; ot++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
    uint64_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=acc type=complete  // one accumulator register per output lane
  LR_INIT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      acc[o] = (uint64_t)lb.bias[buf][ot * CFG::P_OUT + o];
    }
  LR_KTILES:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
    LR_MAC_OUT:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        uint64_t sum = 0;
      LR_MAC_IN:
#pragma GCC unroll 64  // C-simulation speed only (g++ keeps the x row in registers)
        for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
          sum += mac_product(x[k * CFG::P_IN + i], lb.w[buf][ot * kt + k][o][i]);
        }
        acc[o] += sum;
      }
    }
  LR_STORE:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      acc_out[ot * CFG::P_OUT + o] = (int64_t)acc[o];
    }
  }
}

/**
 * Run one pass (a whole linear layer) through the engine for a job.
 *
 * @tparam CFG design point.
 * @param lb  the ping/pong buffers and the job (lb.job: the op's row source and output
 *            sink, em_linear_job.hpp); on return they remember what was preloaded.
 * @param ps  shapes, operand offsets, formats and the layer that follows.
 */
template <class CFG>
void lin_run(typename CFG::word_t* mem, lin_buffers<CFG>& lb, const lin_pass& ps) {
#pragma HLS INLINE off  // the linear engine: one instance
  const int acc_frac = ps.x_frac + ps.wfmt.frac;
  const uint32_t kt = (uint32_t)ceil_div(ps.k, CFG::P_IN);
  const uint32_t ot_total = (uint32_t)ceil_div(ps.n, CFG::P_OUT);
  const uint32_t per_chunk = CFG::WBUF_TILES / kt;
  const int32_t n_chunks = (int32_t)ceil_div(ot_total, per_chunk);
  typename CFG::xbuf_t x[CFG::XROW];
  int64_t acc[CFG::MAX_ROW_OUT];
#pragma HLS ARRAY_PARTITION variable=x type=cyclic factor=CFG::P_IN  // P_IN inputs per cycle
#pragma HLS ARRAY_PARTITION variable=acc type=cyclic factor=CFG::P_OUT  // P_OUT sums per tile
  const bool preloaded = lb.pre_valid && ps.has_bias && lb.pre_w == ps.w_off &&
                         lb.pre_b == ps.b_off && lb.pre_n == ps.n && lb.pre_k == ps.k;
  const int first = preloaded ? lb.pre_buf : 0;
  lb.pre_valid = false;
  // step -1 only loads chunk 0 (unless the previous layer preloaded it)
LRUN_STEPS:
  for (int32_t s = preloaded ? 0 : -1; s < n_chunks; s++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_LIN_STEPS
    const int fill = (first + s + 1) & 1;  // the idle buffer
    lin_load_req rq = {ps.w_off, ps.b_off, ps.has_bias, kt, 0, 0, ps.n};
    if (s + 1 < n_chunks) {
      rq.ot0 = (uint32_t)(s + 1) * per_chunk;
      rq.n_ot = (uint32_t)em_umin(per_chunk, ot_total - rq.ot0);
    } else if (ps.after.valid) {
      rq.w_off = ps.after.w_off;
      rq.b_off = ps.after.b_off;
      rq.has_bias = true;
      rq.kt = (uint32_t)ceil_div(ps.after.k, CFG::P_IN);
      rq.n_ot = (uint32_t)em_umin(CFG::WBUF_TILES / rq.kt, ceil_div(ps.after.n, CFG::P_OUT));
      rq.n_out = ps.after.n;
      lb.pre_valid = true;
      lb.pre_buf = fill;
      lb.pre_w = ps.after.w_off;
      lb.pre_b = ps.after.b_off;
      lb.pre_n = ps.after.n;
      lb.pre_k = ps.after.k;
    }
    if (rq.n_ot > 0) lin_load<CFG>(mem, rq, acc_frac, ps.wfmt, ps.bfmt, lb, fill);
    if (s < 0) continue;
    const int buf = (first + s) & 1;
    const uint32_t ot0 = (uint32_t)s * per_chunk;
    const uint32_t n_ot = (uint32_t)em_umin(per_chunk, ot_total - ot0);
    const uint32_t col0 = ot0 * CFG::P_OUT;
    const uint32_t ncols = (uint32_t)em_umin((uint64_t)n_ot * CFG::P_OUT, ps.n - col0);
  LRUN_TOKENS:
    for (uint32_t t = 0; t < ps.tokens; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
      lb.job.load_row(mem, t, x, kt * CFG::P_IN);
      lin_row<CFG>(x, lb, buf, kt, n_ot, acc);
      lb.job.emit(mem, t, col0, ncols, acc, acc_frac);
    }
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
