/**
 * @file em_vector.hpp
 * @brief Element-wise ops on the vector engine: ADD / COPY and UPSAMPLE (bilinear x2), as
 *        edgemoe/golden/vector_ops.py defines them, each a DATAFLOW region of a load, a
 *        compute and a store process joined by VEC_LANES-wide tile streams (em_stream.hpp).
 *        LAYERNORM is in em_layernorm.hpp.
 *
 * The load process reads on the activation-in port, the store process writes on the
 * activation-out port, so a row is read, computed and stored at the same time as its
 * neighbours.  ADD may run in place (dst == a or b): element i is written only after the
 * load process read it (the store process waits for its tile), so the overlap is safe.
 */
#ifndef EDGEMOE_EM_VECTOR_HPP
#define EDGEMOE_EM_VECTOR_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"
#include "em_numerics.hpp"
#include "em_stream.hpp"

namespace edgemoe {

/** Elements in ADD chunk `i` of an n-element operand. @tparam CFG design point. */
template <class CFG>
inline uint32_t add_chunk_size(uint32_t i, uint64_t n) {
  return (uint32_t)em_umin(CFG::ADD_CHUNK, n - (uint64_t)i * CFG::ADD_CHUNK);
}

/** ADD load process: chunks of a (and of b unless copying) as tiles. @tparam CFG design point. */
template <class CFG>
void add_load(const typename CFG::word_t* xmem, uint64_t pa, uint64_t pb, uint64_t n,
              bool copy, uint32_t chunks, hls::stream<vec_tile<CFG> >& as,
              hls::stream<vec_tile<CFG> >& bs) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::ADD_CHUNK];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
ADD_LOAD_CHUNKS:
  for (uint32_t i = 0; i < chunks; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ADD_CHUNKS
    const uint64_t off = (uint64_t)i * CFG::ADD_CHUNK * ACT::BYTES;
    const uint32_t m = add_chunk_size<CFG>(i, n);
    load_tiles<CFG, ACT>(xmem, pa + off, m, row, as);
    if (!copy) load_tiles<CFG, ACT>(xmem, pb + off, m, row, bs);
  }
}

/** ADD compute process: y = q(a + b) per lane (y = a when copying). @tparam CFG design point. */
template <class CFG>
void add_compute(hls::stream<vec_tile<CFG> >& as, hls::stream<vec_tile<CFG> >& bs, uint64_t n,
                 bool copy, uint32_t chunks, hls::stream<vec_tile<CFG> >& ys,
                 uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  uint64_t ovf = 0;
ADD_CHUNKS:
  for (uint32_t i = 0; i < chunks; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_ADD_CHUNKS
  ADD_TILES:
    for (uint32_t k = 0; k < vec_tiles(add_chunk_size<CFG>(i, n), CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::ADD_CHUNK / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
      vec_tile<CFG> y = as.read();
      if (!copy) {
        const vec_tile<CFG> b = bs.read();
      ADD_LANES:
        for (int j = 0; j < CFG::VEC_LANES; j++) {
#pragma HLS UNROLL
          // lanes past the chunk add 0 + 0: nothing to count
          y.v[j] = quant_counted<ACT, ACT::FRAC>(add_wrap(y.v[j], b.v[j]), ovf);
        }
      }
      ys.write(y);
    }
  }
  overflows += ovf;
}

/** ADD's DATAFLOW region: load -> compute -> store over `chunks`. @tparam CFG design point. */
template <class CFG>
void add_region(const typename CFG::word_t* xmem, typename CFG::word_t* ymem, uint64_t pa,
                uint64_t pb, uint64_t pd, uint64_t n, bool copy, uint32_t chunks,
                uint64_t& overflows) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<vec_tile<CFG> > as("add_a");
#pragma HLS STREAM variable=as depth=CFG::ADD_CHUNK / CFG::VEC_LANES  // a chunk: b loads after a
  hls::stream<vec_tile<CFG> > bs("add_b");
#pragma HLS STREAM variable=bs depth=4
  hls::stream<vec_tile<CFG> > ys("add_y");
#pragma HLS STREAM variable=ys depth=CFG::ADD_CHUNK / CFG::VEC_LANES  // a chunk
  add_load<CFG>(xmem, pa, pb, n, copy, chunks, as, bs);
  add_compute<CFG>(as, bs, n, copy, chunks, ys, overflows);
  vec_store_rows<CFG, CFG::ADD_CHUNK, CFG::TC_ADD_CHUNKS>(ys, ymem, pd, CFG::ADD_CHUNK, n,
                                                         chunks);
}

