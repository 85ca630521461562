/**
 * @file em_attention.hpp
 * @brief ATTENTION fused on chip: per head a DATAFLOW region (K/V and Q reader -> lanes ->
 *        writer over hls::stream) on ATTN_LANES query lanes with Edge-MoE's reordered
 *        (staggered) schedule, single-pass softmax and AV (edgemoe/golden/vector_ops.py
 *        op_attention).
 *
 * Per head the reader streams the K and V rows of every token once, then the Q rows; the
 * lanes keep K and V on chip (MAX_TOKENS x MAX_HEAD_DIM each), so no key or value row is
 * read twice and no score leaves the chip; the writer stores each output row once.
 *
 * Query block b holds queries b*p .. b*p+p-1 on lanes j = 0..p-1.  At step c (0..T+p-2)
 * every lane reads the same on-chip key row c mod T; lane j is active for c in [j, j+T):
 * it visits keys j, j+1, ..., T-1, 0, ..., j-1, which is the order
 * golden.vector_ops.key_order gives the online softmax.  Scores stay in the lanes (one row
 * per lane and bank) for the AV of the block, which runs in the next phase beside the
 * next block's QK^T on the same schedule (edgemoe_attn.sv phases).  Within a step the head
 * dimension streams in beats of MODE::MACS elements, one beat per cycle for every lane
 * (II=1).
 *
 * The mode (a template policy) sets what the lanes hold and how a sum becomes act: the
 * dense mode (att_dense) keeps act rows, ATTN_MACS elements a beat; the int8 mode
 * (att_q8, em_attention_q8.hpp, FLAG_WFMT_Q8) keeps one-byte codes, ATTN_Q8_MACS a beat.
 */
#ifndef EDGEMOE_EM_ATTENTION_HPP
#define EDGEMOE_EM_ATTENTION_HPP

#include "em_attention_q8.hpp"
#include "em_attention_topk.hpp"
#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

#include <hls_stream.h>

namespace edgemoe {

/**
 * Dense mode: the lanes hold act rows as read, ATTN_MACS elements a beat; the score is
 * q(q . k * scale) (the exact 64-bit dot times the 32-bit scale rounded once, so q . k may
 * exceed the activation range; error: one act rounding) and the output q(sum p * v).
 *
 * @tparam CFG design point.
 */
template <class CFG>
struct att_dense {
  typedef typename CFG::act ACT;
  typedef typename CFG::act_t elem_t;  ///< a K, V or Q element on chip
  typedef uint64_t dot_t;              ///< q . k, modulo 2**64 (as golden's int64 sums)
  static const int MACS = CFG::ATTN_MACS;
  static const int TC_BEATS = CFG::TC_ATTN_BEATS;
  int32_t scale;  ///< score scale, raw act

  /** Bytes of a qkv (output) element in memory: act. */
  uint32_t x_bytes() const { return ACT::BYTES; }
  uint32_t y_bytes() const { return ACT::BYTES; }

  /** Row `part` (0 q, 1 k, 2 v) of n act elements at byte off, as the lanes hold it. */
  void load(const typename CFG::word_t* xmem, uint64_t off, uint32_t n, int /*part*/,
            elem_t* row, uint32_t& /*clamped: never*/) const {
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, off, n, row);
  }
  /** q . k (raw, 2F fraction bits) -> score in act. */
  int64_t score(int64_t dot, uint64_t& overflows) const {
    // scaled before it is stored: only the score, never q.k, is in the act format
    return quant_product<ACT, 3 * ACT::FRAC>(dot, scale, overflows);
  }
  /** sum p * v (raw, 2F fraction bits) -> output in act. */
  int64_t output(int64_t acc, uint64_t& overflows) const {
    return quant_counted<ACT, 2 * ACT::FRAC>(acc, overflows);
  }
};

/** One head row (a Q, K or V row) between the reader and the lanes, as the mode holds it,
 *  with how many of its elements the mode clamped on the way (counted by the lanes). */
template <class CFG, class MODE>
struct att_row {
  typename MODE::elem_t v[CFG::MAX_HEAD_DIM];
  uint32_t clamped;
};

/** One quantized output row between the lanes and the writer. */
template <class CFG>
struct att_out_row {
  int64_t v[CFG::MAX_HEAD_DIM];
};

