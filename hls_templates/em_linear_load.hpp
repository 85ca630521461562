/**
 * @file em_linear_load.hpp
 * @brief The linear engine's strip loader (em_linear.hpp lin_run): the weight tiles of a
 *        strip of output tiles, their aligned biases and (W8A8) the int32 channel
 *        multipliers, and with codes out the code multipliers after them
 *        (edgemoe/layout.py code_muls_offset), all on the weight port.
 */
#ifndef EDGEMOE_EM_LINEAR_LOAD_HPP
#define EDGEMOE_EM_LINEAR_LOAD_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"
#include "em_tile_map.hpp"

namespace edgemoe {

/** Output tiles [ot0, ot0 + n_ot) of a packed matrix to load into one buffer. */
struct lin_load_req {
  uint64_t w_off, b_off, s_off; bool has_bias, q8;
  uint64_t c_off;  ///< W8A8 codes out: the code multipliers (0: none)
  uint32_t kt, ot0, n_ot, n_out;
  bool skip; uint64_t map_off;  ///< WSKIP: consult the tile map at map_off
};

/**
 * `cols` int32 multipliers of columns col0.. from `off` into `m` (zero past `valid`).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_load_muls(const typename CFG::word_t* wmem, uint64_t off, uint32_t col0,
                   uint32_t valid, uint32_t cols, int64_t (&m)[CFG::MAX_ROW_OUT]) {
  const fmt_rt word = {4, 0, true};
  int64_t raw[CFG::MAX_ROW_OUT];
  read_row_fmt<CFG>(wmem, off + (uint64_t)col0 * 4, valid, word, raw);
LM_COLS:
  for (uint32_t j = 0; j < cols; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_OUT
#pragma HLS PIPELINE II=1
    m[j] = j < valid ? raw[j] : 0;
  }
}

/**
 * Load output tiles of a packed matrix and their biases (aligned to acc_frac fraction
 * bits; zero without a bias or past the last column) into buffer `buf`; W8A8: the channel
 * multipliers into `scale`, with codes out the code multipliers into `cmul`.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_load(const typename CFG::word_t* wmem, const lin_load_req& rq, int acc_frac,
              const fmt_rt& wfmt, const fmt_rt& bfmt,
              typename CFG::wbuf_t (&w)[CFG::WBUF_TILES][CFG::P_OUT][CFG::P_IN],
              int64_t (&bias)[CFG::MAX_ROW_OUT], int64_t (&scale)[CFG::MAX_ROW_OUT],
              int64_t (&cmul)[CFG::MAX_ROW_OUT], lin_kept<CFG>& kept) {
#pragma HLS INLINE off  // the weight loader: one instance
  const uint32_t tile_words = CFG::P_OUT * CFG::P_IN;
  const uint64_t base = rq.w_off + (uint64_t)rq.ot0 * rq.kt * tile_words * wfmt.bytes;
  typename CFG::wbuf_t tile[CFG::P_OUT * CFG::P_IN];
#pragma HLS ARRAY_PARTITION variable=tile type=complete  // one tile lands in one cycle
  uint8_t zero[CFG::WBUF_TILES];
  if (rq.skip) lin_read_map<CFG>(wmem, rq.map_off, rq.ot0 * rq.kt, rq.n_ot * rq.kt, zero);
  lin_keep_tiles<CFG>(zero, rq.skip, rq.n_ot, rq.kt, kept);
LW_TILES:
  for (uint32_t t = 0; t < rq.n_ot * rq.kt; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
    if (rq.skip && zero[t]) {  // WSKIP: an all-zero tile is written, never fetched
    LW_ZERO:
      for (int e = 0; e < CFG::P_OUT * CFG::P_IN; e++) {
#pragma HLS UNROLL
        tile[e] = 0;
      }
    } else {
      read_row_fmt<CFG>(wmem, base + (uint64_t)t * tile_words * wfmt.bytes, tile_words, wfmt,
                        tile);
    }
  LW_OUT:
    for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
    LW_IN:
      for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
        w[t][o][i] = tile[o * CFG::P_IN + i];
      }
    }
  }
  const uint32_t col0 = rq.ot0 * CFG::P_OUT;
  const uint32_t cols = rq.n_ot * CFG::P_OUT;
  const uint32_t valid = rq.has_bias ? (uint32_t)em_umin(cols, rq.n_out - col0) : 0;
  int64_t raw[CFG::MAX_ROW_OUT];
  read_row_fmt<CFG>(wmem, rq.b_off + (uint64_t)col0 * bfmt.bytes, valid, bfmt, raw);
LB_COLS:
  for (uint32_t j = 0; j < cols; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_OUT
#pragma HLS PIPELINE II=1
    bias[j] = j < valid ? shift_frac(raw[j], bfmt.frac, acc_frac) : 0;
  }
  if (rq.q8) lin_load_muls<CFG>(wmem, rq.s_off, col0, valid, cols, scale);
  if (rq.q8 && rq.c_off != 0) lin_load_muls<CFG>(wmem, rq.c_off, col0, valid, cols, cmul);
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LINEAR_LOAD_HPP