/**
 * ADD: dst = q(a + b), or COPY: dst = a, in chunks of ADD_CHUNK elements.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_add(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                const instr_t& ins, profile_t& prof) {
  const uint64_t n = ins.f(isa::FLD_ADD_COUNT);
  const uint32_t chunks = (uint32_t)ceil_div(n, CFG::ADD_CHUNK);
  add_region<CFG>(xmem, ymem, ins.f(isa::FLD_ADD_A), ins.f(isa::FLD_ADD_B),
                  ins.f(isa::FLD_ADD_DST), n, ins.has(isa::FLAG_COPY), chunks,
                  prof.v[isa::PROF_OVERFLOWS]);
  return isa::ERR_OK;
}

/**
 * UPSAMPLE's walk, shared by its three processes: input pixel (y, x) in row-major order
 * is one step; step (y, x) writes the output columns [first, last] of rows 2y and 2y + 1
 * (2x - 1 and 2x, from 0 at x = 0, through 2x + 1 at the last column), the ones whose
 * two input columns are x - 1 and x.
 */
struct up_columns_t {
  uint32_t first, last;
};

/** The output columns of step x of a row of w input pixels. */
inline up_columns_t up_columns(uint32_t x, uint32_t w) {
  up_columns_t s;
  s.first = x == 0 ? 0 : 2 * x - 1;
  s.last = x + 1 == w ? 2 * x + 1 : 2 * x;
  return s;
}

