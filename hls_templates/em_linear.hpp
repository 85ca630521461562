/**
 * @file em_linear.hpp
 * @brief The unified linear engine (edgemoe/golden/linear_ops.py, linear_core): a P_OUT x
 *        P_IN MAC tile on ping/pong weight buffers for LINEAR, CONV, MOE_GATE, MOE_EXPERTS.
 *
 * Weights are packed [ceil(out/P_OUT)][ceil(in/P_IN)][P_OUT][P_IN] (edgemoe/layout.py).
 * A layer whose weights exceed one buffer runs in chunks of whole output-tile strips. Step
 * s of lin_run fills the idle buffer with chunk s+1 (or, after the last chunk, the first
 * chunk of the layer that follows, see lin_next) and computes chunk s on the other buffer.
 * The buffers are two distinct arrays (w_ping, w_pong) named statically in the two branches
 * of the step, and the loader reads only the weight port while the token loop uses the
 * other ports, so load and compute share no variable and no port and Vitis can run the two
 * calls of a step at the same time (the overlap).  The token loop (lin_compute) is a
 * DATAFLOW region: a row reader, the MAC tile and a writer joined by streams.  For every
 * token the engine accumulates x . w exactly in 64-bit wrap-around registers starting from
 * the bias (aligned to the accumulator's fraction bits) and hands the raw sums to the writer
 * (lin_sink, em_linear_job.hpp), which quantizes once and applies the op's epilogue.
 *
 * One hardware instance: lin_run is templated on the design point only (weight and bias
 * formats and the job kind are run-time values), INLINE off, and the top function limits it
 * to one instance (ALLOCATION limit=1) over the op handlers that call it, inlined into the
 * dispatcher.  lin_load(_q4) and lin_compute are called from both ping/pong branches and
 * limited to one instance each by lin_run (ALLOCATION limit=1); lin_row is called once.
 */
#ifndef EDGEMOE_EM_LINEAR_HPP
#define EDGEMOE_EM_LINEAR_HPP

#include "em_int4.hpp"
#include "em_isa.hpp"
#include "em_linear_job.hpp"
#include "em_linear_load.hpp"
#include "em_tile_map.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

#include <hls_stream.h>

