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
#include "em_linear.hpp"
#include "em_linear_ops.hpp"
#include "em_mem.hpp"
#include "em_moe.hpp"
#include "em_vector.hpp"

namespace edgemoe {

}  // namespace edgemoe

// run_one: the opcode switch, rendered from the op spec (edgemoe/ops.py handler names)
#include "edgemoe_dispatch.hpp"

namespace edgemoe {

/**
 * Run n_instructions from program_offset for device task `task` (golden execute()).
 *
 * @tparam CFG design point.
 * @param lb  the engine's ping/pong weight buffers (declared once, in the top function).
 * @return the error code, also written to the status block (ERR_BAD_PROGRAM without any
 *         write when the status block itself does not fit the memory).
 */
template <class CFG>
uint32_t run_program(typename CFG::word_t* mem, lin_buffers<CFG>& lb, uint64_t mem_bytes,
                     uint32_t program_offset, uint32_t n_instructions, uint32_t task,
                     uint32_t status_offset) {
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
DISPATCH_INSTRUCTIONS:
  for (uint32_t i = 0; i < n_run; i++) {
    instr_t ins;
    read_row<CFG, 4, false>(mem, (uint64_t)program_offset + (uint64_t)i * isa::INSTR_BYTES,
                            isa::WORDS, ins.w);
    profile_t prof;
  DISPATCH_PROF_CLEAR:
    for (int k = 0; k < isa::N_PROFILE_FIELDS; k++) prof.v[k] = 0;
    if (ins.runs_for(task)) {
      uint32_t e = check_instr<CFG>(ins, mem_bytes, task);
      if (e == isa::ERR_OK) e = run_one<CFG>(mem, lb, ins, task, prof);
      if (e != isa::ERR_OK) {
        error = e;
        failed = i;
        break;
      }
      if (ins.op() != isa::OP_NOP) {
        traffic<CFG>(ins, task, prof);
        prof.v[isa::PROF_CYCLES] = ideal_cycles<CFG>(ins, prof);
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
