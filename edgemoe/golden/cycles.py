"""Ideal cycle counts of each instruction on the design point (no stalls, II=1).

The golden executor writes these into the profile's ``cycles`` field; real executors
write measured cycles there, which is why that field is excluded from byte comparisons.
The terms of each opcode are data in the op spec (``edgemoe.ops``, ``OpSpec.cycles``).
"""

from __future__ import annotations

from ..isa import Instr
from ..ops import OpEnv, spec_of


def ideal_cycles(ins: Instr, accel, prof: dict) -> int:
    """Cycles at full engine utilisation (MACs / MACs per cycle for the linear engine)."""
    return spec_of(ins.op).cycles.value(OpEnv(ins, accel, prof))