namespace edgemoe {

/**
 * Ping/pong weight buffers and their aligned biases (one instance, shared by every op).
 *
 * @tparam CFG design point: WBUF_TILES tiles of P_OUT x P_IN weights per buffer.
 */
template <class CFG>
struct lin_buffers {
  // two distinct arrays (not one [2] array): a load into one and a compute on the other
  // touch different variables, so Vitis sees no dependence between them (lin_run)
  typename CFG::wbuf_t w_ping[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN];
  typename CFG::wbuf_t w_pong[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN];
  int64_t bias_ping[CFG::MAX_ROW_OUT];
  int64_t bias_pong[CFG::MAX_ROW_OUT];
  // W8A8: the channel multipliers of the strip (em_int8.hpp), beside its biases
  int64_t scale_ping[CFG::MAX_ROW_OUT];
  int64_t scale_pong[CFG::MAX_ROW_OUT];
  int64_t cmul_ping[CFG::MAX_ROW_OUT];  // W8A8 codes out: the writer's code multipliers
  int64_t cmul_pong[CFG::MAX_ROW_OUT];
  lin_kept<CFG> kept_ping, kept_pong;  // WSKIP: the tiles of each buffer that get MAC cycles
  // what the idle buffer was preloaded with during the previous layer (see lin_next)
  bool pre_valid;
  int pre_buf;
  uint64_t pre_w, pre_b;
  uint32_t pre_n, pre_k;
  lin_job<CFG> job;  // the row source and sink of the current pass (one for every op)
  int64_t logits[CFG::MAX_TOKENS][CFG::MAX_EXPERTS];  // MOE_GATE: the router's input
};

/** The layer that runs after the current one: its first weight chunk is loaded into the
 *  idle buffer while the current layer's last chunk computes (same weight/bias formats). */
struct lin_next {
  bool valid;
  uint64_t w_off, b_off; uint32_t n, k;
};

/** One pass of the engine: tokens x [n, k] weights in the given formats. */
struct lin_pass {
  uint32_t tokens, n, k;
  uint64_t w_off, b_off;
  bool has_bias;
  int x_frac;          ///< fraction bits of the input rows
  fmt_rt wfmt, bfmt;   ///< weight and bias formats
  bool q8;             ///< W8A8: int8 codes, sums dequantized by per-channel multipliers
  uint64_t s_off;      ///< W8A8: the multipliers (int32 words beside the bias)
  uint64_t c_off;      ///< W8A8 codes out: the code multipliers (layout code_muls_offset), or 0
  int dq_shift;        ///< W8A8: sums times multipliers have act FRAC + dq_shift bits
  bool skip;           ///< WSKIP: tiles the map marks all-zero are not fetched
  uint64_t map_off;    ///< WSKIP: the tile map (one bit per packed tile, layout.tile_map_bytes)
  lin_q4 q4;           ///< WFMT_Q4: the mixed layer's rows (its loader: em_int4.hpp)
  lin_next after;      ///< layer whose first chunk preloads during the last chunk
};

/**
 * One token through the MAC tile: acc[c] = bias[c] + sum_k x[k] * w[c][k] (mod 2**64) for
 * the n_ot output tiles held in weight buffer `buf` (W8A8: q8_pair_row).
 *
 * @tparam CFG design point (P_OUT x P_IN MACs per cycle).
 */
template <class CFG>
void lin_row(const typename CFG::xbuf_t (&x)[CFG::XROW],
             const typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
             const int64_t (&bias)[CFG::MAX_ROW_OUT], const int64_t (&scale)[CFG::MAX_ROW_OUT],
             const lin_kept<CFG>& kept, q8_mode q8, uint32_t kt, uint32_t n_ot,
             int64_t (&acc_out)[CFG::MAX_ROW_OUT]) {
#pragma HLS INLINE off  // the MAC tile: one instance
  if (q8 == Q8_PAIRED) return q8_pair_row<CFG>(x, w, bias, scale, kt, n_ot, acc_out);
LR_OTILES:
  for (uint32_t ot = 0; ot < n_ot; ot++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
    uint64_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=acc type=complete  // one accumulator register per output lane
  LR_INIT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      acc[o] = q8 != Q8_OFF ? 0 : (uint64_t)bias[ot * CFG::P_OUT + o];  // W8A8: bias after m
    }
  LR_KTILES:  // WSKIP: only the tiles the map keeps; all of them otherwise
    for (uint32_t j = 0; j < kept.n[ot]; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
      const uint32_t k = kept.k[ot * kt + j];
    LR_MAC_OUT:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        uint64_t sum = 0;
      LR_MAC_IN:
#pragma GCC unroll 64  // C-simulation speed only (g++ keeps the x row in registers)
        for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
          sum += mac_product(x[k * CFG::P_IN + i], w[ot * kt + k][o][i]);
        }
        acc[o] += sum;
      }
    }
  LR_STORE:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
      const uint32_t c = ot * CFG::P_OUT + o;
      acc_out[c] = q8 != Q8_OFF ? q8_dequant((int64_t)acc[o], scale[c], bias[c]) : (int64_t)acc[o];
    }
  }
}

/** Output tiles [ot0, ot0 + n_ot) of a pass: what the MAC side of one step computes. */
struct lin_chunk {
  bool valid;          ///< false on the step that only loads the first chunk
  q8_mode q8;          ///< W8A8 pass (lin_pass::q8): paired, or unpaired for WFMT_Q4
  uint32_t kt, n_ot;   ///< input tiles per row, output tiles in the chunk
  uint32_t col0, ncols;  ///< first output column and valid columns of the chunk
};

/** P_IN inputs of a row: one beat of the row stream. @tparam CFG design point. */
template <class CFG>
struct lin_xtile {
  typename CFG::xbuf_t v[CFG::P_IN];
};

/** P_OUT raw sums of a token: one beat of the sum stream. @tparam CFG design point. */
template <class CFG>
struct lin_acctile {
  int64_t v[CFG::P_OUT];
};

