/**
 * @file em_lif.hpp
 * @brief LIF: spiking layers on the add-only LIF engine, as edgemoe/golden/snn_ops.py
 *        defines them.  Binary input spikes select weights into an adder tree (no
 *        multiplier); the membrane is one register per neuron lane and exists only when the
 *        design point allows more than one timestep.
 *
 * A layer is a DATAFLOW region over blocks of P_OUT neurons: the load process streams a
 * block's weight strip (P_OUT x P_IN per beat) and biases from the weight port, the
 * neuron process runs every timestep of the block, and the store process writes its
 * spikes (or the readout membranes) on the activation-out port, so block b+1's weights
 * load while block b fires.  The input spikes (or currents) are read once, before the
 * blocks stream: every block uses all of them.
 */
#ifndef EDGEMOE_EM_LIF_HPP
#define EDGEMOE_EM_LIF_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"

#include <hls_stream.h>

namespace edgemoe {

/** P_OUT x P_IN weights of one input tile of a block: one beat of the weight stream. */
template <class CFG>
struct lif_wtile {
  int64_t v[CFG::P_OUT][CFG::P_IN];
};

/** One value per neuron lane of a block (biases, spikes or membranes). */
template <class CFG>
struct lif_lanes {
  int64_t v[CFG::P_OUT];
};

/** What a LIF layer does: sizes, mode and neuron constants (fields of the instruction). */
struct lif_layer {
  uint32_t n, k, kt, steps;  ///< neurons, inputs, input tiles, timesteps
  int64_t th, leak;          ///< threshold (act raw), leak (LIF_LEAK_FRAC fraction bits)
  bool current, readout;     ///< act currents instead of spikes; write u_T instead of spikes
};

/**
 * LIF load process: per block, its kt weight tiles and its biases (spike input only).
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lif_load(const typename CFG::word_t* wmem, uint64_t w_off, uint64_t b_off, lif_layer ly,
              uint32_t blocks, hls::stream<lif_wtile<CFG> >& ws,
              hls::stream<lif_lanes<CFG> >& bs) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::linear_weight WT;
  typedef typename CFG::bias BT;
  int64_t strip[CFG::MAX_IN_FEATURES * CFG::P_OUT];  // one block's weights, tile order
#pragma HLS ARRAY_PARTITION variable=strip type=cyclic factor=CFG::P_OUT * CFG::P_IN
  int64_t bias[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=bias type=complete
  const uint32_t words = ly.kt * CFG::P_OUT * CFG::P_IN;
LIF_LOAD_BLOCKS:
  for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES / CFG::P_OUT
    if (!ly.current) {
      const uint32_t n0 = b * CFG::P_OUT;
      read_row<CFG, WT::BYTES, WT::SIGNED>(wmem, w_off + (uint64_t)b * words * WT::BYTES, words,
                                            strip);
    LIF_LOAD_TILES:
      for (uint32_t kk = 0; kk < ly.kt; kk++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
        lif_wtile<CFG> tile;
      LIF_LOAD_OUT:
        for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        LIF_LOAD_IN:
          for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
            tile.v[o][i] = strip[(kk * CFG::P_OUT + o) * CFG::P_IN + i];
          }
        }
        ws.write(tile);
      }
      read_row<CFG, BT::BYTES, BT::SIGNED>(wmem, b_off + (uint64_t)n0 * BT::BYTES,
                                            (uint32_t)em_umin(CFG::P_OUT, ly.n - n0), bias);
      lif_lanes<CFG> lanes;
    LIF_LOAD_BIAS:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        lanes.v[o] = n0 + o < ly.n ? bias[o] : 0;
      }
      bs.write(lanes);
    }
  }
}

/**
 * LIF neuron process: per block and step, cur = q(sum of selected weights + bias) (or the
 * act current of current-input mode), u = q(leak * u + cur), spike = u > threshold,
 * u -= threshold; the spikes of each step (or u_T in readout mode) go to the store.
 *
 * @tparam CFG design point (P_IN, P_OUT, MAX_TIMESTEPS, formats act / linear_weight / bias).
 */
template <class CFG>
void lif_neurons(hls::stream<lif_wtile<CFG> >& ws, hls::stream<lif_lanes<CFG> >& bs,
                 const uint8_t (&spk)[CFG::MAX_TIMESTEPS][CFG::MAX_IN_FEATURES],
                 const int64_t (&x)[CFG::MAX_OUT_FEATURES], lif_layer ly, uint32_t blocks,
                 hls::stream<lif_lanes<CFG> >& outs, uint64_t& overflows) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
  typedef typename CFG::linear_weight WT;
  typedef typename CFG::bias BT;
  static const int FRAC = WT::FRAC > BT::FRAC ? WT::FRAC : BT::FRAC;  // exact sum + bias
  int64_t wblk[CFG::XROW_TILES][CFG::P_OUT][CFG::P_IN];  // the block's strip, for every step
#pragma HLS ARRAY_PARTITION variable=wblk type=complete dim=2  // a whole tile per cycle
#pragma HLS ARRAY_PARTITION variable=wblk type=complete dim=3
  uint64_t ovf = 0;
LIF_BLOCKS:
  for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES / CFG::P_OUT
    const uint32_t n0 = b * CFG::P_OUT;
    lif_lanes<CFG> bias = {};
    if (!ly.current) {
    LIF_FILL:
      for (uint32_t kk = 0; kk < ly.kt; kk++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
        const lif_wtile<CFG> tile = ws.read();
      LIF_FILL_OUT:
        for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        LIF_FILL_IN:
          for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
            wblk[kk][o][i] = tile.v[o][i];
          }
        }
      }
      bias = bs.read();
    }
    int64_t u[CFG::P_OUT];  // the membrane: a register per lane, dead when MAX_TIMESTEPS == 1
