"""The cycle model with memory for every task of a compiled program (for the reports)."""

from __future__ import annotations

import numpy as np

from .model import ProgramModel, model_program
from .traffic import golden_routing

__all__ = ["model_tasks"]


def model_tasks(accel, instrs, image: np.ndarray, program_offset: int, status_offset: int,
                tasks: tuple[str, ...] | list[str]) -> dict[str, ProgramModel]:
    """Model each task's run of ``instrs`` on ``image`` (inputs written, not run yet).

    The MoE routing comes from the golden executor on this image, so the modelled expert
    loop moves the weights of the experts this input really uses.

    Returns:
        Task name -> its :class:`ProgramModel` (MODELLED cycles, not measured).
    """
    out = {}
    for index, name in enumerate(tasks):
        routing = golden_routing(image, accel, program_offset, instrs, index, status_offset)
        out[name] = model_program(instrs, accel, routing, index)
    return out