/** Shapes and operands of one head (plain scalars: every process gets its own copy). */
struct att_head_job {
  uint64_t qkv;    ///< byte offset of the qkv rows [tokens][3][heads][head_dim]
  uint64_t dst;    ///< byte offset of the output rows [tokens][heads][head_dim]
  uint64_t width;  ///< heads * head_dim
  uint32_t xb;     ///< bytes of a qkv element (act, or an int8 code: MODE::x_bytes)
  uint32_t yb;     ///< bytes of an output element (MODE::y_bytes)
  uint32_t hd;     ///< head_dim
  uint32_t h;      ///< this head
};

/**
 * Reader: the K and V rows of every token (K then V per token), then the Q rows, each as
 * the mode holds it (MODE::load).
 *
 * @tparam CFG  design point.
 * @tparam MODE dense or int8 mode.
 */
template <class CFG, class MODE>
void att_read(const typename CFG::word_t* xmem, const att_head_job job, const MODE mode,
              uint32_t t, hls::stream<att_row<CFG, MODE> >& kvs,
              hls::stream<att_row<CFG, MODE> >& qs) {
  const uint64_t head = (uint64_t)job.h * job.hd;
ATT_RD_KV:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    att_row<CFG, MODE> k, v;
    k.clamped = v.clamped = 0;
    const uint64_t row = job.qkv + ((uint64_t)r * 3 * job.width + head) * job.xb;
    mode.load(xmem, row + job.width * job.xb, job.hd, 1, k.v, k.clamped);
    mode.load(xmem, row + 2 * job.width * job.xb, job.hd, 2, v.v, v.clamped);
    kvs.write(k);
    kvs.write(v);
  }
ATT_RD_Q:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    att_row<CFG, MODE> q;
    q.clamped = 0;
    mode.load(xmem, job.qkv + ((uint64_t)r * 3 * job.width + head) * job.xb, job.hd, 0,
              q.v, q.clamped);
    qs.write(q);
  }
}

/** Lane state of the lanes: two banks (the QK^T block's and the AV block's) plus the sums. */
template <class CFG>
struct att_state {
  int64_t scores[2][CFG::ATTN_LANES][CFG::MAX_TOKENS];  ///< per bank, lane and key
  int64_t bias[2][CFG::ATTN_LANES];                     ///< running max, per bank and lane
  int64_t sum[2][CFG::ATTN_LANES];                      ///< running sum, per bank and lane
  int64_t recip[CFG::ATTN_LANES];                       ///< 1/sum of the AV block
  uint64_t acc[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM];     ///< exact p * v sums of the AV block
};

/**
 * One phase: QK^T of the block of nq queries from q0 (bank `bank`) beside AV of the
 * previous block of nq_av queries (bank !bank), both on the staggered key order over the
 * on-chip K and V.
 *
 * @tparam CFG  design point.
 * @tparam MODE dense or int8 mode.
 */
