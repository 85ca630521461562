/**
 * @file em_int4.hpp
 * @brief Mixed int4/int8 LINEAR (FLAG_WFMT_Q4), bit-exact with edgemoe/numerics/int4.py.
 *
 * The engine runs a mixed layer as a W8A8 pass: int8 input codes, exact sums, then the
 * W8A8 dequantization with the part rows' multipliers.  Only the loader differs: it puts
 * each part row at its output channel (the channel_index scatter, done on the weights
 * instead of the outputs) and expands the int4 rows into (u - z) * e, so that
 * sum_k q * ((u - z) * e_g) = sum_g e_g * (sum_{k in g} q * (u - z)): the same bits as
 * numerics.int4's two steps (|t| < 2**31 by the op spec's in_features limit).
 */
#ifndef EDGEMOE_EM_INT4_HPP
#define EDGEMOE_EM_INT4_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"
#include "em_tile_map.hpp"

namespace edgemoe {

/** A mixed layer's weight layout (numerics.int4): `on` is false for every other pass. */
struct lin_q4 {
  bool on;
  uint64_t w_off, idx_off;  ///< the weights operand and the channel_index list
  uint32_t n, k, high, groups;
};

/** One group per row (numerics.int4.zero_point_nibbles): the group parameters are the
 *  zero points alone, two a byte; the scale code is E_MAX, not stored. */
inline bool zero_point_nibbles(uint32_t groups) { return groups == 1; }

/** Bytes of a mixed layer's weights operand (numerics.int4.weight_bytes): one group per
 *  row keeps only the zero points, two a byte (int4.group_param_bytes). */
template <class CFG>
inline uint64_t q4_weight_bytes(const lin_q4& q) {
  const uint64_t rows = ceil_div(q.n - q.high, CFG::P_OUT) * CFG::P_OUT;
  const uint64_t kp = ceil_div(q.k, CFG::P_IN) * CFG::P_IN;
  const uint64_t params = zero_point_nibbles(q.groups) ? ceil_div(rows, 2) : rows * q.groups * 2;
  return weight_block_bytes<CFG>(q.high, q.k, 1) + align64(ceil_div(rows * kp, 2)) +
         align64(params);
}

/** Byte index of element (r, c) of a tile-packed matrix with kt input tiles. */
template <class CFG>
inline uint64_t q4_tiled_pos(uint64_t r, uint64_t c, uint64_t kt) {
  return ((r / CFG::P_OUT) * kt + c / CFG::P_IN) * (CFG::P_OUT * CFG::P_IN) +
         (r % CFG::P_OUT) * CFG::P_IN + c % CFG::P_IN;
}

/**
 * Whether channel_index is a permutation of 0..n-1 (else the op ends with ERR_BAD_QUEUE,
 * as golden's linear_mixed does).
 *
 * @tparam CFG design point.
 */
template <class CFG>
bool q4_index_ok(const typename CFG::word_t* mem, uint64_t idx_off, uint32_t n) {
  bool seen[CFG::MAX_OUT_FEATURES];
Q4_SEEN_CLEAR:
  for (uint32_t c = 0; c < n; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES
#pragma HLS PIPELINE II=1
    seen[c] = false;
  }
  bool ok = true;
Q4_SEEN:
  for (uint32_t r = 0; r < n; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES
#pragma HLS PIPELINE II=2  // read-modify-write of seen[]
    const uint32_t c = load_u32<CFG>(mem, idx_off + 4 * (uint64_t)r);
    if (c >= n || seen[c]) ok = false;
    else seen[c] = true;
  }
  return ok;
}

/**
 * One weight of part row r: its int8 code, or (u - z) * e of its int4 code.
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline int64_t q4_weight(const typename CFG::word_t* wmem, const lin_q4& q, uint32_t kt,
                         uint64_t lo_off, uint64_t par_off, uint32_t gsize, uint32_t r,
                         uint32_t c) {
  if (r < q.high) return load_elem<CFG, 1, true>(wmem, q.w_off + q4_tiled_pos<CFG>(r, c, kt));
  const uint32_t rr = r - q.high;
  const uint64_t pos = q4_tiled_pos<CFG>(rr, c, kt);
  const int64_t byte = load_elem<CFG, 1, false>(wmem, lo_off + pos / 2);
  const int64_t u = (pos & 1) ? byte >> 4 : byte & 15;  // even element: low nibble
  if (zero_point_nibbles(q.groups)) {  // zero points two a byte, e = E_MAX implied
    const int64_t zb = load_elem<CFG, 1, false>(wmem, par_off + rr / 2);
    return (u - ((rr & 1) ? zb >> 4 : zb & 15)) * CFG::E_MAX;
  }
  const uint64_t p = par_off + ((uint64_t)rr * q.groups + c / gsize) * 2;
  return (u - load_elem<CFG, 1, false>(wmem, p + 1)) * load_elem<CFG, 1, false>(wmem, p);
}

/**
 * The loader of a mixed layer: output tiles [ot0, ot0 + n_ot) of the chunk, each channel
 * from its part row (bias and multiplier too), int4 rows expanded.  Every tile is kept.
 *
 * @tparam CFG design point.
 * @tparam REQ the engine's load request (lin_load_req).
 */
template <class CFG, class REQ>
void lin_load_q4(const typename CFG::word_t* wmem, const REQ& rq, const lin_q4& q,
                 int acc_frac, const fmt_rt& bfmt,
                 typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
                 int64_t (&bias)[CFG::MAX_ROW_OUT], int64_t (&scale)[CFG::MAX_ROW_OUT],
                 lin_kept<CFG>& kept) {
#pragma HLS INLINE off  // the mixed layers' loader: one instance
  // (u - z) * e needs 13 bits: the op spec refuses WFMT_Q4 where wbuf_t is one byte
  const uint8_t none[CFG::WBUF_TILES] = {0};
  lin_keep_tiles<CFG>(none, false, rq.n_ot, rq.kt, kept);
Q4_CLEAR:
  for (uint32_t t = 0; t < rq.n_ot * rq.kt; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
#pragma HLS PIPELINE II=1
  Q4_CLEAR_OUT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
    Q4_CLEAR_IN:
      for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
        w[t][o][i] = 0;
      }
    }
  }
  const uint32_t col0 = rq.ot0 * CFG::P_OUT;
  const uint32_t valid = (uint32_t)em_umin(rq.n_ot * CFG::P_OUT, q.n - col0);
