/**
 * @file em_lif.hpp
 * @brief LIF: spiking layers on the add-only LIF engine, as edgemoe/golden/snn_ops.py
 *        defines them.  Binary input spikes select weights into an adder tree (no
 *        multiplier); the membrane is one register per neuron lane and exists only when the
 *        design point allows more than one timestep.
 */
#ifndef EDGEMOE_EM_LIF_HPP
#define EDGEMOE_EM_LIF_HPP

#include "em_isa.hpp"
#include "em_mem.hpp"

namespace edgemoe {

/**
 * LIF layer: per block of P_OUT neurons, its weight strip is read once and reused for all
 * T steps; per step cur = q(sum of selected weights + bias) (or the act current of
 * current-input mode), u = q(leak * u + cur), spike = u > threshold, u -= threshold.
 * The readout mode writes u_T (act) instead of spikes.
 *
 * @tparam CFG design point (P_IN, P_OUT, MAX_TIMESTEPS, formats act / linear_weight / bias).
 */
template <class CFG>
uint32_t op_lif(typename CFG::word_t* mem, const instr_t& ins, profile_t& prof) {
  typedef typename CFG::act ACT;
  typedef typename CFG::linear_weight WT;
  typedef typename CFG::bias BT;
  static const int FRAC = WT::FRAC > BT::FRAC ? WT::FRAC : BT::FRAC;  // exact sum + bias
  const uint32_t n = ins.f(isa::FLD_LIF_NEURONS), k = ins.f(isa::FLD_LIF_INPUTS);
  const uint32_t steps = ins.f(isa::FLD_LIF_TIMESTEPS), ml = ins.f(isa::FLD_LIF_MODE_LEAK);
  const uint32_t mode = ml & ((1u << CFG::LIF_LEAK_SHIFT) - 1);
  const int64_t th = ins.f(isa::FLD_LIF_THRESHOLD), leak = ml >> CFG::LIF_LEAK_SHIFT;
  const uint64_t src = ins.f(isa::FLD_LIF_SRC), dst = ins.f(isa::FLD_LIF_DST);
  const bool current = (mode & CFG::LIF_CURRENT_INPUT) != 0;
  const bool readout = (mode & CFG::LIF_READOUT) != 0;
  const uint32_t kt = (uint32_t)ceil_div(k, CFG::P_IN);
  uint64_t& ovf = prof.v[isa::PROF_OVERFLOWS];
  uint8_t spk[CFG::MAX_TIMESTEPS][CFG::MAX_IN_FEATURES];
  int64_t x[CFG::MAX_OUT_FEATURES], bias[CFG::MAX_OUT_FEATURES];
  int64_t strip[CFG::MAX_IN_FEATURES * CFG::P_OUT];  // one block's weights, tile order
  if (current) {
    read_row<CFG, ACT::BYTES, ACT::SIGNED>(mem, src, n, x);
  } else {
  LIF_SPIKES_IN:
    for (uint32_t t = 0; t < steps; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TIMESTEPS
      read_row<CFG, 1, false>(mem, src + (uint64_t)t * k, k, spk[t]);
    }
    read_row<CFG, BT::BYTES, BT::SIGNED>(mem, ins.f(isa::FLD_LIF_BIAS), n, bias);
  }
LIF_BLOCKS:
  for (uint32_t n0 = 0; n0 < n; n0 += CFG::P_OUT) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_OUT_FEATURES / CFG::P_OUT
    if (!current) {
      const uint64_t words = (uint64_t)kt * CFG::P_OUT * CFG::P_IN;
      read_row<CFG, WT::BYTES, WT::SIGNED>(
          mem, ins.f(isa::FLD_LIF_WEIGHTS) + (uint64_t)(n0 / CFG::P_OUT) * words * WT::BYTES,
          (uint32_t)words, strip);
    }
    int64_t u[CFG::P_OUT];  // the membrane: a register per lane, dead when MAX_TIMESTEPS == 1
  LIF_STEPS:
    for (uint32_t t = 0; t < steps; t++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_TIMESTEPS
    LIF_LANES:
      for (uint32_t j = 0; j < CFG::P_OUT; j++) {
        if (n0 + j >= n) continue;  // the last block's lanes past the last neuron
        int64_t cur;
        if (current) {
          cur = x[n0 + j];
        } else {
          int64_t acc = 0;
        LIF_ADDS:
          for (uint32_t c = 0; c < k; c++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::MAX_IN_FEATURES
#pragma HLS PIPELINE II=1
            const uint64_t w = ((uint64_t)(c / CFG::P_IN) * CFG::P_OUT + j) * CFG::P_IN + c % CFG::P_IN;
            if (spk[t][c] & 1) acc = add_wrap(acc, strip[w]);  // binary operand: an add
          }
          cur = quant_counted<ACT, FRAC>(
              add_wrap(shl_wrap(acc, FRAC - WT::FRAC), shl_wrap(bias[n0 + j], FRAC - BT::FRAC)), ovf);
        }
        // u_0 = 0: with one step the leak product never exists
        const int64_t kept = (CFG::MAX_TIMESTEPS > 1 && t > 0) ? mul_wrap(leak, u[j]) : 0;
        int64_t v = quant_counted<ACT, ACT::FRAC + CFG::LIF_LEAK_FRAC>(
            add_wrap(kept, shl_wrap(cur, CFG::LIF_LEAK_FRAC)), ovf);
        if (!readout) {
          const bool fire = v > th;  // strictly greater
          v = fire ? v - th : v;     // reset by subtraction
          store_elem<CFG, 1>(mem, dst + (uint64_t)t * n + n0 + j, fire ? 1 : 0);
        }
        u[j] = v;
      }
    }
    if (readout) {
    LIF_READOUT:
      for (uint32_t j = 0; j < CFG::P_OUT; j++) {
#pragma HLS PIPELINE II=1
        if (n0 + j < n) store_elem<CFG, ACT::BYTES>(mem, dst + (uint64_t)(n0 + j) * ACT::BYTES, u[j]);
      }
    }
  }
  if (!current) {
    prof.v[isa::PROF_MACS] += (uint64_t)steps * n * k;  // additions (binary operands)
    prof.v[isa::PROF_WEIGHT_BYTES] += weight_block_bytes<CFG>(n, k, WT::BYTES) +
                                      bias_block_bytes<CFG>(n, BT::BYTES);
  }
  return isa::ERR_OK;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_LIF_HPP
