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
 * dimension streams in beats of ATTN_MACS elements, one beat per cycle for every lane
 * (II=1).
 */
#ifndef EDGEMOE_EM_ATTENTION_HPP
#define EDGEMOE_EM_ATTENTION_HPP

#include "em_attention_topk.hpp"
#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

#include <hls_stream.h>

namespace edgemoe {

/** One head row of activations (a Q, K or V row) between the reader and the lanes. */
template <class CFG>
struct att_row {
  typename CFG::act_t v[CFG::MAX_HEAD_DIM];
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
  uint32_t hd;     ///< head_dim
  uint32_t h;      ///< this head
  int32_t scale;   ///< score scale, raw act
};

/**
 * Reader: the K and V rows of every token (K then V per token), then the Q rows.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void att_read(const typename CFG::word_t* xmem, const att_head_job job, uint32_t t,
              hls::stream<att_row<CFG> >& kvs, hls::stream<att_row<CFG> >& qs) {
  typedef typename CFG::act ACT;
  const uint64_t head = (uint64_t)job.h * job.hd;
ATT_RD_KV:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    att_row<CFG> k, v;
    const uint64_t row = job.qkv + ((uint64_t)r * 3 * job.width + head) * ACT::BYTES;
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, row + job.width * ACT::BYTES, job.hd, k.v);
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, row + 2 * job.width * ACT::BYTES, job.hd, v.v);
    kvs.write(k);
    kvs.write(v);
  }
ATT_RD_Q:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    att_row<CFG> q;
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(
        xmem, job.qkv + ((uint64_t)r * 3 * job.width + head) * ACT::BYTES, job.hd, q.v);
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
 * @tparam CFG design point.
 */
template <class CFG>
void att_phase(const typename CFG::act_t (&kbuf)[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM],
               const typename CFG::act_t (&vbuf)[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM],
               const typename CFG::act_t (&q)[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM],
               att_state<CFG>& st, uint32_t nq, uint32_t nq_av, int bank, uint32_t t,
               uint32_t hd, int32_t scale, uint64_t& overflows) {
#pragma HLS INLINE
  typedef typename CFG::act ACT;
  typedef typename CFG::act_t act_t;  // activation container: the multiplier operand width
  const int P = CFG::ATTN_LANES;
  const int M = CFG::ATTN_MACS;  // MACs per lane per cycle
  const uint32_t beats = (uint32_t)ceil_div(hd, M);
  const uint32_t steps = (nq_av ? nq_av : nq) + t - 1;
  const int av = 1 - bank;
  int64_t prob[CFG::ATTN_LANES];
  uint64_t dot[CFG::ATTN_LANES];
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
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_BEATS
#pragma HLS PIPELINE II=1
    ATT_LANES:
      for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      ATT_MACS:
        for (int u = 0; u < M; u++) {
#pragma HLS UNROLL
          const uint32_t x = x0 * M + u;
          if (x < hd && qk_on[j]) dot[j] += mac_product(q[j][x], kbuf[key][x]);
          if (x < hd && av_on[j]) st.acc[j][x] += mac_product((act_t)prob[j], vbuf[key][x]);
        }
      }
    }
  ATT_SCORES:
    for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
      if (!qk_on[j]) continue;
      // scaled before it is stored: only the score, never q.k, is in the act format
      const int64_t s = quant_product<ACT, 3 * ACT::FRAC>((int64_t)dot[j], scale, overflows);
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
 * (att_phase): QK^T with the scaled score s = q(q . k * scale) (the exact 64-bit dot times
 * the 32-bit scale rounded once, so q . k may exceed the activation range; error: one act
 * rounding), the online softmax in the lane's key order, p = exp(s - max) * recip(sum) and
 * out = q(sum_k p * v).
 *
 * @tparam CFG design point (ATTN_LANES lanes, MAX_TOKENS x MAX_HEAD_DIM of K and of V).
 */
