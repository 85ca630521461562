/**
 * @file em_dispatch.hpp
 * @brief The instruction decoder/dispatcher: runs a Program stored in the memory image,
 *        exactly like edgemoe/golden/executor.py execute().
 *
 * Status block at status_offset: u32 error, u32 failing instruction, u32 executed count,
 * u32 config_id; then one 64-byte profile entry (8 x u64) per instruction.  Every
 * instruction is checked (em_isa.hpp check_instr) before it runs; a failed check or a
 * data fault (ERR_BAD_QUEUE) stops the run with the error recorded.  Errors are data,
 * never hangs: every loop is bounded by validated shapes.
 */
#ifndef EDGEMOE_EM_DISPATCH_HPP
#define EDGEMOE_EM_DISPATCH_HPP

#include "em_attention.hpp"
#include "em_isa.hpp"
#include "em_layernorm.hpp"
#include "em_linear.hpp"
#include "em_lif.hpp"
#include "em_linear_ops.hpp"
#include "em_mem.hpp"
#include "em_moe.hpp"
#include "em_pool.hpp"
#include "em_vector.hpp"

// Synthesized kernels measure profile cycles with the cycle_count port; C-sim models them.
// (-DEDGEMOE_MEASURE_CYCLES=1 selects the synthesized path under g++ for tests.)
#if defined(__SYNTHESIS__) && !defined(EDGEMOE_MEASURE_CYCLES)
#define EDGEMOE_MEASURE_CYCLES 1
#endif
#ifndef EDGEMOE_MEASURE_CYCLES
#define EDGEMOE_MEASURE_CYCLES 0
#endif

namespace edgemoe {

}  // namespace edgemoe

// run_one: the opcode switch, rendered from the op spec (edgemoe/ops.py handler names)
#include "edgemoe_dispatch.hpp"

namespace edgemoe {

/**
 * Run n_instructions from program_offset for device task `task` (golden execute()).
 *
 * @tparam CFG design point.
 * @param mem  control port: instructions, status and profile (and index lists, queues).
 * @param wmem weight port (weights, biases, LayerNorm parameters).
 * @param xmem activation-in port.
 * @param ymem activation-out port.  Every port points into the same memory image; the
 *             dispatch loop is not pipelined, so an instruction's writes are done before
 *             the next instruction reads them on another port.
 * @param lb  the engine's ping/pong weight buffers (declared once, in the top function).
 * @param cycle_count free-running cycle counter: profile cycles are measured with it in
 *            the synthesized kernel and modelled (ideal_cycles) in C-sim.
 * @return the error code, also written to the status block (ERR_BAD_PROGRAM without any
 *         write when the status block itself does not fit the memory).
 */
template <class CFG>
uint32_t run_program(typename CFG::word_t* mem, const typename CFG::word_t* wmem,
                     const typename CFG::word_t* xmem, typename CFG::word_t* ymem,
                     lin_buffers<CFG>& lb, uint64_t mem_bytes,
                     uint32_t program_offset, uint32_t n_instructions, uint32_t task,
                     uint32_t status_offset, volatile uint64_t* cycle_count) {
#pragma HLS INLINE  // the engines' ALLOCATION limits in the top function cover this scope
  const uint64_t prof_base = (uint64_t)status_offset + isa::STATUS_BYTES;
  if ((status_offset % isa::ALIGN) != 0 ||
      prof_base + (uint64_t)n_instructions * isa::PROFILE_ENTRY_BYTES > mem_bytes) {
    return isa::ERR_BAD_PROGRAM;
  }
  uint32_t error = isa::ERR_OK, failed = 0, executed = 0;
  lb.pre_valid = false;  // weights may have changed since the last run
  if ((program_offset % isa::ALIGN) != 0 ||
      (uint64_t)program_offset + (uint64_t)n_instructions * isa::INSTR_BYTES > mem_bytes ||
      task >= 8) {
    error = isa::ERR_BAD_PROGRAM;
  }
  const uint32_t n_run = error == isa::ERR_OK ? n_instructions : 0;
#if !EDGEMOE_MEASURE_CYCLES
  (void)cycle_count;  // C-sim has no clock
#endif
DISPATCH_INSTRUCTIONS:
  for (uint32_t i = 0; i < n_run; i++) {
#pragma HLS LOOP_TRIPCOUNT max=CFG::TC_INSTRUCTIONS
    instr_t ins;
    read_row<CFG, 4, false>(mem, (uint64_t)program_offset + (uint64_t)i * isa::INSTR_BYTES,
                            isa::WORDS, ins.w);
    profile_t prof;
  DISPATCH_PROF_CLEAR:
    for (int k = 0; k < isa::N_PROFILE_FIELDS; k++) {
#pragma HLS UNROLL
      prof.v[k] = 0;
    }
    if (ins.runs_for(task)) {
#if EDGEMOE_MEASURE_CYCLES
      const uint64_t start = *cycle_count;
#endif
      uint32_t e = check_instr<CFG>(ins, mem_bytes, task);
      if (e == isa::ERR_OK) e = run_one<CFG>(mem, wmem, xmem, ymem, lb, ins, task, prof);
      if (e != isa::ERR_OK) {
        error = e;
        failed = i;
        break;
      }
      if (ins.op() != isa::OP_NOP) {
        traffic<CFG>(ins, task, prof);
#if EDGEMOE_MEASURE_CYCLES
        prof.v[isa::PROF_CYCLES] = *cycle_count - start;  // measured by the hardware counter
#else
        prof.v[isa::PROF_CYCLES] = ideal_cycles<CFG>(ins, prof);  // C-sim: modelled
#endif
      }
    }
    write_row<CFG, 8>(mem, prof_base + (uint64_t)i * isa::PROFILE_ENTRY_BYTES,
                      isa::N_PROFILE_FIELDS, prof.v);
    executed++;
  }
  const uint32_t status[4] = {error, failed, executed, CFG::CONFIG_ID};
  write_row<CFG, 4>(mem, status_offset, 4, status);
  return error;
}

}  // namespace edgemoe

#endif  // EDGEMOE_EM_DISPATCH_HPP
