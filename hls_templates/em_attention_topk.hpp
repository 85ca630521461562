/**
 * @file em_attention_topk.hpp
 * @brief ATTENTION in the top-k mode (isa::FLAG_ATTN_TOPK), the integer definition of
 *        edgemoe/numerics/attn_topk.py (golden: edgemoe/golden/attn_topk.py).
 *
 * Per head: the codebook tables and K/V rows go on chip once; every key gets its code
 * (argmin of half_norm - k . coding, ties to the lower code) and the codes are written;
 * then per query: the score table q . centre (C x d MACs), the gathered score of every key
 * through a k-entry insertion sorter (one key per step, ties to the lower index), the kept
 * indices written in ascending order, and exact attention on the kept keys with the dense
 * mode's arithmetic (scores rounded once, online softmax in the dense schedule's key order
 * starting at key i mod ATTN_LANES, exact AV sum rounded once).  A sequential reference
 * datapath: one query at a time, no lane parallelism yet.
 */
#ifndef EDGEMOE_EM_ATTENTION_TOPK_HPP
#define EDGEMOE_EM_ATTENTION_TOPK_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

namespace edgemoe {

/** Operands and shapes of one head in the top-k mode. */
struct att_topk_job {
  uint64_t qkv;     ///< byte offset of the qkv rows [tokens][3][heads][head_dim]
  uint64_t dst;     ///< byte offset of the output rows [tokens][heads][head_dim]
  uint64_t book;    ///< byte offset of this head's codebook block
  uint64_t codes;   ///< byte offset of this head's code ids (u32 per key)
  uint64_t picks;   ///< byte offset of this head's kept key lists (u32, kept per query)
  uint64_t width;   ///< heads * head_dim
  uint32_t t;       ///< tokens
  uint32_t hd;      ///< head_dim
  uint32_t h;       ///< this head
  uint32_t c;       ///< codebook size C
  uint32_t kept;    ///< keys kept per query: min(top_k, t)
  int32_t scale;    ///< score scale, raw act
};

/**
 * Exact dot product of two raw rows modulo 2**64 (the 64-bit accumulator).
 *
 * @tparam CFG design point.
 * @tparam T   first row's element type.
 * @tparam U   second row's element type.
 */
template <class CFG, typename T, typename U>
inline int64_t att_topk_dot(const T* a, const U* b, uint32_t hd) {
  uint64_t acc = 0;
ATT_TOPK_DOT:
  for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
    acc += mac_product(a[x], b[x]);
  }
  return (int64_t)acc;
}

/**
 * Keep the top `kept` keys of one query (ties to the lower index) into keep[0..t): the
 * router's streaming top-k (topk_offer) fed one key per step in index order.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void att_topk_select(const int64_t* approx, uint32_t t, uint32_t kept, bool* keep) {
  int64_t best[CFG::MAX_TOKENS];
  uint32_t idx[CFG::MAX_TOKENS];
#pragma HLS ARRAY_PARTITION variable=best type=complete  // every entry compares each step
#pragma HLS ARRAY_PARTITION variable=idx type=complete
  uint32_t n = 0;
ATT_TOPK_CLEAR:
  for (uint32_t j = 0; j < t; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
    keep[j] = false;
  }
ATT_TOPK_KEYS:
  for (uint32_t j = 0; j < t; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
    topk_offer(best, idx, n, kept, approx[j], j);
  }
ATT_TOPK_MARK:
  for (uint32_t e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
    keep[idx[e]] = true;
  }
}

/**
 * One head in the top-k mode.
 *
 * @tparam CFG design point (MAX_TOKENS x MAX_HEAD_DIM of K and of V, ATTN_MAX_CODEBOOK
 *             codewords on chip).
 */
