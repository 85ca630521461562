/**
 * @file em_stream.hpp
 * @brief Rows as streams of VEC_LANES-element tiles: the channel between the load,
 *        compute and store processes of the vector engine's DATAFLOW regions (LAYERNORM,
 *        ADD, UPSAMPLE, POOL).
 *
 * A load process bursts a row from its m_axi port into a row buffer (one beat per cycle,
 * read_row) and pushes it as ceil(n / VEC_LANES) tiles, one per cycle; a store process
 * pulls the tiles into its own row buffer and bursts it out (write_row).  Lanes past the
 * row's end carry zeros and are never stored.  The helpers are called inside a process
 * (inlined there); lint-hls follows a stream through them to the process that owns it.
 */
#ifndef EDGEMOE_EM_STREAM_HPP
#define EDGEMOE_EM_STREAM_HPP

#include "em_mem.hpp"

#include <hls_stream.h>

namespace edgemoe {

/** VEC_LANES elements of a row: one beat of a vector stream. @tparam CFG design point. */
template <class CFG>
struct vec_tile {
  int64_t v[CFG::VEC_LANES];
};

/** Tiles of an n-element row. */
inline uint32_t vec_tiles(uint64_t n, uint32_t lanes) { return (uint32_t)ceil_div(n, lanes); }

/**
 * Push row[0..n) as vec_tiles(n) tiles, one per cycle (lanes past n are zero).
 *
 * @tparam CFG design point.
 * @tparam N   row buffer size (partitioned cyclic by VEC_LANES in the caller).
 */
template <class CFG, int N>
void push_tiles(const int64_t (&row)[N], uint32_t n, hls::stream<vec_tile<CFG> >& out) {
#pragma HLS INLINE
VT_PUSH:
  for (uint32_t k = 0; k < vec_tiles(n, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=N / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
    vec_tile<CFG> tile;
  VT_PUSH_LANES:
    for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
      const uint32_t j = k * CFG::VEC_LANES + i;
      tile.v[i] = j < n ? row[j] : 0;
    }
    out.write(tile);
  }
}

/**
 * Pull vec_tiles(n) tiles into row[0..n), one per cycle.
 *
 * @tparam CFG design point.
 * @tparam N   row buffer size (partitioned cyclic by VEC_LANES in the caller).
 */
template <class CFG, int N>
void pull_tiles(hls::stream<vec_tile<CFG> >& in, uint32_t n, int64_t (&row)[N]) {
#pragma HLS INLINE
VT_PULL:
  for (uint32_t k = 0; k < vec_tiles(n, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=N / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
    const vec_tile<CFG> tile = in.read();
  VT_PULL_LANES:
    for (int i = 0; i < CFG::VEC_LANES; i++) {
#pragma HLS UNROLL
      const uint32_t j = k * CFG::VEC_LANES + i;
      if (j < n) row[j] = tile.v[i];
    }
  }
}

/**
 * Load process body for one row: burst n elements at byte `off` and push them as tiles.
 *
 * @tparam CFG design point.
 * @tparam FMT element format trait (BYTES, SIGNED).
 * @tparam N   row buffer size.
 */
template <class CFG, class FMT, int N>
void load_tiles(const typename CFG::word_t* mem, uint64_t off, uint32_t n, int64_t (&row)[N],
                hls::stream<vec_tile<CFG> >& out) {
#pragma HLS INLINE
  read_row<CFG, FMT::BYTES, FMT::SIGNED>(mem, off, n, row);
  push_tiles<CFG, N>(row, n, out);
}

/**
 * Store process body for one row: pull n elements' tiles and burst them to byte `off`.
 *
 * @tparam CFG design point.
 * @tparam FMT element format trait (BYTES).
 * @tparam N   row buffer size.
 */
template <class CFG, class FMT, int N>
void store_tiles(hls::stream<vec_tile<CFG> >& in, typename CFG::word_t* mem, uint64_t off,
                 uint32_t n, int64_t (&row)[N]) {
#pragma HLS INLINE
  pull_tiles<CFG, N>(in, n, row);
  write_row<CFG, FMT::BYTES>(mem, off, n, row);
}

/**
 * Store process of a vector region: `rows` rows of activations from a tile stream, row r
 * at element r * stride of dst, min(stride, total - r * stride) elements long (only the
 * last row of ADD's chunks is shorter).
 *
 * @tparam CFG design point.
 * @tparam N   row buffer size (>= stride).
 * @tparam TC  typical row count (LOOP_TRIPCOUNT, reports only).
 */
template <class CFG, int N, int TC>
void vec_store_rows(hls::stream<vec_tile<CFG> >& ys, typename CFG::word_t* ymem, uint64_t dst,
                    uint32_t stride, uint64_t total, uint32_t rows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[N];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
VS_ROWS:
  for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT max=TC
    const uint64_t first = (uint64_t)r * stride;
    store_tiles<CFG, ACT, N>(ys, ymem, dst + first * ACT::BYTES,
                             (uint32_t)em_umin(stride, total - first), row);
  }
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_STREAM_HPP