/**
 * UPSAMPLE load process: per input pixel (y, x), column x of rows y - 1, y and y + 1
 * (clamped), each once per input row (3 reads per 4 output pixels).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_load(const typename CFG::word_t* xmem, uint64_t src, uint32_t h, uint32_t w,
             uint32_t c, hls::stream<vec_tile<CFG> >& ps) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  const uint64_t row_bytes = (uint64_t)w * c * ACT::BYTES, px = (uint64_t)c * ACT::BYTES;
  uint64_t pix = src;  // input pixel (y, x): row-major, so one step is one pixel
UP_LOAD_ROWS:
  for (uint32_t y = 0; y < h; y++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
  UP_LOAD_COLUMNS:
    for (uint32_t x = 0; x < w; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
      load_tiles<CFG, ACT>(xmem, y > 0 ? pix - row_bytes : pix, c, row, ps);
      load_tiles<CFG, ACT>(xmem, pix, c, row, ps);
      load_tiles<CFG, ACT>(xmem, y + 1 < h ? pix + row_bytes : pix, c, row, ps);
      pix += px;
    }
  }
}

/**
 * UPSAMPLE compute process: out = q((9a + 3b + 3c + d) / 16) per lane, as
 * q((3 V(nx) + V(fx)) / 16) of the exact vertical blends V(x) = 3 P(ny, x) + P(fy, x):
 * up (output row 2y: rows y, y - 1) and down (2y + 1: rows y, y + 1) of the columns
 * x - 1 and x, kept by column parity.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_blend(hls::stream<vec_tile<CFG> >& ps, uint32_t h, uint32_t w, uint32_t c,
              hls::stream<vec_tile<CFG> >& ys, uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  const uint32_t tiles = vec_tiles(c, CFG::VEC_LANES);
  const int L = CFG::VEC_LANES, N = (CFG::MAX_IN_FEATURES + L - 1) / L * L;
  int64_t held[N];   // row y - 1, then row y, of the column loading
#pragma HLS ARRAY_PARTITION variable=held type=cyclic factor=CFG::VEC_LANES
  int64_t up[2][N], down[2][N];  // blends of columns x - 1 and x by parity
#pragma HLS ARRAY_PARTITION variable=up type=complete dim=1
#pragma HLS ARRAY_PARTITION variable=up type=cyclic factor=CFG::VEC_LANES dim=2
#pragma HLS ARRAY_PARTITION variable=down type=complete dim=1
#pragma HLS ARRAY_PARTITION variable=down type=cyclic factor=CFG::VEC_LANES dim=2
  uint64_t ovf = 0;
UP_ROWS:
  for (uint32_t y = 0; y < h; y++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
  UP_COLUMNS:
    for (uint32_t x = 0; x < w; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
    UP_TAPS:
      for (uint32_t tap = 0; tap < 3; tap++) {
      UP_TAP_TILES:
        for (uint32_t k = 0; k < tiles; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
          const vec_tile<CFG> p = ps.read();
        UP_VERTICAL:
          for (int j = 0; j < L; j++) {
#pragma HLS UNROLL
            const uint32_t e = k * L + j;
            if (tap == 1) up[x % 2][e] = add_wrap(mul_wrap(3, p.v[j]), held[e]);
            if (tap == 2) down[x % 2][e] = add_wrap(mul_wrap(3, held[e]), p.v[j]);
            if (tap != 2) held[e] = p.v[j];
          }
        }
      }
      const up_columns_t s = up_columns(x, w);
    UP_OUT_ROWS:
      for (uint32_t i = 0; i < 2; i++) {
      UP_OUT_COLUMNS:
        for (uint32_t o = s.first; o <= s.last; o++) {
#pragma HLS LOOP_TRIPCOUNT max=3
          const uint32_t near = o / 2;
          const uint32_t far = o % 2 ? (near + 1 < w ? near + 1 : near) : (near ? near - 1 : 0);
        UP_TILES:
          for (uint32_t k = 0; k < tiles; k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
            vec_tile<CFG> out;
          UP_LANES:
            for (int j = 0; j < L; j++) {
#pragma HLS UNROLL
              const uint32_t e = k * L + j;
              const int64_t vn = i ? down[near % 2][e] : up[near % 2][e];
              const int64_t vf = i ? down[far % 2][e] : up[far % 2][e];
              // lanes past the channels blend zeros: nothing to count
              out.v[j] = quant_counted<ACT, ACT::FRAC + 4>(add_wrap(mul_wrap(3, vn), vf), ovf);
            }
            ys.write(out);
          }
        }
      }
    }
  }
  overflows += ovf;
}

/**
 * UPSAMPLE store process: the blend's output pixels in its order (per step, the step's
 * columns of row 2y, then of row 2y + 1), each burst to its place in dst.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_store(hls::stream<vec_tile<CFG> >& ys, typename CFG::word_t* ymem, uint64_t dst,
              uint32_t h, uint32_t w, uint32_t c) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  const uint64_t px = (uint64_t)c * ACT::BYTES;
UP_STORE_ROWS:
  for (uint32_t y = 0; y < h; y++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
  UP_STORE_COLUMNS:
    for (uint32_t x = 0; x < w; x++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE / 2
      const up_columns_t s = up_columns(x, w);
    UP_STORE_ROWS_OUT:
      for (uint32_t i = 0; i < 2; i++) {
      UP_STORE_PIXELS:
        for (uint32_t o = s.first; o <= s.last; o++) {
#pragma HLS LOOP_TRIPCOUNT max=3
          const uint64_t out_px = (uint64_t)(2 * y + i) * (2 * w) + o;
          store_tiles<CFG, ACT>(ys, ymem, dst + out_px * px, c, row);
        }
      }
    }
  }
}

/**
 * UPSAMPLE's DATAFLOW region: load -> blend -> store over the input pixels.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_region(const typename CFG::word_t* xmem, typename CFG::word_t* ymem, uint64_t src,
               uint64_t dst, uint32_t h, uint32_t w, uint32_t c, uint64_t& overflows) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<vec_tile<CFG> > ps("up_p");
#pragma HLS STREAM variable=ps depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one pixel
  hls::stream<vec_tile<CFG> > ys("up_y");
#pragma HLS STREAM variable=ys depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one pixel
  up_load<CFG>(xmem, src, h, w, c, ps);
  up_blend<CFG>(ps, h, w, c, ys, overflows);
  up_store<CFG>(ys, ymem, dst, h, w, c);
}

/**
 * UPSAMPLE: bilinear x2 of an HWC tensor, out = q((9a + 3b + 3c + d) / 16) with a the
 * nearest input pixel, b/c its vertical/horizontal neighbours and d the diagonal one.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_upsample(const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                     const instr_t& ins, profile_t& prof) {
  const uint32_t h = ins.f(isa::FLD_UPSAMPLE_IN_H), w = ins.f(isa::FLD_UPSAMPLE_IN_W);
  up_region<CFG>(xmem, ymem, ins.f(isa::FLD_UPSAMPLE_SRC), ins.f(isa::FLD_UPSAMPLE_DST), h, w,
                 ins.f(isa::FLD_UPSAMPLE_CHANNELS), prof.v[isa::PROF_OVERFLOWS]);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_VECTOR_HPP