Q4_CLEAR_COLS:
  for (uint32_t j = 0; j < rq.n_ot * CFG::P_OUT; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_OUT
#pragma HLS PIPELINE II=1
    bias[j] = 0;
    scale[j] = 0;
  }
  const uint64_t low = q.n - q.high;
  const uint64_t lo_off = q.w_off + weight_block_bytes<CFG>(q.high, q.k, 1);
  const uint64_t par_off =
      lo_off + align64(ceil_div(ceil_div(low, CFG::P_OUT) * CFG::P_OUT * rq.kt * CFG::P_IN, 2));
  const uint32_t gsize = (uint32_t)ceil_div(q.k, q.groups);
Q4_ROWS:
  for (uint32_t r = 0; r < q.n; r++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES
    const uint32_t c = load_u32<CFG>(wmem, q.idx_off + 4 * (uint64_t)r);
    if (c < col0 || c >= col0 + valid) continue;  // another chunk's channel
    const uint32_t j = c - col0;
    int64_t raw[1];
    read_row_fmt<CFG>(wmem, rq.b_off + (uint64_t)r * bfmt.bytes, 1, bfmt, raw);
    bias[j] = shift_frac(raw[0], bfmt.frac, acc_frac);
    scale[j] = (int32_t)load_u32<CFG>(wmem, rq.s_off + 4 * (uint64_t)r);
  Q4_COLS:
    for (uint32_t kk = 0; kk < q.k; kk++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
      w[(j / CFG::P_OUT) * rq.kt + kk / CFG::P_IN][j % CFG::P_OUT][kk % CFG::P_IN] =
          (typename CFG::wbuf_t)q4_weight<CFG>(wmem, q, rq.kt, lo_off, par_off, gsize, r, kk);
    }
  }
}

