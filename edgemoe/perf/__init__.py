"""Performance model: cycles per instruction with the board's memory (modelled, not measured).

:func:`model_program` models a run instruction by instruction from the RTL engines'
schedules (edgemoe.perf.engines), the bytes they really move (edgemoe.perf.traffic) and
the memory of the design point's board (edgemoe.perf.memory).
"""

from __future__ import annotations

from .memory import MemoryTiming, memory_timing
from .model import ModelledOp, ProgramModel, model_program
from .traffic import Traffic, golden_routing

__all__ = ["MemoryTiming", "ModelledOp", "ProgramModel", "Traffic", "golden_routing",
           "memory_timing", "model_program"]