template <class CFG, class MODE>
void att_phase(const typename MODE::elem_t (&kbuf)[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM],
               const typename MODE::elem_t (&vbuf)[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM],
               const typename MODE::elem_t (&q)[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM],
               att_state<CFG>& st, uint32_t nq, uint32_t nq_av, int bank, uint32_t t,
               uint32_t hd, const MODE& mode, uint64_t& overflows) {
#pragma HLS INLINE
  typedef typename CFG::act ACT;
  typedef typename CFG::act_t act_t;  // activation container: the multiplier operand width
  typedef typename MODE::dot_t dot_t;
  const int P = CFG::ATTN_LANES;
  const int M = MODE::MACS;  // MACs per lane per cycle
  const uint32_t beats = (uint32_t)ceil_div(hd, M);
  const uint32_t steps = (nq_av ? nq_av : nq) + t - 1;
  const int av = 1 - bank;
  int64_t prob[CFG::ATTN_LANES];
  dot_t dot[CFG::ATTN_LANES];
  bool qk_on[CFG::ATTN_LANES], av_on[CFG::ATTN_LANES];
#pragma HLS ARRAY_PARTITION variable=prob type=complete  // per-lane step state
#pragma HLS ARRAY_PARTITION variable=dot type=complete
#pragma HLS ARRAY_PARTITION variable=qk_on type=complete
#pragma HLS ARRAY_PARTITION variable=av_on type=complete
ATT_STEPS:
  for (uint32_t c = 0; c < steps; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_STEPS
    const uint32_t key = c < t ? c : c - t;
  ATT_STEP_LANES:
    for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      const bool in_window = c >= (uint32_t)j && c < (uint32_t)j + t;
      qk_on[j] = in_window && (uint32_t)j < nq;
      av_on[j] = in_window && (uint32_t)j < nq_av;
      prob[j] = av_on[j] ? softmax_prob<ACT>(st.scores[av][j][key], st.bias[av][j], st.recip[j])
                         : 0;
      dot[j] = 0;
    }
  ATT_BEATS:
    for (uint32_t x0 = 0; x0 < beats; x0++) {
#pragma HLS LOOP_TRIPCOUNT max=MODE::TC_BEATS
#pragma HLS PIPELINE II=1
    ATT_LANES:
      for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      ATT_MACS:
        for (int u = 0; u < M; u++) {
#pragma HLS UNROLL
          const uint32_t x = x0 * M + u;
          if (x < hd && qk_on[j]) dot[j] += (dot_t)mac_product(q[j][x], kbuf[key][x]);
          if (x < hd && av_on[j]) st.acc[j][x] += mac_product((act_t)prob[j], vbuf[key][x]);
        }
      }
    }
  ATT_SCORES:
    for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      if (!qk_on[j]) continue;
      const int64_t s = mode.score((int64_t)dot[j], overflows);
      st.scores[bank][j][key] = s;
      softmax_update<ACT>(st.bias[bank][j], st.sum[bank][j], s);
    }
  }
}

/**
 * End of a phase: the finished QK^T block (bank `bank`) becomes the next AV block (its
 * 1/sum), the other bank starts fresh for the next QK^T block, and the sums are cleared
 * (the AV block's rows have gone to the writer).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void att_handover(att_state<CFG>& st, int bank, uint32_t hd) {
#pragma HLS INLINE
  typedef typename CFG::act ACT;
  const int P = CFG::ATTN_LANES;
  const int av = 1 - bank;
ATT_HANDOVER:
  for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
    st.recip[j] = reciprocal<ACT::FRAC, ACT>(st.sum[bank][j]);
    st.bias[av][j] = raw_min<ACT>();
    st.sum[av][j] = 0;
  }
ATT_ACC_CLEAR:
  for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
  ATT_ACC_CLEAR_LANES:
    for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      st.acc[j][x] = 0;
    }
  }
}

/**
 * Lanes: K and V of the head into on-chip memory, then ceil(t / P) + 1 phases
 * (att_phase): QK^T with the mode's score (MODE::score), the online softmax in the lane's
 * key order, p = exp(s - max) * recip(sum) and out = MODE::output(sum_k p * v).
 *
 * @tparam CFG  design point (ATTN_LANES lanes, MAX_TOKENS x MAX_HEAD_DIM of K and of V).
 * @tparam MODE dense or int8 mode (the element held on chip, MODE::MACS of them a beat).
 */
template <class CFG, class MODE>
void att_lanes(hls::stream<att_row<CFG, MODE> >& kvs, hls::stream<att_row<CFG, MODE> >& qs,
               const att_head_job job, const MODE mode, uint32_t t,
               hls::stream<att_out_row<CFG> >& outs, uint64_t& overflows) {
  typedef typename CFG::act ACT;
  typedef typename MODE::elem_t elem_t;
  const uint32_t P = CFG::ATTN_LANES;
  const uint32_t hd = job.hd;
  static elem_t kbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  static elem_t vbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  elem_t q[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM];
  static att_state<CFG> st;
#pragma HLS ARRAY_PARTITION variable=kbuf dim=2 type=cyclic factor=MODE::MACS  // one K beat a cycle
#pragma HLS ARRAY_PARTITION variable=vbuf dim=2 type=cyclic factor=MODE::MACS  // one V beat a cycle
#pragma HLS ARRAY_PARTITION variable=q dim=1 type=complete  // every lane reads its Q row at once
#pragma HLS ARRAY_PARTITION variable=q dim=2 type=cyclic factor=MODE::MACS  // M elements per lane per cycle
ATT_KV_FILL:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const att_row<CFG, MODE> k = kvs.read();
    const att_row<CFG, MODE> v = kvs.read();
    overflows += k.clamped + v.clamped;
  ATT_KV_COPY:
    for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
      kbuf[r][x] = k.v[x];
      vbuf[r][x] = v.v[x];
    }
  }