template <class CFG>
void att_topk_head(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                   const att_topk_job job, uint32_t lanes, uint64_t& overflows) {
  typedef typename CFG::act ACT;
  typedef typename CFG::act_t act_t;
  static act_t kbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  static act_t vbuf[CFG::MAX_TOKENS][CFG::MAX_HEAD_DIM];
  static act_t centres[CFG::ATTN_MAX_CODEBOOK][CFG::MAX_HEAD_DIM];
  static act_t coding[CFG::ATTN_MAX_CODEBOOK][CFG::MAX_HEAD_DIM];
  static int64_t half[CFG::ATTN_MAX_CODEBOOK];
  uint32_t codes[CFG::MAX_TOKENS] = {};  // zeroed: the compiler cannot see t <= MAX_TOKENS
  int64_t table[CFG::ATTN_MAX_CODEBOOK], approx[CFG::MAX_TOKENS], s[CFG::MAX_TOKENS];
  bool keep[CFG::MAX_TOKENS];
  uint32_t picks[CFG::MAX_TOKENS] = {};
  act_t q[CFG::MAX_HEAD_DIM];
  uint64_t acc[CFG::MAX_HEAD_DIM];
  int64_t out[CFG::MAX_HEAD_DIM];
  const uint64_t head = (uint64_t)job.h * job.hd;
  const uint64_t table_bytes = align64((uint64_t)job.c * job.hd * ACT::BYTES);
ATT_TOPK_BOOK:
  for (uint32_t c = 0; c < job.c; c++) {  // codebook block: centres, coding, half norms
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_MAX_CODEBOOK
    const uint64_t row = (uint64_t)c * job.hd * ACT::BYTES;
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, job.book + row, job.hd, centres[c]);
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, job.book + table_bytes + row, job.hd, coding[c]);
    half[c] = load_elem<CFG, 8, true>(xmem, job.book + 2 * table_bytes + 8 * (uint64_t)c);
  }
ATT_TOPK_KV:
  for (uint32_t r = 0; r < job.t; r++) {  // K and V on chip; each key's code
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    const uint64_t row = job.qkv + ((uint64_t)r * 3 * job.width + head) * ACT::BYTES;
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, row + job.width * ACT::BYTES, job.hd, kbuf[r]);
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, row + 2 * job.width * ACT::BYTES, job.hd, vbuf[r]);
    int64_t best = 0;
    codes[r] = 0;
  ATT_TOPK_CODE:
    for (uint32_t c = 0; c < job.c; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_MAX_CODEBOOK
      const int64_t dist = (int64_t)((uint64_t)half[c] - (uint64_t)att_topk_dot<CFG>(kbuf[r], coding[c], job.hd));
      if (c == 0 || dist < best) {  // strictly smaller: ties keep the lower code
        best = dist;
        codes[r] = c;
      }
    }
  }
  write_row<CFG, 4>(ymem, job.codes, job.t, codes);
ATT_TOPK_QUERIES:
  for (uint32_t i = 0; i < job.t; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(
        xmem, job.qkv + ((uint64_t)i * 3 * job.width + head) * ACT::BYTES, job.hd, q);
  ATT_TOPK_TABLE:
    for (uint32_t c = 0; c < job.c; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ATTN_MAX_CODEBOOK
      table[c] = att_topk_dot<CFG>(q, centres[c], job.hd);
    }
  ATT_TOPK_GATHER:
    for (uint32_t j = 0; j < job.t; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
      approx[j] = table[codes[j]];
    }
    att_topk_select<CFG>(approx, job.t, job.kept, keep);
    uint32_t n = 0;
  ATT_TOPK_PICKS:
    for (uint32_t j = 0; j < job.t; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
#pragma HLS PIPELINE II=1
      if (keep[j]) picks[n++] = j;
    }
    write_row<CFG, 4>(ymem, job.picks + 4 * (uint64_t)i * job.kept, job.kept, picks);
    // exact attention on the kept keys, visited in the dense schedule's order
    int64_t bias = raw_min<ACT>(), sum = 0;
    const uint32_t start = i % lanes;
  ATT_TOPK_QK:
    for (uint32_t step = 0; step < job.t; step++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
      const uint32_t key = start + step < job.t ? start + step : start + step - job.t;
      if (!keep[key]) continue;
      s[key] = quant_product<ACT, 3 * ACT::FRAC>(att_topk_dot<CFG>(q, kbuf[key], job.hd),
                                                 job.scale, overflows);
      softmax_update<ACT>(bias, sum, s[key]);
    }
    const int64_t recip = reciprocal<ACT::FRAC, ACT>(sum);
  ATT_TOPK_ACC_CLEAR:
    for (uint32_t x = 0; x < job.hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
      acc[x] = 0;
    }
  ATT_TOPK_AV:
    for (uint32_t key = 0; key < job.t; key++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TOKENS
      if (!keep[key]) continue;
      const act_t p = (act_t)softmax_prob<ACT>(s[key], bias, recip);
    ATT_TOPK_AV_X:
      for (uint32_t x = 0; x < job.hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
        acc[x] += mac_product(p, vbuf[key][x]);
      }
    }
  ATT_TOPK_OUT:
    for (uint32_t x = 0; x < job.hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
      out[x] = quant_counted<ACT, 2 * ACT::FRAC>((int64_t)acc[x], overflows);
    }
    write_row<CFG, ACT::BYTES>(
        ymem, job.dst + ((uint64_t)i * job.width + head) * ACT::BYTES, job.hd, out);
  }
}

