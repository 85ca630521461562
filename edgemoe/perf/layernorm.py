"""LAYERNORM cycles: edgemoe_ln.sv's ring of ``LN_ROW_SLOTS`` row buffers, alone and
beside the next job's weight prefetch (perf.model)."""

from __future__ import annotations

import math

from ..codegen.constants import LN_ROW_SLOTS
from ..isa import Instr
from .engines import STEP_CYCLES, _cmd
from .memory import MemoryTiming
from .traffic import Traffic

__all__ = ["layernorm_beside_prefetch", "layernorm_cycles"]


def layernorm_cycles(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic, fmt,
                     pf: float = 0.0, queue: float = 0.0) -> tuple[float, float]:
    """LAYERNORM's three stages over a ring of ``LN_ROW_SLOTS`` rows (edgemoe_ln.sv).

    The issuer asks for gamma, beta and then each row as soon as its slot is free (the
    row ``LN_ROW_SLOTS`` before it written out); the R channel delivers each command a
    latency after its issue and after the previous one; the statistics stage takes a
    loaded row; the output stage writes a row with statistics at the word rate or the
    W channel's, whichever is slower.

    With a weight prefetch of ``pf`` R-channel cycles beside it (perf.model), the reads
    after the first ring find up to ``queue`` cycles of its bursts queued ahead of them
    while it lasts, and it moves whenever the R channel is free of the LAYERNORM's data.

    Returns:
        (cycles, the prefetch's R-channel cycles still left when the LAYERNORM ends).
    """
    t, d = ins.get("tokens"), ins.get("dim")
    act, norm, vec, bus = fmt("act"), fmt("norm"), accel.vector_lanes, mem.bus_bytes
    src, dst = ins.get("src"), ins.get("dst")
    gap = STEP_CYCLES["ln_issue"]
    issue = float(STEP_CYCLES["ln_op"])
    r_end = 0.0  # when the R channel has delivered the last command issued so far

    def read(at: float, addr: int, nbytes: int, word: int, wait: float) -> float:
        nonlocal r_end, pf
        begin = max(at + mem.latency + 1 + wait, r_end)
        pf -= begin - r_end if r_end else 0.0  # prefetch bursts fill the R channel's gaps
        r_end = begin + _cmd(traffic, addr, nbytes, word, mem)
        return r_end

    for addr in (ins.get("gamma"), ins.get("beta")):
        read(issue, addr, d * norm, vec * norm, 0.0)
        issue += gap
    words = math.ceil(d / vec)
    stats_end = out_end = 0.0
    freed: list[float] = []  # when each row's slot is free again
    for r in range(t):
        wait = 0.0
        if r >= LN_ROW_SLOTS:
            issue = max(issue, freed[r - LN_ROW_SLOTS])
            wait = min(queue, max(pf, 0.0))
        loaded = read(issue, src + r * d * act, d * act, vec * act, wait)
        issue += gap
        stats_end = max(loaded, stats_end) + STEP_CYCLES["ln_row"]
        w = mem.beats_cycles(traffic.write(dst + r * d * act, d * act, bus))
        out_end = max(stats_end, out_end) + STEP_CYCLES["ln_out_row"] + max(words, w)
        freed.append(out_end)
    pf -= out_end - r_end
    return out_end + STEP_CYCLES["ln_end"], max(pf, 0.0)


def layernorm_beside_prefetch(ins: Instr, accel, mem: MemoryTiming, pf: float,
                              queue: float) -> tuple[float, float]:
    """A LAYERNORM's cycles lost to a weight prefetch of ``pf`` R-channel cycles running
    beside it (bursts of which up to ``queue`` cycles wait in the memory ahead of a read),
    and the prefetch's cycles left when it ends (see :func:`layernorm_cycles`)."""
    def fmt(role: str) -> int:
        return int(getattr(accel.formats, role).storage_dtype.itemsize)

    alone, _ = layernorm_cycles(ins, accel, mem, Traffic(), fmt)
    beside, left = layernorm_cycles(ins, accel, mem, Traffic(), fmt, pf, queue)
    return beside - alone, left
