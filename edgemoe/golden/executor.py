"""The golden executor: runs a program stored in a memory image, op by op.

This is the executable specification of the device.  It never raises on bad programs:
every instruction is checked first (edgemoe.validate) and a failure writes an error code
and the failing instruction index into the status block and stops the run.
"""

from __future__ import annotations

import logging

import numpy as np

from ..isa import INSTR_BYTES, Err, Instr, Op, decode_words
from ..layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES
from ..ops import OP_SPECS
from ..validate import check_instr, operand_extents
from . import linear_ops, pool_ops, snn_ops, vector_ops
from . import memory as mem
from .cycles import ideal_cycles
from .linear_ops import OpFault

log = logging.getLogger(__name__)

#: Every golden handler (``op_*`` of the handler modules), by name.
_KERNELS = {name: getattr(mod, name) for mod in (linear_ops, pool_ops, snn_ops, vector_ops) for name in dir(mod)
            if name.startswith("op_") and callable(getattr(mod, name))}
#: Opcode -> golden handler, by the op spec's handler name (the HLS kernel has the same name).
HANDLERS = {op: _KERNELS[spec.handler] for op, spec in OP_SPECS.items() if spec.handler}


def status_words(image: np.ndarray, status_offset: int) -> dict[str, int]:
    """Decode the status block: error, failing instruction index, executed count, config_id."""
    w = mem.read_u32(image, status_offset, 4)
    return {"error": int(w[0]), "index": int(w[1]), "executed": int(w[2]), "config_id": int(w[3])}


def _traffic(ins: Instr, accel, prof: dict, task: int) -> tuple[int, int]:
    """(bytes read, bytes written) of an instruction; weights count as actually fetched."""
    by_role = dict.fromkeys(("read", "weight", "write"), 0)
    for ext in operand_extents(ins, accel, task):
        by_role[ext.operand.role] += ext.nbytes
    return by_role["read"] + prof["weight_bytes"], by_role["write"]


def execute(image: np.ndarray, accel, program_offset: int, n_instructions: int,
            task: int = 0, status_offset: int = 0) -> int:
    """Run ``n_instructions`` from ``program_offset`` on ``image`` (uint8, modified in place).

    Returns the error code (0 on success), also written to the status block at
    ``status_offset``: u32 error, u32 failing instruction, u32 executed, u32 config_id,
    then 64-byte profile entries (see edgemoe.layout.PROFILE_FIELDS) per instruction.
    """
    size = image.size
    prof_base = status_offset + STATUS_BYTES
    if (status_offset < 0 or status_offset % 64 or prof_base + n_instructions * PROFILE_ENTRY_BYTES > size):
        log.error("status block at %d does not fit the %d-byte image", status_offset, size)
        return int(Err.BAD_PROGRAM)
    error, failed, executed = Err.OK, 0, 0
    if program_offset < 0 or program_offset % 64 or \
            program_offset + n_instructions * INSTR_BYTES > size or not 0 <= task < 8:
        error = Err.BAD_PROGRAM
    for i in range(n_instructions if error == Err.OK else 0):
        words = mem.read_u32(image, program_offset + i * INSTR_BYTES, INSTR_BYTES // 4)
        ins = decode_words(words)
        prof = dict.fromkeys(PROFILE_FIELDS, 0)
        if ins.runs_for(task):
            problems = check_instr(ins, accel, size, task)
            if problems:
                error, failed = problems[0].code, i
                log.info("instruction %d refused: %s", i, problems[0].message)
                break
            try:
                _run_one(image, ins, accel, prof, task)
            except OpFault as fault:
                error, failed = fault.code, i
                log.info("instruction %d faulted: %s", i, fault)
                break
            if ins.op != Op.NOP:
                prof["bytes_read"], prof["bytes_written"] = _traffic(ins, accel, prof, task)
                prof["cycles"] = ideal_cycles(ins, accel, prof)
        mem.write_u64(image, prof_base + i * PROFILE_ENTRY_BYTES,
                      [prof[k] for k in PROFILE_FIELDS])
        executed += 1
    mem.write_u32(image, status_offset, [int(error), failed, executed, accel.config_id_int])
    return int(error)


def _run_one(image, ins: Instr, accel, prof: dict, task: int) -> None:
    op = Op(ins.op)
    if op == Op.NOP:
        return
    if "task" in OP_SPECS[op].kernel_args:
        HANDLERS[op](image, ins, accel, prof, task)
    else:
        HANDLERS[op](image, ins, accel, prof)