/**
 * A mixed MOE_EXPERTS (FLAG_WFMT_Q4, numerics.int4's experts section): per layer (0: fc1,
 * 1: fc2) the int8 row count, the group count and the stride of the experts' weights; the
 * W8A8 d4 word kept at the end of b1.
 */
struct moe_q4 {
  uint32_t high[2], groups[2];
  uint64_t w_stride[2];
  uint32_t q8_word;
};

/** Groups of an expert layer with k inputs (numerics.int4.moe_groups): MOE_MIN_GROUP <<
 *  code inputs each, code 7 one group per row. @tparam CFG design point. */
template <class CFG>
inline uint32_t moe_q4_groups(uint32_t k, uint32_t code) {
  return code == 7 ? 1u : (uint32_t)ceil_div(k, (uint64_t)CFG::MOE_MIN_GROUP << code);
}

/** Expert x's channel_index block in a b operand of n-row layers (int4.moe_index_offset):
 *  after every expert's bias block and multiplier block. @tparam CFG design point. */
template <class CFG>
inline uint64_t moe_q4_index_off(uint64_t b_off, uint32_t x, uint32_t e, uint32_t n,
                                 uint32_t bias_bytes) {
  return b_off + e * bias_block_bytes<CFG>(n, bias_bytes) + (e + x) * bias_block_bytes<CFG>(n, 4);
}

/**
 * Decode a mixed MOE_EXPERTS and check what its fields cannot: the d4 word at the end of
 * b1 (dq_shift <= DQ_SHIFT_MAX, else ERR_BAD_SHAPE) and every expert's channel_index
 * lists (permutations, else ERR_BAD_QUEUE), fc1's then fc2's, as golden's moe_q4 does.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t moe_q4_setup(const typename CFG::word_t* mem, const instr_t& ins, uint32_t e,
                      uint32_t d, uint32_t h, moe_q4& m) {
  const uint32_t split = ins.f(isa::FLD_MOE_EXPERTS_Q4_SPLIT);
  const uint32_t top = (1u << CFG::MOE_HIGH_BITS) - 1, code = (split >> CFG::MOE_CODE_SHIFT) & 7;
  const uint32_t n[2] = {h, d}, k[2] = {d, h};
  const uint64_t b[2] = {ins.f(isa::FLD_MOE_EXPERTS_B1), ins.f(isa::FLD_MOE_EXPERTS_B2)};
  m.high[0] = split & top;
  m.high[1] = (split >> CFG::MOE_HIGH_BITS) & top;
  const uint32_t bb = CFG::bias::BYTES;
  m.q8_word = load_u32<CFG>(mem, moe_q4_index_off<CFG>(b[0], e, e, h, bb));
  if ((m.q8_word & ((1u << CFG::MOE_DQ_BITS) - 1)) > (uint32_t)CFG::DQ_SHIFT_MAX)
    return isa::ERR_BAD_SHAPE;
MQ4_LAYERS:
  for (int l = 0; l < 2; l++) {
    m.groups[l] = moe_q4_groups<CFG>(k[l], code);
    const lin_q4 q = {true, 0, 0, n[l], k[l], m.high[l], m.groups[l]};
    m.w_stride[l] = q4_weight_bytes<CFG>(q);
  MQ4_INDEX:
    for (uint32_t x = 0; x < e; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_EXPERTS
      if (!q4_index_ok<CFG>(mem, moe_q4_index_off<CFG>(b[l], x, e, n[l], bb), n[l]))
        return isa::ERR_BAD_QUEUE;
    }
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_INT4_HPP