ATT_STATE_INIT:
  for (uint32_t j = 0; j < P; j++) {
    st.bias[0][j] = st.bias[1][j] = raw_min<ACT>();
    st.sum[0][j] = st.sum[1][j] = 0;
  ATT_STATE_ACC:
    for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
      st.acc[j][x] = 0;
    }
  }
  int bank = 0;
  // phase ph: QK^T of block ph (nq queries) beside AV of block ph - 1 (nq_av); at most
  // t + 1 phases (one per block, plus the last block's AV)
ATT_PHASES:
  for (uint32_t ph = 0; ph <= t; ph++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_BLOCKS + 1
    const uint32_t b0 = ph * P;
    const uint32_t nq = b0 >= t ? 0 : (t - b0 < P ? t - b0 : P);
    const uint32_t av0 = b0 - P;  // first query of the AV block (phases after the first)
    const uint32_t nq_av = ph == 0 || av0 >= t ? 0 : (t - av0 < P ? t - av0 : P);
    if (nq == 0 && nq_av == 0) break;
  ATT_Q_ROWS:
    for (uint32_t j = 0; j < nq; j++) {  // the block's Q rows, in lane order
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_LANES
      const att_row<CFG, MODE> row = qs.read();
      overflows += row.clamped;
    ATT_Q_COPY:
      for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
        q[j][x] = row.v[x];
      }
    }
    att_phase<CFG, MODE>(kbuf, vbuf, q, st, nq, nq_av, bank, t, hd, mode, overflows);
  ATT_OUT:
    for (uint32_t j = 0; j < nq_av; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_LANES
      att_out_row<CFG> out;
    ATT_QUANT:
      for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
        out.v[x] = mode.output((int64_t)st.acc[j][x], overflows);
      }
      outs.write(out);
    }
    att_handover<CFG>(st, bank, hd);
    bank = 1 - bank;
  }
}

/**
 * Writer: each output row of the head once, in query order.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void att_write(typename CFG::word_t* ymem, const att_head_job job, uint32_t t,
               hls::stream<att_out_row<CFG> >& outs) {
  typedef typename CFG::act ACT;
ATT_WR_ROWS:
  for (uint32_t i = 0; i < t; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const att_out_row<CFG> row = outs.read();
    const uint64_t off = job.dst + ((uint64_t)i * job.width + (uint64_t)job.h * job.hd) * job.yb;
    if (job.yb == 1) {  // int8 codes (the int8 mode's codes out)
      write_row<CFG, 1>(ymem, off, job.hd, row.v);
    } else {
      write_row<CFG, ACT::BYTES>(ymem, off, job.hd, row.v);
    }
  }
}

/**
 * One head, a DATAFLOW region of three processes joined by streams: the reader fetches
 * rows while the lanes compute and the writer stores finished rows.  Canonical form
 * (checked by lint-hls): the body only calls processes, each stream has one producer and
 * one consumer, each port goes to one process, every process loops over `t`.
 *
 * @tparam CFG  design point.
 * @tparam MODE dense or int8 mode.
 */
template <class CFG, class MODE>
void att_head(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
              const att_head_job job, const MODE mode, uint32_t t, uint64_t& overflows) {
#pragma HLS INLINE off  // one instance per mode, called once per head
#pragma HLS DATAFLOW
  hls::stream<att_row<CFG, MODE> > kvs("att_kvs");
#pragma HLS STREAM variable=kvs depth=4  // K and V rows of two tokens ahead of the lanes
  hls::stream<att_row<CFG, MODE> > qs("att_qs");
#pragma HLS STREAM variable=qs depth=CFG::ATTN_LANES  // the next block's Q rows
  hls::stream<att_out_row<CFG> > outs("att_outs");
#pragma HLS STREAM variable=outs depth=CFG::ATTN_LANES  // one block's output rows
  att_read<CFG, MODE>(xmem, job, mode, t, kvs, qs);
  att_lanes<CFG, MODE>(kvs, qs, job, mode, t, outs, overflows);
  att_write<CFG>(ymem, job, t, outs);
}