/**
 * ATTENTION with isa::FLAG_ATTN_TOPK: every head through att_topk_head.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_attention_topk(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                           const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  att_topk_job job;
  const uint32_t nh = ins.f(isa::FLD_ATTENTION_HEADS), k = ins.f(isa::FLD_ATTENTION_TOP_K);
  job.t = ins.f(isa::FLD_ATTENTION_TOKENS);
  job.hd = ins.f(isa::FLD_ATTENTION_HEAD_DIM);
  job.c = ins.f(isa::FLD_ATTENTION_CODEBOOK_SIZE);
  job.kept = k < job.t ? k : job.t;
  job.qkv = ins.f(isa::FLD_ATTENTION_QKV);
  job.dst = ins.f(isa::FLD_ATTENTION_DST);
  job.width = (uint64_t)nh * job.hd;
  job.scale = ins.imm();
  const uint64_t head_bytes = 2 * align64((uint64_t)job.c * job.hd * ACT::BYTES) +
                              align64(8 * (uint64_t)job.c);  // numerics.attn_topk layout
ATT_TOPK_HEADS:
  for (uint32_t h = 0; h < nh; h++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEADS
    job.h = h;
    job.book = ins.f(isa::FLD_ATTENTION_CODEBOOK) + h * head_bytes;
    job.codes = ins.f(isa::FLD_ATTENTION_CODES) + 4 * (uint64_t)h * job.t;
    job.picks = ins.f(isa::FLD_ATTENTION_PICKS) + 4 * (uint64_t)h * job.t * job.kept;
    uint64_t overflows = 0;
    att_topk_head<CFG>(xmem, ymem, job, CFG::ATTN_LANES, overflows);
    prof.v[isa::PROF_OVERFLOWS] += overflows;
  }
  prof.v[isa::PROF_MACS] += (uint64_t)nh * job.t * job.hd * (2 * job.c + 2 * job.kept);
  prof.v[isa::PROF_WEIGHT_BYTES] += nh * head_bytes;  // every head's codebook, fetched whole
  return isa::ERR_OK;
}

/**
 * The top-k path only where the design point builds it (CFG::ATTN_TOPK_BUILT, design point
 * key attn_topk): elsewhere op_attention_topk is never instantiated (C++14: no if constexpr)
 * and the checker has refused the flag already (ERR_BAD_FLAGS, repeated here as a guard).
 */
template <class CFG, bool BUILT = (CFG::ATTN_TOPK_BUILT != 0)>
struct att_topk_path {
  static uint32_t run(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
    return op_attention_topk<CFG>(xmem, ymem, ins, prof);
  }
};
template <class CFG>
struct att_topk_path<CFG, false> {
  static uint32_t run(const typename CFG::word_t*, typename CFG::word_t*, const instr_t&,
                      profile_t&) {
    return isa::ERR_BAD_FLAGS;
  }
};

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ATTENTION_TOPK_HPP