/**
 * Dataflow process 1: each token's input row (activation-in port; index lists and scores
 * on the control port) as kt tiles of P_IN, and where its output goes.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_read_rows(const typename CFG::word_t* mem, const typename CFG::word_t* xmem,
                   const lin_job<CFG>& job, uint32_t tokens, uint32_t kt,
                   hls::stream<lin_xtile<CFG> >& xs, hls::stream<lin_tag>& tags) {
#pragma HLS INLINE off  // a dataflow process
  typename CFG::xbuf_t x[CFG::XROW];
#pragma HLS ARRAY_PARTITION variable=x type=cyclic factor=CFG::P_IN  // one tile per cycle
  // CONV line buffer: kernel rows of the input, refilled from pixel 0 by every strip's
  // pass (static: it can be larger than a C-sim thread's stack)
  static typename CFG::xbuf_t line[CFG::CONV_LINE_DEPTH];
  // W8A8 rows of act: LINEAR, CONV, fc1 (HC_IN rows are codes; a gate job keeps stale flags)
  const bool q8 = job.kind != JOB_GATE && !(job.hidden_codes & HC_IN) &&
                  (job.flags & (isa::FLAG_WFMT_Q8 | isa::FLAG_WFMT_Q4));
RDR_TOKENS:
  for (uint32_t t = 0; t < tokens; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    lin_tag tag = job.load_row(mem, xmem, t, x, kt * CFG::P_IN, line);
    uint32_t clamped = 0;
  RDR_TILES:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
      lin_xtile<CFG> tile;
    RDR_LANES:
      for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
        const typename CFG::xbuf_t v = x[k * CFG::P_IN + i];
        // W8A8: the int8 code of the input (step 1 of edgemoe/numerics/int8.py)
        tile.v[i] = q8 ? (typename CFG::xbuf_t)q8_input<typename CFG::act>(v, job.x_mul, clamped)
                       : v;
      }
      xs.write(tile);
    }
    tag.clamped = clamped;
    tags.write(tag);  // after the row: the writer needs it only with the row's sums
  }
}

/**
 * Dataflow process 2: the MAC tile over each token's row against the chunk in (w, bias).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_mac_rows(hls::stream<lin_xtile<CFG> >& xs,
                  const typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
                  const int64_t (&bias)[CFG::MAX_ROW_OUT],
                  const int64_t (&scale)[CFG::MAX_ROW_OUT], const lin_kept<CFG>& kept,
                  q8_mode q8, uint32_t tokens, uint32_t kt, uint32_t n_ot,
                  hls::stream<lin_acctile<CFG> >& sums) {
#pragma HLS INLINE off  // a dataflow process
  typename CFG::xbuf_t x[CFG::XROW];
  int64_t acc[CFG::MAX_ROW_OUT];
#pragma HLS ARRAY_PARTITION variable=x type=cyclic factor=CFG::P_IN  // P_IN inputs per cycle
#pragma HLS ARRAY_PARTITION variable=acc type=cyclic factor=CFG::P_OUT  // P_OUT sums per tile
MAC_TOKENS:
  for (uint32_t t = 0; t < tokens; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
  MAC_FILL:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
      const lin_xtile<CFG> tile = xs.read();
    MAC_FILL_LANES:
      for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
        x[k * CFG::P_IN + i] = tile.v[i];
      }
    }
    lin_row<CFG>(x, w, bias, scale, kept, q8, kt, n_ot, acc);
  MAC_DRAIN:
    for (uint32_t ot = 0; ot < n_ot; ot++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
#pragma HLS PIPELINE II=1
      lin_acctile<CFG> tile;
    MAC_DRAIN_LANES:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        tile.v[o] = acc[ot * CFG::P_OUT + o];
      }
      sums.write(tile);
    }
  }
}

/**
 * Dataflow process 3: quantize, apply the op's epilogue and store each token's sums
 * (activation-out port), or keep MOE_GATE's logits for the router.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_write_rows(typename CFG::word_t* ymem, const lin_sink<CFG> sink,
                    const int64_t (&cmul)[CFG::MAX_ROW_OUT], uint32_t tokens,
                    uint32_t n_ot, uint32_t col0, uint32_t ncols, int acc_frac,
                    hls::stream<lin_acctile<CFG> >& sums, hls::stream<lin_tag>& tags,
                    int64_t (&logits)[CFG::MAX_TOKENS][CFG::MAX_EXPERTS], uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  int64_t acc[CFG::MAX_ROW_OUT];
#pragma HLS ARRAY_PARTITION variable=acc type=cyclic factor=CFG::P_OUT  // P_OUT sums per beat
WRR_TOKENS:
  for (uint32_t t = 0; t < tokens; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const lin_tag tag = tags.read();
  WRR_FILL:
    for (uint32_t ot = 0; ot < n_ot; ot++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
#pragma HLS PIPELINE II=1
      const lin_acctile<CFG> tile = sums.read();
    WRR_FILL_LANES:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        acc[ot * CFG::P_OUT + o] = tile.v[o];
      }
    }
    sink.emit(ymem, t, tag, col0, ncols, acc, cmul, acc_frac, logits, overflows);
  }
}

/**
 * The MAC side of one step, a DATAFLOW region of three processes joined by streams: the
 * reader fetches token t+1's row while the MAC tile works on token t and the writer
 * stores token t-1.  Canonical form (checked by lint-hls): the body only calls processes;
 * each stream has one producer and one consumer; each port, array and the job's two
 * halves (job: the reader's, sink: the writer's scalars) go to one process; every process
 * loops over the same `tokens`.  The reader and the writer use different ports, and no
 * row written in a pass is read by the pass's reader (the op spec refuses such overlaps;
 * an expert queue holds distinct tokens), so the overlap does not change the result.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_compute(const typename CFG::word_t* mem, const typename CFG::word_t* xmem,
                 typename CFG::word_t* ymem, const lin_job<CFG>& job, const lin_sink<CFG> sink,
                 const typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
                 const int64_t (&bias)[CFG::MAX_ROW_OUT],
                 const int64_t (&scale)[CFG::MAX_ROW_OUT], const lin_kept<CFG>& kept,
                 const int64_t (&cmul)[CFG::MAX_ROW_OUT], const lin_chunk ck, uint32_t tokens,
                 int acc_frac, int64_t (&logits)[CFG::MAX_TOKENS][CFG::MAX_EXPERTS],
                 uint64_t& overflows) {
#pragma HLS INLINE off  // the token loop: one instance shared by both ping/pong branches
#pragma HLS DATAFLOW
  hls::stream<lin_xtile<CFG> > xs("lin_xs");
#pragma HLS STREAM variable=xs depth=(CFG::LINEAR_ROW_SLOTS - 1) * CFG::XROW_TILES  // row slots
  hls::stream<lin_acctile<CFG> > sums("lin_sums");
#pragma HLS STREAM variable=sums depth=CFG::MAX_ROW_OUT / CFG::P_OUT  // one token's sums
  hls::stream<lin_tag> tags("lin_tags");
#pragma HLS STREAM variable=tags depth=CFG::LINEAR_ROW_SLOTS + 2  // the slots' tokens, 2 more
  lin_read_rows<CFG>(mem, xmem, job, tokens, ck.kt, xs, tags);
  lin_mac_rows<CFG>(xs, w, bias, scale, kept, ck.q8, tokens, ck.kt, ck.n_ot, sums);
  lin_write_rows<CFG>(ymem, sink, cmul, tokens, ck.n_ot, ck.col0, ck.ncols, acc_frac, sums,
                      tags, logits, overflows);
}

/**
 * One ping/pong step: load the next chunk into (w_fill, b_fill) over the weight port while
 * the MAC side computes the current chunk from (w_use, b_use).  The two calls share no
 * variable and no m_axi port, so Vitis schedules them to run at the same time.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_step(const typename CFG::word_t* mem, const typename CFG::word_t* wmem,
              const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
              lin_job<CFG>& job, int64_t (&logits)[CFG::MAX_TOKENS][CFG::MAX_EXPERTS],
              const lin_pass& ps, const lin_load_req& rq, const lin_chunk& ck, int acc_frac,
              typename CFG::wbuf_t (&w_fill)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
              int64_t (&b_fill)[CFG::MAX_ROW_OUT], int64_t (&s_fill)[CFG::MAX_ROW_OUT],
              int64_t (&c_fill)[CFG::MAX_ROW_OUT], lin_kept<CFG>& k_fill,
              const typename CFG::wbuf_t (&w_use)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
              const int64_t (&b_use)[CFG::MAX_ROW_OUT], const int64_t (&s_use)[CFG::MAX_ROW_OUT],
              const int64_t (&c_use)[CFG::MAX_ROW_OUT], const lin_kept<CFG>& k_use) {
#pragma HLS INLINE  // both branches of lin_run share lin_run's loader and token-loop instances
  if (rq.n_ot > 0 && ps.q4.on && rq.w_off == ps.q4.w_off)  // not the next layer's preload
    lin_load_q4<CFG>(wmem, rq, ps.q4, acc_frac, ps.bfmt, w_fill, b_fill, s_fill, k_fill);
  else if (rq.n_ot > 0)
    lin_load<CFG>(wmem, rq, acc_frac, ps.wfmt, ps.bfmt, w_fill, b_fill, s_fill, c_fill, k_fill);
  if (ck.valid) {
    // the writer's scalars are copied out and its overflow count comes back in a local:
    // the region only calls processes and shares no part of the job between them
    uint64_t overflows = 0;
    lin_compute<CFG>(mem, xmem, ymem, job, job.sink(), w_use, b_use, s_use, k_use, c_use, ck,
                     ps.tokens,
                     acc_frac, logits, overflows);
    job.overflows += overflows;
  }
}

/**
 * Run one pass (a whole linear layer) through the engine for a job.
 *
 * @tparam CFG design point.
 * @param mem  control port: index lists and scores of the job.
 * @param wmem weight port: weights and biases (the loader's only port).
 * @param xmem activation-in port: input rows.
 * @param ymem activation-out port: output rows (and the rows they accumulate onto).
 * @param lb   the ping/pong buffers and the job (lb.job: the op's row source and output
 *             sink, em_linear_job.hpp); on return they remember what was preloaded.
 * @param ps   shapes, operand offsets, formats and the layer that follows.
 */
