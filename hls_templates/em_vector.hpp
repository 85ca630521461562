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

/** Taps of bilinear x2 (align_corners=False) along one axis: near and far input index. */
inline void upsample_taps(uint32_t o, uint32_t n, uint32_t& near, uint32_t& far) {
  near = o / 2;
  if (o % 2 == 0) far = near > 0 ? near - 1 : 0;
  else far = near + 1 < n ? near + 1 : n - 1;
}

/**
 * UPSAMPLE load process: for each output pixel (row-major), its four input pixels a
 * (nearest), b (vertical neighbour), c (horizontal), d (diagonal) as tile streams.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_load(const typename CFG::word_t* xmem, uint64_t src, uint32_t h, uint32_t w,
             uint32_t c, uint32_t pixels, hls::stream<vec_tile<CFG> >& as,
             hls::stream<vec_tile<CFG> >& bs, hls::stream<vec_tile<CFG> >& cs,
             hls::stream<vec_tile<CFG> >& ds) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  int64_t row[CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=row type=cyclic factor=CFG::VEC_LANES  // one tile per cycle
  const uint64_t row_bytes = (uint64_t)w * c * ACT::BYTES, px = (uint64_t)c * ACT::BYTES;
  uint32_t oy = 0, ox = 0;  // output pixel of step p (counters, no division)
UP_LOAD_PIXELS:
  for (uint32_t p = 0; p < pixels; p++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE * CFG::TC_UPSAMPLE_SIDE
    uint32_t ny, fy, nx, fx;
    upsample_taps(oy, h, ny, fy);
    upsample_taps(ox, w, nx, fx);
    load_tiles<CFG, ACT>(xmem, src + ny * row_bytes + nx * px, c, row, as);
    load_tiles<CFG, ACT>(xmem, src + fy * row_bytes + nx * px, c, row, bs);
    load_tiles<CFG, ACT>(xmem, src + ny * row_bytes + fx * px, c, row, cs);
    load_tiles<CFG, ACT>(xmem, src + fy * row_bytes + fx * px, c, row, ds);
    ox = ox + 1 == 2 * w ? 0 : ox + 1;
    oy = ox == 0 ? oy + 1 : oy;
  }
}

/**
 * UPSAMPLE compute process: out = q((9a + 3b + 3c + d) / 16) per lane.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_blend(hls::stream<vec_tile<CFG> >& as, hls::stream<vec_tile<CFG> >& bs,
              hls::stream<vec_tile<CFG> >& cs, hls::stream<vec_tile<CFG> >& ds, uint32_t c,
              uint32_t pixels, hls::stream<vec_tile<CFG> >& ys, uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  uint64_t ovf = 0;
UP_PIXELS:
  for (uint32_t p = 0; p < pixels; p++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_UPSAMPLE_SIDE * CFG::TC_UPSAMPLE_SIDE
  UP_TILES:
    for (uint32_t k = 0; k < vec_tiles(c, CFG::VEC_LANES); k++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES / CFG::VEC_LANES
#pragma HLS PIPELINE II=1
      const vec_tile<CFG> a = as.read(), b = bs.read(), cc = cs.read(), dd = ds.read();
      vec_tile<CFG> y;
    UP_LANES:
      for (int j = 0; j < CFG::VEC_LANES; j++) {
#pragma HLS UNROLL
        // lanes past the channels blend zeros: nothing to count
        const int64_t rows_n = add_wrap(mul_wrap(3, a.v[j]), b.v[j]);
        const int64_t rows_f = add_wrap(mul_wrap(3, cc.v[j]), dd.v[j]);
        y.v[j] = quant_counted<ACT, ACT::FRAC + 4>(add_wrap(mul_wrap(3, rows_n), rows_f), ovf);
      }
      ys.write(y);
    }
  }
  overflows += ovf;
}

/**
 * UPSAMPLE's DATAFLOW region: load -> blend -> store over the output pixels.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void up_region(const typename CFG::word_t* xmem, typename CFG::word_t* ymem, uint64_t src,
               uint64_t dst, uint32_t h, uint32_t w, uint32_t c, uint32_t pixels,
               uint64_t& overflows) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  // a, b and c wait in their FIFOs while the later taps of the same pixel load: each holds
  // a whole pixel (ceil(MAX_IN_FEATURES / VEC_LANES) tiles) or the load process stalls
  hls::stream<vec_tile<CFG> > as("up_a");
#pragma HLS STREAM variable=as depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES + 1
  hls::stream<vec_tile<CFG> > bs("up_b");
#pragma HLS STREAM variable=bs depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES + 1
  hls::stream<vec_tile<CFG> > cs("up_c");
#pragma HLS STREAM variable=cs depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES + 1
  hls::stream<vec_tile<CFG> > ds("up_d");
#pragma HLS STREAM variable=ds depth=4
  hls::stream<vec_tile<CFG> > ys("up_y");
#pragma HLS STREAM variable=ys depth=CFG::MAX_IN_FEATURES / CFG::VEC_LANES  // one pixel
  up_load<CFG>(xmem, src, h, w, c, pixels, as, bs, cs, ds);
  up_blend<CFG>(as, bs, cs, ds, c, pixels, ys, overflows);
  vec_store_rows<CFG, CFG::MAX_IN_FEATURES, CFG::TC_UPSAMPLE_SIDE * CFG::TC_UPSAMPLE_SIDE>(
      ys, ymem, dst, c, (uint64_t)pixels * c, pixels);
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
                 ins.f(isa::FLD_UPSAMPLE_CHANNELS), 4 * h * w, prof.v[isa::PROF_OVERFLOWS]);
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_VECTOR_HPP