#pragma HLS ARRAY_PARTITION variable=u type=complete
  LIF_STEPS:
    for (uint32_t t = 0; t < ly.steps; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TIMESTEPS
      int64_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable=acc type=complete  // one adder tree per lane
    LIF_ACC_INIT:
      for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
        acc[o] = 0;
      }
    LIF_ADDS:
      for (uint32_t kk = 0; kk < (ly.current ? 0 : ly.kt); kk++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::XROW_TILES
#pragma HLS PIPELINE II=1
      LIF_ADD_OUT:
        for (int o = 0; o < CFG::P_OUT; o++) {
#pragma HLS UNROLL
          int64_t sum = 0;
        LIF_ADD_IN:
          for (int i = 0; i < CFG::P_IN; i++) {
#pragma HLS UNROLL
            const uint32_t c = kk * CFG::P_IN + i;
            // a binary operand: an add, no multiplier
            if (c < ly.k && (spk[t][c] & 1)) sum = add_wrap(sum, wblk[kk][o][i]);
          }
          acc[o] = add_wrap(acc[o], sum);
        }
      }
      lif_lanes<CFG> fired;
    LIF_LANES:
      for (int j = 0; j < CFG::P_OUT; j++) {
#pragma HLS UNROLL
        fired.v[j] = 0;
        if (n0 + j < ly.n) {  // the last block's lanes past the last neuron stay idle
          const int64_t cur = ly.current ? x[n0 + j] : quant_counted<ACT, FRAC>(
              add_wrap(shl_wrap(acc[j], FRAC - WT::FRAC), shl_wrap(bias.v[j], FRAC - BT::FRAC)),
              ovf);
          // u_0 = 0: with one step the leak product never exists
          const int64_t kept = (CFG::MAX_TIMESTEPS > 1 && t > 0) ? mul_wrap(ly.leak, u[j]) : 0;
          int64_t v = quant_counted<ACT, ACT::FRAC + CFG::LIF_LEAK_FRAC>(
              add_wrap(kept, shl_wrap(cur, CFG::LIF_LEAK_FRAC)), ovf);
          if (!ly.readout) {
            const bool fire = v > ly.th;  // strictly greater
            v = fire ? v - ly.th : v;     // reset by subtraction
            fired.v[j] = fire ? 1 : 0;
          }
          u[j] = v;
        }
      }
      if (!ly.readout) outs.write(fired);
    }
    if (ly.readout) {
      lif_lanes<CFG> membranes;
    LIF_READOUT:
      for (int j = 0; j < CFG::P_OUT; j++) {
#pragma HLS UNROLL
        membranes.v[j] = n0 + j < ly.n ? u[j] : 0;
      }
      outs.write(membranes);
    }
  }
  overflows += ovf;
}

/**
 * LIF store process: per block, each step's spike bytes at dst + t * n + n0, or the
 * readout membranes (act) at dst + n0 elements.
 *
 * @tparam CFG design point.
 */
template <class CFG>
void lif_store(hls::stream<lif_lanes<CFG> >& outs, typename CFG::word_t* ymem, uint64_t dst,
               lif_layer ly, uint32_t blocks) {
#pragma HLS INLINE off  // a dataflow process
  typedef typename CFG::act ACT;
LIF_STORE_BLOCKS:
  for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES / CFG::P_OUT
    const uint32_t n0 = b * CFG::P_OUT, m = (uint32_t)em_umin(CFG::P_OUT, ly.n - n0);
    if (ly.readout) {
      const lif_lanes<CFG> u = outs.read();
      write_row<CFG, ACT::BYTES>(ymem, dst + (uint64_t)n0 * ACT::BYTES, m, u.v);
    } else {
    LIF_STORE_STEPS:
      for (uint32_t t = 0; t < ly.steps; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TIMESTEPS
        const lif_lanes<CFG> s = outs.read();
        write_row<CFG, 1>(ymem, dst + (uint64_t)t * ly.n + n0, m, s.v);
      }
    }
  }
}

