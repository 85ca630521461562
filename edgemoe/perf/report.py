"""The cycle model with memory for every task of a compiled program (for the reports), and
its split into backbone and task head against the compute roofline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..isa import ALL_TASKS
from ..numerics.int8 import Q8_PAIR
from ..params.fit import LIMIT_PERCENT, dsp_per_multiplier
from .memory import memory_timing
from .model import CONTROL_CYCLES, ProgramModel, model_program
from .traffic import golden_routing

__all__ = ["PartFigures", "check_ports", "model_tasks", "roofline_macs_per_cycle", "split_parts"]


def model_tasks(accel, instrs, image: np.ndarray, program_offset: int, status_offset: int,
                tasks: tuple[str, ...] | list[str],
                macs: dict[str, dict[int, int]] | None = None,
                routings: dict[str, dict[int, list[int]]] | None = None,
                ports: int = 1) -> dict[str, ProgramModel]:
    """Model each task's run of ``instrs`` on ``image`` (inputs written, not run yet).

    The MoE routing comes from the golden executor on this image, so the modelled expert
    loop moves the weights of the experts this input really uses (and a WSKIP MOE_EXPERTS
    only the tiles its maps in ``image`` keep).  ``macs``, when given,
    receives per task the golden MACs of each instruction, ``routings`` per task its
    routing (tokens per expert of each MOE_EXPERTS).  ``ports``: PS ports the traffic
    spreads over (1: the RTL top's one master; 2: the weight prefetch on a master of its
    own; 3 or more: striped over two, as the RTL top renders them, each validated against
    its RTL on the board memory; up to ``accel.m_axi_bundles``: the kernel's masters, see
    :func:`check_ports`).

    Returns:
        Task name -> its :class:`ProgramModel` (MODELLED cycles, not measured).
    """
    check_ports(accel, ports)
    mem = memory_timing(accel, ports=ports)
    out = {}
    for index, name in enumerate(tasks):
        task_macs: dict[int, int] = {}
        routing = golden_routing(image, accel, program_offset, instrs, index, status_offset,
                                 task_macs)
        if macs is not None:
            macs[name] = task_macs
        if routings is not None:
            routings[name] = routing
        out[name] = model_program(instrs, accel, routing, index, mem, image=image)
    return out


def check_ports(accel, ports: int) -> None:
    """Refuse a port count the design point's HLS kernel cannot use: its traffic spreads
    over at most its ``m_axi_bundles`` masters (``axi_ports``, capped by the board)."""
    if not 1 <= ports <= accel.m_axi_bundles:
        raise ValueError(f"--ports {ports}: design point {accel.name} has "
                         f"{accel.m_axi_bundles} m_axi master(s) on {accel.board.name} "
                         f"(axi_ports {accel.axi_ports}); pass 1 to {accel.m_axi_bundles}")


def roofline_macs_per_cycle(accel, int8: bool = False) -> float:
    """MACs per cycle if the board's DSPs, up to the closure limit, all did act x weight
    products (the compute roofline of a design on this board).

    ``int8``: W8A8 MACs instead: each act x weight multiplier does ``Q8_PAIR`` of them
    at once (edgemoe_lin_dot.sv; two int8 products through its low DSP).
    """
    f = accel.formats
    per_mac = dsp_per_multiplier(f.act.width, f.linear_weight.width, accel.board.family)
    return accel.board.dsp * LIMIT_PERCENT["DSP"] / 100 / per_mac * (Q8_PAIR if int8 else 1)


@dataclass(frozen=True)
class PartFigures:
    """Modelled cycles and golden MACs of one part of a task's run."""

    cycles: int
    macs: int

    def ms(self, clock_mhz: float) -> float:
        """Modelled milliseconds at ``clock_mhz``."""
        return self.cycles / clock_mhz / 1e3


def split_parts(pm: ProgramModel, instrs, macs: dict[int, int]) -> dict[str, PartFigures]:
    """Split a task's modelled run into ``backbone`` (instructions every task runs) and
    ``head`` (the task's own), each with its share of the dispatcher's cycles."""
    lat = pm.memory.latency
    parts = {"backbone": [0, 0], "head": [0, 0]}
    for o in pm.ops:
        part = "backbone" if instrs[o.index].task_mask == ALL_TASKS else "head"
        parts[part][0] += o.cycles + 2 * lat + CONTROL_CYCLES["run"]
        parts[part][1] += macs.get(o.index, 0)
    parts["head"][0] = pm.cycles - parts["backbone"][0]  # skipped instructions' fetches too
    return {k: PartFigures(int(c), int(m)) for k, (c, m) in parts.items()}
