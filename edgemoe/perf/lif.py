"""LIF cycles (the spiking layer, edgemoe_lif.sv) in the memory-aware model."""

from __future__ import annotations

from ..isa import LIF_CURRENT_INPUT, LIF_LEAK_SHIFT, LIF_READOUT, Instr
from .engines import STEP_CYCLES, cmd_cycles
from .memory import MemoryTiming
from .traffic import Traffic

__all__ = ["lif_cycles"]


def lif_cycles(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic, fmt) -> float:
    """LIF as edgemoe_lif.sv schedules it.

    Per block of P_OUT neurons the bias word, the weight strip and step 0's spike row are
    requested back to back (one read latency), then each later step waits for its own
    spike row.  The op spec's ideal (one P_IN-wide spike word per cycle) is out of reach at
    T = 1: every block first streams its strip, P_OUT x P_IN weights per word, and a
    128-bit port carries half a 4x4 tile of 16-bit weights per beat, so the strip alone
    costs twice the ideal, and the spike row follows it.
    """
    n, k, t = ins.get("neurons"), ins.get("inputs"), ins.get("timesteps")
    mode = ins.get("mode_leak") & ((1 << LIF_LEAK_SHIFT) - 1)
    po, pi, bus = accel.linear_p_out, accel.linear_p_in, mem.bus_bytes
    act, wb, bb = fmt("act"), fmt("linear_weight"), fmt("bias")
    src, dst, tile = ins.get("src"), ins.get("dst"), po * pi * wb
    strip = -(-k // pi) * tile
    cycles = 0.0
    for blk, n0 in enumerate(range(0, n, po)):
        nv = min(po, n - n0)
        cycles += STEP_CYCLES["lif_block"] + mem.latency
        if mode & LIF_CURRENT_INPUT:  # the block's currents, one word, reused every step
            cycles += cmd_cycles(traffic, src + n0 * act, nv * act, po * act, mem)
        else:
            cycles += cmd_cycles(traffic, ins.get("bias") + n0 * bb, po * bb, po * bb, mem)
            cycles += cmd_cycles(traffic, ins.get("weights") + blk * strip, strip, tile, mem, True)
        for step in range(t):
            cycles += STEP_CYCLES["lif_step"]
            if not mode & LIF_CURRENT_INPUT:
                cycles += (mem.latency if step else 0) + cmd_cycles(traffic, src + step * k, k, pi, mem)
            if not mode & LIF_READOUT:  # the block's spike bytes, one word
                traffic.write(dst + step * n + n0, nv, bus)
                cycles += 1
        if mode & LIF_READOUT:  # the block's membranes, one word
            traffic.write(dst + n0 * act, nv * act, bus)
            cycles += STEP_CYCLES["lif_readout"]
    return cycles