template <class CFG>
void att_lanes(hls::stream<att_row<CFG> >& kvs, hls::stream<att_row<CFG> >& qs,
               const att_head_job job, uint32_t t, hls::stream<att_out_row<CFG> >& outs,
               uint64_t& overflows) {
  typedef typename CFG::act ACT;
  typedef typename CFG::act_t act_t;
  const uint32_t P = CFG::ATTN_LANES;
  const uint32_t hd = job.hd;
  static act_t kbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  static act_t vbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  act_t q[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM];
  static att_state<CFG> st;
#pragma HLS ARRAY_PARTITION variable=kbuf dim=2 type=cyclic factor=CFG::ATTN_MACS  // one K beat a cycle
#pragma HLS ARRAY_PARTITION variable=vbuf dim=2 type=cyclic factor=CFG::ATTN_MACS  // one V beat a cycle
#pragma HLS ARRAY_PARTITION variable=q dim=1 type=complete  // every lane reads its Q row at once
#pragma HLS ARRAY_PARTITION variable=q dim=2 type=cyclic factor=CFG::ATTN_MACS  // M elements per lane per cycle
ATT_KV_FILL:
  for (uint32_t r = 0; r < t; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const att_row<CFG> k = kvs.read();
    const att_row<CFG> v = kvs.read();
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
      const att_row<CFG> row = qs.read();
    ATT_Q_COPY:
      for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
        q[j][x] = row.v[x];
      }
    }
    att_phase<CFG>(kbuf, vbuf, q, st, nq, nq_av, bank, t, hd, job.scale, overflows);
  ATT_OUT:
    for (uint32_t j = 0; j < nq_av; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_LANES
      att_out_row<CFG> out;
    ATT_QUANT:
      for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
        out.v[x] = quant_counted<ACT, 2 * ACT::FRAC>((int64_t)st.acc[j][x], overflows);
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
    write_row<CFG, ACT::BYTES>(
        ymem, job.dst + ((uint64_t)i * job.width + (uint64_t)job.h * job.hd) * ACT::BYTES,
        job.hd, row.v);
  }
}

/**
 * One head, a DATAFLOW region of three processes joined by streams: the reader fetches
 * rows while the lanes compute and the writer stores finished rows.  Canonical form
 * (checked by lint-hls): the body only calls processes, each stream has one producer and
 * one consumer, each port goes to one process, every process loops over `t`.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void att_head(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
              const att_head_job job, uint32_t t, uint64_t& overflows) {
#pragma HLS INLINE off  // one instance, called once per head
#pragma HLS DATAFLOW
  hls::stream<att_row<CFG> > kvs("att_kvs");
#pragma HLS STREAM variable=kvs depth=4  // K and V rows of two tokens ahead of the lanes
  hls::stream<att_row<CFG> > qs("att_qs");
#pragma HLS STREAM variable=qs depth=CFG::ATTN_LANES  // the next block's Q rows
  hls::stream<att_out_row<CFG> > outs("att_outs");
#pragma HLS STREAM variable=outs depth=CFG::ATTN_LANES  // one block's output rows
  att_read<CFG>(xmem, job, t, kvs, qs);
  att_lanes<CFG>(kvs, qs, job, t, outs, overflows);
  att_write<CFG>(ymem, job, t, outs);
}

/**
 * ATTENTION: every head through the fused region (att_head).  qkv rows are
 * [3][heads][head_dim].
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_attention(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
  if (ins.flags() & isa::FLAG_ATTN_TOPK) return att_topk_path<CFG>::run(xmem, ymem, ins, prof);
  const uint32_t t = ins.f(isa::FLD_ATTENTION_TOKENS), nh = ins.f(isa::FLD_ATTENTION_HEADS);
  const uint32_t hd = ins.f(isa::FLD_ATTENTION_HEAD_DIM);
  att_head_job job;
  job.qkv = ins.f(isa::FLD_ATTENTION_QKV);
  job.dst = ins.f(isa::FLD_ATTENTION_DST);
  job.width = (uint64_t)nh * hd;
  job.hd = hd;
  job.scale = ins.imm();
ATT_HEADS:
  for (uint32_t h = 0; h < nh; h++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEADS
    job.h = h;
    uint64_t overflows = 0;
    att_head<CFG>(xmem, ymem, job, t, overflows);
    prof.v[isa::PROF_OVERFLOWS] += overflows;
  }
  prof.v[isa::PROF_MACS] += 2 * (uint64_t)nh * t * t * hd;
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ATTENTION_HPP