template <class CFG>
void lin_run(const typename CFG::word_t* mem, const typename CFG::word_t* wmem,
             const typename CFG::word_t* xmem, typename CFG::word_t* ymem, lin_buffers<CFG>& lb,
             const lin_pass& ps) {
#pragma HLS INLINE off  // the linear engine: one instance
#pragma HLS ALLOCATION function instances=lin_load<CFG> limit=1  // one loader for both branches
#pragma HLS ALLOCATION function instances=lin_load_q4<CFG, lin_load_req> limit=1  // and one of these
#pragma HLS ALLOCATION function instances=lin_compute<CFG> limit=1  // one token loop
  // W8A8: the sums times the channel multipliers carry act FRAC + dq_shift fraction bits
  const int acc_frac = ps.q8 ? CFG::act::FRAC + ps.dq_shift : ps.x_frac + ps.wfmt.frac;
  const uint32_t kt = (uint32_t)ceil_div(ps.k, CFG::P_IN);
  const uint32_t ot_total = (uint32_t)ceil_div(ps.n, CFG::P_OUT);
  const uint32_t per_chunk = CFG::WBUF_TILES / kt;
  const int32_t n_chunks = (int32_t)ceil_div(ot_total, per_chunk);
  const bool preloaded = lb.pre_valid && ps.has_bias && !ps.q8 && lb.pre_w == ps.w_off &&
                         lb.pre_b == ps.b_off && lb.pre_n == ps.n && lb.pre_k == ps.k;
  const int first = preloaded ? lb.pre_buf : 0;
  lb.pre_valid = false;
  // step -1 only loads chunk 0 (unless the previous layer preloaded it)
LRUN_STEPS:
  for (int32_t s = preloaded ? 0 : -1; s < n_chunks; s++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_LIN_STEPS
    const int fill = (first + s + 1) & 1;  // the idle buffer (0: ping, 1: pong)
    lin_load_req rq = {ps.w_off, ps.b_off, ps.s_off, ps.has_bias, ps.q8, ps.c_off, kt, 0, 0,
                       ps.n, ps.skip, ps.map_off};
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
      rq.skip = false;  // the next layer's zero tiles are in place: a dense preload is exact
      rq.c_off = 0;
      lb.pre_valid = true;
      lb.pre_buf = fill;
      lb.pre_w = ps.after.w_off;
      lb.pre_b = ps.after.b_off;
      lb.pre_n = ps.after.n;
      lb.pre_k = ps.after.k;
    }
    lin_chunk ck = {s >= 0, !ps.q8 ? Q8_OFF : ps.q4.on ? Q8_WIDE : Q8_PAIRED, kt, 0, 0, 0};
    if (ck.valid) {
      const uint32_t ot0 = (uint32_t)s * per_chunk;
      ck.n_ot = (uint32_t)em_umin(per_chunk, ot_total - ot0);
      ck.col0 = ot0 * CFG::P_OUT;
      ck.ncols = (uint32_t)em_umin((uint64_t)ck.n_ot * CFG::P_OUT, ps.n - ck.col0);
    }
    // the branches name the buffers statically: no run-time index joins the two arrays
    if (fill == 0) {
      lin_step<CFG>(mem, wmem, xmem, ymem, lb.job, lb.logits, ps, rq, ck, acc_frac, lb.w_ping,
                    lb.bias_ping, lb.scale_ping, lb.cmul_ping, lb.kept_ping, lb.w_pong,
                    lb.bias_pong, lb.scale_pong, lb.cmul_pong, lb.kept_pong);
    } else {
      lin_step<CFG>(mem, wmem, xmem, ymem, lb.job, lb.logits, ps, rq, ck, acc_frac, lb.w_pong,
                    lb.bias_pong, lb.scale_pong, lb.cmul_pong, lb.kept_pong, lb.w_ping,
                    lb.bias_ping, lb.scale_ping, lb.cmul_ping, lb.kept_ping);
    }
  }
}
}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_HPP
