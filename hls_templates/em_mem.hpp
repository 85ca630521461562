/**
 * @file em_mem.hpp
 * @brief Typed little-endian access to the memory image through the wide m_axi port.
 *
 * The memory image is an array of AXI words; a word is AXI_BITS/64 little-endian 64-bit
 * lanes (Vitis aggregates the struct into one AXI_BITS-wide data bus).  Every operand is
 * 64-byte aligned and every element is naturally aligned, so an element never straddles
 * a lane.  Rows move word by word (one beat per AXI word, burst friendly); scattered
 * elements use load_elem / store_elem.
 */
#ifndef EDGEMOE_EM_MEM_HPP
#define EDGEMOE_EM_MEM_HPP

#include "em_common.hpp"

namespace edgemoe {

/**
 * One beat of the m_axi data bus.
 *
 * @tparam LANES number of 64-bit lanes (AXI_BITS / 64).
 */
template <int LANES>
struct axi_word {
  uint64_t lane[LANES];
};

/**
 * Extract the element of BYTES bytes that starts at byte `byte_in_lane` of a lane.
 *
 * @tparam BYTES  element container size (1, 2, 4 or 8).
 * @tparam SIGNED sign-extend the container (else zero-extend).
 */
template <int BYTES, bool SIGNED>
inline int64_t lane_get(uint64_t lane, int byte_in_lane) {
  const uint64_t v = lane >> (8 * byte_in_lane);
  if (BYTES == 8) return (int64_t)v;
  const int pad = 64 - 8 * BYTES;
  if (SIGNED) return ((int64_t)(v << pad)) >> pad;
  return (int64_t)((v << pad) >> pad);
}

/** Replace the BYTES-byte element at byte `byte_in_lane` of a lane. @tparam BYTES size. */
template <int BYTES>
inline uint64_t lane_put(uint64_t lane, int byte_in_lane, int64_t value) {
  const int sh = 8 * byte_in_lane;
  const uint64_t mask = (BYTES == 8) ? ~(uint64_t)0 : ((((uint64_t)1) << (8 * BYTES)) - 1);
  return (lane & ~(mask << sh)) | (((uint64_t)value & mask) << sh);
}

/**
 * One element at byte offset `off`.
 *
 * @tparam CFG    design point (CFG::word_t, CFG::AXI_BYTES).
 * @tparam BYTES  element container size.
 * @tparam SIGNED signed container.
 */
template <class CFG, int BYTES, bool SIGNED>
inline int64_t load_elem(const typename CFG::word_t* mem, uint64_t off) {
  const uint64_t lane = mem[off / CFG::AXI_BYTES].lane[(off % CFG::AXI_BYTES) / 8];
  return lane_get<BYTES, SIGNED>(lane, (int)(off % 8));
}

/**
 * Store one element at byte offset `off` (read-modify-write of its lane).
 *
 * @tparam CFG   design point.
 * @tparam BYTES element container size.
 */
template <class CFG, int BYTES>
inline void store_elem(typename CFG::word_t* mem, uint64_t off, int64_t value) {
  const uint64_t w = off / CFG::AXI_BYTES;
  const int l = (int)((off % CFG::AXI_BYTES) / 8);
  mem[w].lane[l] = lane_put<BYTES>(mem[w].lane[l], (int)(off % 8), value);
}

/** Unsigned 32-bit word at `off`. @tparam CFG design point. */
template <class CFG>
inline uint32_t load_u32(const typename CFG::word_t* mem, uint64_t off) {
  return (uint32_t)load_elem<CFG, 4, false>(mem, off);
}

/**
 * Read n consecutive elements starting at byte `off` into dst[0..n).
 *
 * @tparam CFG    design point.
 * @tparam BYTES  element container size.
 * @tparam SIGNED signed container.
 * @tparam T      destination element type.
 */
template <class CFG, int BYTES, bool SIGNED, typename T>
void read_row(const typename CFG::word_t* mem, uint64_t off, uint32_t n, T* dst) {
  if (n == 0) return;
  const uint64_t end = off + (uint64_t)n * BYTES;
  const uint64_t w0 = off / CFG::AXI_BYTES;
  const uint64_t w1 = (end - 1) / CFG::AXI_BYTES;
RD_WORDS:
  for (uint64_t w = w0; w <= w1; w++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_BEATS
#pragma HLS PIPELINE II=1  // one AXI beat per cycle (a burst)
    const typename CFG::word_t word = mem[w];
  RD_SLOTS:
    for (int b = 0; b < CFG::AXI_BYTES; b += BYTES) {
      const uint64_t pos = w * CFG::AXI_BYTES + b;
      if (pos >= off && pos < end) {
        dst[(pos - off) / BYTES] = (T)lane_get<BYTES, SIGNED>(word.lane[b / 8], b % 8);
      }
    }
  }
}

/**
 * Write src[0..n) as n consecutive elements at byte `off`; only the first and last beat
 * are read back (when the row does not cover them whole).
 *
 * @tparam CFG   design point.
 * @tparam BYTES element container size.
 * @tparam T     source element type.
 */
template <class CFG, int BYTES, typename T>
void write_row(typename CFG::word_t* mem, uint64_t off, uint32_t n, const T* src) {
  if (n == 0) return;
  const uint64_t end = off + (uint64_t)n * BYTES;
  const uint64_t w0 = off / CFG::AXI_BYTES;
  const uint64_t w1 = (end - 1) / CFG::AXI_BYTES;
WR_WORDS:
  for (uint64_t w = w0; w <= w1; w++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_ROW_BEATS
#pragma HLS PIPELINE II=1  // one AXI beat per cycle (a burst)
    const uint64_t wbeg = w * CFG::AXI_BYTES;
    const bool partial = off > wbeg || end < wbeg + CFG::AXI_BYTES;
    typename CFG::word_t word;
    if (partial) {
      word = mem[w];
    } else {
    WR_CLEAR:
      for (int l = 0; l < CFG::AXI_LANES; l++) word.lane[l] = 0;
    }
  WR_SLOTS:
    for (int b = 0; b < CFG::AXI_BYTES; b += BYTES) {
      const uint64_t pos = wbeg + b;
      if (pos >= off && pos < end) {
        const int64_t v = (int64_t)src[(pos - off) / BYTES];
        word.lane[b / 8] = lane_put<BYTES>(word.lane[b / 8], b % 8, v);
      }
    }
    mem[w] = word;
  }
}

/** Element format chosen at run time (the linear engine serves every weight format). */
struct fmt_rt {
  int bytes;   ///< container bytes in the memory image (1, 2, 4 or 8)
  int frac;    ///< fraction bits
  bool sign;   ///< signed container
};

/** fmt_rt of a compile-time format trait. @tparam FMT format trait. */
template <class FMT>
inline fmt_rt fmt_of() {
  const fmt_rt f = {FMT::BYTES, FMT::FRAC, FMT::SIGNED};
  return f;
}

/**
 * read_row for an element format known only at run time: one reader per container size,
 * selected by a switch (each is a burst reader; only the selected one runs).
 *
 * @tparam CFG design point.
 * @tparam T   destination element type.
 */
template <class CFG, typename T>
void read_row_fmt(const typename CFG::word_t* mem, uint64_t off, uint32_t n, const fmt_rt& fmt,
                  T* dst) {
  switch (fmt.bytes * 2 + (fmt.sign ? 1 : 0)) {
    case 2: read_row<CFG, 1, false>(mem, off, n, dst); break;
    case 3: read_row<CFG, 1, true>(mem, off, n, dst); break;
    case 4: read_row<CFG, 2, false>(mem, off, n, dst); break;
    case 5: read_row<CFG, 2, true>(mem, off, n, dst); break;
    case 8: read_row<CFG, 4, false>(mem, off, n, dst); break;
    case 9: read_row<CFG, 4, true>(mem, off, n, dst); break;
    default: read_row<CFG, 8, true>(mem, off, n, dst); break;
  }
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_MEM_HPP