/** LIF's DATAFLOW region: load -> neurons -> store over the blocks. @tparam CFG design point. */
template <class CFG>
void lif_region(const typename CFG::word_t* wmem, typename CFG::word_t* ymem,
                const uint8_t (&spk)[CFG::MAX_TIMESTEPS][CFG::MAX_IN_FEATURES],
                const int64_t (&x)[CFG::MAX_OUT_FEATURES], uint64_t w_off, uint64_t b_off,
                uint64_t dst, lif_layer ly, uint32_t blocks, uint64_t& overflows) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<lif_wtile<CFG> > ws("lif_w");
#pragma HLS STREAM variable=ws depth=CFG::XROW_TILES  // one block's strip ahead
  hls::stream<lif_lanes<CFG> > bs("lif_b");
#pragma HLS STREAM variable=bs depth=2
  hls::stream<lif_lanes<CFG> > outs("lif_out");
#pragma HLS STREAM variable=outs depth=CFG::MAX_TIMESTEPS  // one block's spikes
  lif_load<CFG>(wmem, w_off, b_off, ly, blocks, ws, bs);
  lif_neurons<CFG>(ws, bs, spk, x, ly, blocks, outs, overflows);
  lif_store<CFG>(outs, ymem, dst, ly, blocks);
}

/**
 * LIF layer: per block of P_OUT neurons, its weight strip is read once and reused for all
 * T steps (see lif_neurons).  The readout mode writes u_T (act) instead of spikes.
 *
 * @tparam CFG design point.
 */
template <class CFG>
uint32_t op_lif(const typename CFG::word_t* xmem, const typename CFG::word_t* wmem,
                typename CFG::word_t* ymem, const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  typedef typename CFG::linear_weight WT;
  typedef typename CFG::bias BT;
  const uint32_t ml = ins.f(isa::FLD_LIF_MODE_LEAK);
  const uint32_t mode = ml & ((1u << CFG::LIF_LEAK_SHIFT) - 1);
  lif_layer ly;
  ly.n = ins.f(isa::FLD_LIF_NEURONS);
  ly.k = ins.f(isa::FLD_LIF_INPUTS);
  ly.kt = (uint32_t)ceil_div(ly.k, CFG::P_IN);
  ly.steps = ins.f(isa::FLD_LIF_TIMESTEPS);
  ly.th = ins.f(isa::FLD_LIF_THRESHOLD);
  ly.leak = ml >> CFG::LIF_LEAK_SHIFT;
  ly.current = (mode & CFG::LIF_CURRENT_INPUT) != 0;
  ly.readout = (mode & CFG::LIF_READOUT) != 0;
  const uint64_t src = ins.f(isa::FLD_LIF_SRC);
  uint8_t spk[CFG::MAX_TIMESTEPS][CFG::MAX_IN_FEATURES];
#pragma HLS ARRAY_PARTITION variable=spk type=cyclic factor=CFG::P_IN dim=2  // a tile per cycle
  int64_t x[CFG::MAX_OUT_FEATURES];
  if (ly.current) {
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(xmem, src, ly.n, x);
  } else {
  LIF_SPIKES_IN:
    for (uint32_t t = 0; t < ly.steps; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TIMESTEPS
      read_row<CFG, 1, false>(xmem, src + (uint64_t)t * ly.k, ly.k, spk[t]);
    }
  }
  lif_region<CFG>(wmem, ymem, spk, x, ins.f(isa::FLD_LIF_WEIGHTS), ins.f(isa::FLD_LIF_BIAS),
                  ins.f(isa::FLD_LIF_DST), ly, (uint32_t)ceil_div(ly.n, CFG::P_OUT),
                  prof.v[isa::PROF_OVERFLOWS]);
  if (!ly.current) {
    prof.v[isa::PROF_MACS] += (uint64_t)ly.steps * ly.n * ly.k;  // additions (binary operands)
    prof.v[isa::PROF_WEIGHT_BYTES] += weight_block_bytes<CFG>(ly.n, ly.k, WT::BYTES) +
                                      bias_block_bytes<CFG>(ly.n, BT::BYTES);
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LIF_HPP