/**
 * Every head of an ATTENTION through the fused region (att_head) in mode `mode`.  qkv rows
 * are [3][heads][head_dim].
 *
 * @tparam CFG  design point.
 * @tparam MODE dense or int8 mode.
 */
template <class CFG, class MODE>
void att_heads(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
               const instr_t& ins, const MODE mode, profile_t& prof) {
#pragma HLS INLINE
  const uint32_t t = ins.f(isa::FLD_ATTENTION_TOKENS), nh = ins.f(isa::FLD_ATTENTION_HEADS);
  const uint32_t hd = ins.f(isa::FLD_ATTENTION_HEAD_DIM);
  att_head_job job;
  job.qkv = ins.f(isa::FLD_ATTENTION_QKV);
  job.dst = ins.f(isa::FLD_ATTENTION_DST);
  job.width = (uint64_t)nh * hd;
  job.xb = mode.x_bytes();
  job.yb = mode.y_bytes();
  job.hd = hd;
ATT_HEADS:
  for (uint32_t h = 0; h < nh; h++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEADS
    job.h = h;
    uint64_t overflows = 0;
    att_head<CFG, MODE>(xmem, ymem, job, mode, t, overflows);
    prof.v[isa::PROF_OVERFLOWS] += overflows;
  }
  prof.v[isa::PROF_MACS] += 2 * (uint64_t)nh * t * t * hd;
}

/**
 * The int8 mode only where the design point builds it (CFG::ATTN_Q8_BUILT, design point
 * key attn_q8): elsewhere its lanes are never instantiated (C++14: no if constexpr) and the
 * checker has refused the flag already (ERR_BAD_FLAGS, repeated here as a guard).
 */
template <class CFG, bool BUILT = (CFG::ATTN_Q8_BUILT != 0)>
struct att_q8_path {
  static uint32_t run(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
    att_heads<CFG, att_q8<CFG> >(
        xmem, ymem, ins,
        att_q8_params<CFG>(xmem, ins.f(isa::FLD_ATTENTION_Q8_PARAMS),
                           ins.f(isa::FLD_ATTENTION_Q8_CODES)),
        prof);
    prof.v[isa::PROF_WEIGHT_BYTES] += 4 * CFG::ATTN_Q8_PARAM_WORDS;  // the block, read once
    return isa::ERR_OK;
  }
};
template <class CFG>
struct att_q8_path<CFG, false> {
  static uint32_t run(const typename CFG::word_t*, typename CFG::word_t*, const instr_t&,
                      profile_t&) {
    return isa::ERR_BAD_FLAGS;
  }
};

/**
 * The dense (act) mode only where the design point builds it (CFG::ATTN_ACT_BUILT, design
 * point key attn_act): elsewhere its lanes are never instantiated and the checker has
 * refused an ATTENTION without FLAG_WFMT_Q8 already (OP_REQUIRED_FLAGS, repeated here).
 */
template <class CFG, bool BUILT = (CFG::ATTN_ACT_BUILT != 0)>
struct att_dense_path {
  static uint32_t run(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
    att_dense<CFG> dense;
    dense.scale = ins.imm();
    att_heads<CFG, att_dense<CFG> >(xmem, ymem, ins, dense, prof);
    return isa::ERR_OK;
  }
};
template <class CFG>
struct att_dense_path<CFG, false> {
  static uint32_t run(const typename CFG::word_t*, typename CFG::word_t*, const instr_t&,
                      profile_t&) {
    return isa::ERR_BAD_FLAGS;
  }
};

/**
 * ATTENTION: the top-k mode (em_attention_topk.hpp), the int8 mode (att_q8) or the dense
 * one, every head through the fused region.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_attention(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
  if (ins.flags() & isa::FLAG_ATTN_TOPK) return att_topk_path<CFG>::run(xmem, ymem, ins, prof);
  if (ins.flags() & isa::FLAG_WFMT_Q8) return att_q8_path<CFG>::run(xmem, ymem, ins, prof);
  return att_dense_path<CFG>::run(xmem, ymem, ins, prof);
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ATTENTION_HPP
