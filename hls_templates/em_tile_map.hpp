/**
 * @file em_tile_map.hpp
 * @brief The zero-tile map of a WSKIP LINEAR or expert layer (layout.tile_map_bytes): one bit
 *        per P_OUT x P_IN tile of the packed weights, set when the tile is all zero.  The
 *        weight loader (em_linear.hpp lin_load) fetches only the tiles whose bit is clear
 *        and lists, per output tile, the input tiles the MAC tile spends a cycle on.
 */
#ifndef EDGEMOE_EM_TILE_MAP_HPP
#define EDGEMOE_EM_TILE_MAP_HPP

#include "em_mem.hpp"

namespace edgemoe {

/**
 * Bytes of the zero-tile map of an [out_f, in_f] matrix: one bit per tile, 64-byte padded
 * (layout.tile_map_bytes); a WSKIP MOE_EXPERTS keeps one per expert and layer after the
 * biases (layout.moe_tile_map_offset).
 *
 * @tparam CFG design point.
 */
template <class CFG>
inline uint64_t tile_map_bytes(uint64_t out_f, uint64_t in_f) {
  return align64((ceil_div(out_f, CFG::P_OUT) * ceil_div(in_f, CFG::P_IN) + 7) / 8);
}

/**
 * WSKIP: zero[j] = 1 when tile first + j of a packed matrix is all zero, for j < count
 * (one burst over the bytes of the map that hold those bits).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_read_map(const typename CFG::word_t* wmem, uint64_t map_off, uint32_t first,
                  uint32_t count, uint8_t (&zero)[CFG::WBUF_TILES]) {
  uint8_t bytes[CFG::WBUF_TILES / 8 + 2];
  const uint32_t b0 = first / 8, nbytes = (first % 8 + count + 7) / 8;
  read_row<CFG, 1, false>(wmem, map_off + b0, nbytes, bytes);
LM_TILES:
  for (uint32_t j = 0; j < count; j++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
#pragma HLS PIPELINE II=1
    const uint32_t bit = first % 8 + j;
    zero[j] = (bytes[bit / 8] >> (bit % 8)) & 1;
  }
}

/**
 * The tiles of one weight buffer that get MAC cycles: output tile ot runs n[ot] input
 * tiles, k[ot * kt + j] for j < n[ot] in ascending order (every tile without WSKIP).
 *
 * @tparam CFG design point.
 */
template <class CFG>
struct lin_kept {
  uint16_t k[CFG::WBUF_TILES];
  uint16_t n[CFG::WBUF_TILES];
};

/**
 * List the kept tiles of n_ot output tiles of kt input tiles each: a zero tile is skipped
 * only under WSKIP (its sum is zero, so the output bytes are the dense engine's).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lin_keep_tiles(const uint8_t (&zero)[CFG::WBUF_TILES], bool skip, uint32_t n_ot,
                    uint32_t kt, lin_kept<CFG>& kept) {
LK_OTILES:
  for (uint32_t ot = 0; ot < n_ot; ot++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::WBUF_TILES
    uint16_t count = 0;
  LK_KTILES:
    for (uint32_t k = 0; k < kt; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
      if (!(skip && zero[ot * kt + k])) kept.k[ot * kt + count++] = (uint16_t)k;
    }
    kept.n[ot] = count;
  }
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_TILE_MAP_HPP
