/**
 * @file em_attention.hpp
 * @brief ATTENTION on ATTN_LANES query lanes with Edge-MoE's reordered (staggered)
 *        schedule, single-pass softmax and AV (edgemoe/golden/vector_ops.py op_attention).
 *
 * Query block b holds queries b*p .. b*p+p-1 on lanes j = 0..p-1.  At step c (0..T+p-2)
 * every lane reads the same key row c mod T, and lane j loads its own query row only at
 * c == j, so one Q beat and one K beat are read per cycle whatever p is.  Lane j is
 * active for c in [j, j+T): it visits keys j, j+1, ..., T-1, 0, ..., j-1, which is the
 * order golden.vector_ops.key_order gives the online softmax.  Steps where a lane is
 * inactive compute nothing that is kept.  Scores stay on chip (one row per lane) for the
 * AV pass, which walks the keys on the same schedule.  Within a step the head dimension
 * streams in beats of ATTN_MACS elements, one beat per cycle for every lane (II=1).
 */
#ifndef EDGEMOE_EM_ATTENTION_HPP
#define EDGEMOE_EM_ATTENTION_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"

namespace edgemoe {

/**
 * ATTENTION: per head, s = q(q . k * scale) with the exact 64-bit dot times the 32-bit
 * scale rounded once (so q . k may exceed the activation range; error: one act rounding),
 * online softmax in the lane's key order, p = exp(s - max) * recip(sum),
 * out = q(sum_k p * v).  qkv rows are [3][heads][head_dim].
 *
 * @tparam CFG design point (ATTN_LANES lanes, MAX_TOKENS score row per lane).
 */
template <class CFG>
uint32_t op_attention(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                      const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  const int P = CFG::ATTN_LANES;
  const int M = CFG::ATTN_MACS;  // MACs per lane per cycle
  const uint32_t t = ins.f(isa::FLD_ATTENTION_TOKENS), nh = ins.f(isa::FLD_ATTENTION_HEADS);
  const uint32_t hd = ins.f(isa::FLD_ATTENTION_HEAD_DIM);
  const uint32_t beats = (uint32_t)ceil_div(hd, M);
  const uint64_t qkv = ins.f(isa::FLD_ATTENTION_QKV), dst = ins.f(isa::FLD_ATTENTION_DST);
  const int32_t scale = ins.imm();
  const uint64_t width = (uint64_t)nh * hd;
  typedef typename CFG::act_t act_t;  // activation container: the multiplier operand width
  act_t q[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM];
  act_t kv[CFG::MAX_HEAD_DIM];
  static int64_t scores[CFG::ATTN_LANES][CFG::MAX_TOKENS];
  int64_t bias[CFG::ATTN_LANES], sum[CFG::ATTN_LANES], recip[CFG::ATTN_LANES];
  int64_t prob[CFG::ATTN_LANES];
  uint64_t dot[CFG::ATTN_LANES];
  bool active[CFG::ATTN_LANES];
  uint64_t acc[CFG::ATTN_LANES][CFG::MAX_HEAD_DIM];
#pragma HLS ARRAY_PARTITION variable=q dim=1 type=complete  // every lane reads its Q row at once
#pragma HLS ARRAY_PARTITION variable=q dim=2 type=cyclic factor=CFG::ATTN_MACS  // M elements per lane per cycle
#pragma HLS ARRAY_PARTITION variable=kv type=cyclic factor=CFG::ATTN_MACS  // one K/V beat feeds every lane
#pragma HLS ARRAY_PARTITION variable=scores dim=1 type=complete  // one score row per lane
#pragma HLS ARRAY_PARTITION variable=acc dim=1 type=complete
#pragma HLS ARRAY_PARTITION variable=acc dim=2 type=cyclic factor=CFG::ATTN_MACS
#pragma HLS ARRAY_PARTITION variable=bias type=complete  // per-lane softmax state
#pragma HLS ARRAY_PARTITION variable=sum type=complete
#pragma HLS ARRAY_PARTITION variable=recip type=complete
#pragma HLS ARRAY_PARTITION variable=prob type=complete
#pragma HLS ARRAY_PARTITION variable=dot type=complete
#pragma HLS ARRAY_PARTITION variable=active type=complete
ATT_HEADS:
  for (uint32_t h = 0; h < nh; h++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEADS
  ATT_BLOCKS:
    for (uint32_t b0 = 0; b0 < t; b0 += P) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_BLOCKS
    ATT_LANE_INIT:
      for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
        bias[j] = raw_min<ACT>();
        sum[j] = 0;
      }
    ATT_QK_STEPS:
      for (uint32_t c = 0; c + 1 < t + P; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_STEPS
        const uint32_t key = c < t ? c : c - t;
        if (c < (uint32_t)P && b0 + c < t) {  // lane c's one Q beat
          read_row<CFG, ACT::BYTES, ACT::SIGNED>(
              xmem, qkv + ((uint64_t)(b0 + c) * 3 * width + (uint64_t)h * hd) * ACT::BYTES, hd,
              q[c]);
        }
        read_row<CFG, ACT::BYTES, ACT::SIGNED>(
            xmem, qkv + (((uint64_t)key * 3 + 1) * width + (uint64_t)h * hd) * ACT::BYTES, hd, kv);
      ATT_QK_CLEAR:
        for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          dot[j] = 0;
        }
      ATT_QK_BEATS:
        for (uint32_t x0 = 0; x0 < beats; x0++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_BEATS
#pragma HLS PIPELINE II=1
        ATT_QK_LANES:
          for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          ATT_QK_DOT:
            for (int u = 0; u < M; u++) {
#pragma HLS UNROLL
              const uint32_t x = x0 * M + u;
              if (x < hd) dot[j] += mac_product(q[j][x], kv[x]);
            }
          }
        }
      ATT_QK_LANES_DONE:
        for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          const uint32_t i = b0 + j;
          if (!(c >= (uint32_t)j && c < (uint32_t)j + t && i < t)) continue;
          // scaled before it is stored: only the score, never q.k, is in the act format
          const int64_t s = quant_product<ACT, 3 * ACT::FRAC>((int64_t)dot[j], scale,
                                                               prof.v[isa::PROF_OVERFLOWS]);
          scores[j][key] = s;
          softmax_update<ACT>(bias[j], sum[j], s);
        }
      }
    ATT_RECIP:
      for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
        recip[j] = reciprocal<ACT::FRAC, ACT>(sum[j]);
      }
    ATT_ACC_CLEAR:
      for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
      ATT_ACC_CLEAR_LANES:
        for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          acc[j][x] = 0;
        }
      }
    ATT_AV_STEPS:
      for (uint32_t c = 0; c + 1 < t + P; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_STEPS
        const uint32_t key = c < t ? c : c - t;
        read_row<CFG, ACT::BYTES, ACT::SIGNED>(
            xmem, qkv + (((uint64_t)key * 3 + 2) * width + (uint64_t)h * hd) * ACT::BYTES, hd, kv);
      ATT_AV_PROBS:
        for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          const uint32_t i = b0 + j;
          active[j] = c >= (uint32_t)j && c < (uint32_t)j + t && i < t;
          prob[j] = active[j] ? softmax_prob<ACT>(scores[j][key], bias[j], recip[j]) : 0;
        }
      ATT_AV_BEATS:
        for (uint32_t x0 = 0; x0 < beats; x0++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ATTN_BEATS
#pragma HLS PIPELINE II=1
        ATT_AV_LANES:
          for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
          ATT_AV_MAC:
            for (int u = 0; u < M; u++) {
#pragma HLS UNROLL
              const uint32_t x = x0 * M + u;
              if (x < hd && active[j]) acc[j][x] += mac_product((act_t)prob[j], kv[x]);
            }
          }
        }
      }
    ATT_WRITE:
      for (int j = 0; j < P; j++) {
        const uint32_t i = b0 + j;
        if (i >= t) continue;
        int64_t out[CFG::MAX_HEAD_DIM];
      ATT_QUANT:
        for (uint32_t x = 0; x < hd; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_HEAD_DIM
#pragma HLS PIPELINE II=1
          out[x] = quant_counted<ACT, 2 * ACT::FRAC>((int64_t)acc[j][x],
                                                     prof.v[isa::PROF_OVERFLOWS]);
        }
        write_row<CFG, ACT::BYTES>(ymem, dst + ((uint64_t)i * width + (uint64_t)h * hd) * ACT::BYTES,
                                   hd, out);
      }
    }
  }
  prof.v[isa::PROF_MACS] += 2 * (uint64_t)nh * t * t * hd;
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_ATTENTION_HPP
