"""Cycle and traffic model of a mixed int4/int8 strip load (edgemoe_lin_q4.sv, Flag.WFMT_Q4).

Per strip the loader splits the weights operand and divides K by the group count (a
16-step divider), reads the whole ``channel_index`` (one u32 a cycle), then walks the
strip's channels: per channel its bias, its multiplier, (int4 rows) its group parameters
(one group per row: the byte holding its zero point) and one read per input tile.  A generator issues the reads ahead of a consumer (up to 8 in
flight), so a channel costs the consumer's pace or the read commands' pace, whichever is
slower: an int8 tile fills its buffer lane in one cycle, an int4 tile takes one cycle per
weight.  Memory layout: :mod:`edgemoe.numerics.int4`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Instr
from ..numerics import int4
from .memory import DMA_CMD_CYCLES, DMA_IN_FLIGHT, MemoryTiming
from .traffic import Traffic

__all__ = ["Q4Layer", "q4_check_cycles", "q4_layer", "q4_strip_cycles"]

#: Loader bookkeeping per strip: S_SPLIT, the 16 divider steps, S_IDX, S_DONE.
STRIP_CYCLES = 19
#: The controller's S_IDX_CMD, the last S_IDX_W and S_LIN_GO around its channel_index check.
CHECK_CYCLES = 3
#: Short reads back to back are paced by the latency over the DMA's commands in flight,
#: plus the DMA's own stages (fitted: int8 rows on tiny, 8 to 32 input tiles a row).
CMD_STAGES = 4.5
#: An int4 row's consumer stalls besides one cycle per word and per weight (fitted with
#: CMD_STAGES, 8 to 32 input tiles a row).
LOW_ROW_STALL = 2.5


@dataclass(frozen=True)
class Q4Layer:
    """Where a mixed layer's parts are (byte offsets) and its split."""

    weights: int
    bias: int
    scales: int
    index: int
    high: int
    groups: int


def q4_layer(ins: Instr) -> Q4Layer:
    """The mixed layer of a WFMT_Q4 LINEAR."""
    high, groups = int4.unpack_split(ins.get("q4_split"))
    return Q4Layer(ins.get("weights"), ins.get("bias"), ins.get("scales"),
                   ins.get("channel_index"), high, groups)


def q4_check_cycles(mem: MemoryTiming, traffic: Traffic, q: Q4Layer, n: int) -> float:
    """The controller's check that channel_index is a permutation (edgemoe_ctrl.sv S_IDX_W:
    one u32 a cycle) before the engine starts."""
    traffic.read(q.index, 4 * n, mem.bus_bytes)
    return CHECK_CYCLES + mem.latency + n


def q4_strip_cycles(accel, mem: MemoryTiming, traffic: Traffic, q: Q4Layer, n: int, k: int,
                    col0: int, cols: int, bias_bytes: int) -> float:
    """Cycles of one strip's load by edgemoe_lin_q4.sv, counting its reads.

    The channel_index is data: channel c is taken to come from part row c, which gives
    every strip its share of the int8 rows on average and the layer its exact totals
    (a row's cost does not depend on where its channel lies).
    """
    po, pi, bus = accel.linear_p_out, accel.linear_p_in, mem.bus_bytes
    kt = -(-k // pi)
    low_total = n - q.high
    hi_block = int4.high_bytes(q.high, k, po, pi)
    lo_off = q.weights + hi_block
    par_off = lo_off + int4.low_code_bytes(low_total, k, po, pi)
    traffic.read(q.index, 4 * n, bus)
    cycles = STRIP_CYCLES + mem.latency + n
    rows = range(col0, col0 + cols)
    per_tile_bytes = max(1, pi // 2)
    pace = max(DMA_CMD_CYCLES, (mem.latency + CMD_STAGES) / DMA_IN_FLIGHT)
    for r in rows:
        low = r >= q.high
        traffic.read(q.bias + r * bias_bytes, bias_bytes, bus, weight=True)
        traffic.read(q.scales + 4 * r, 4, bus, weight=True)
        if low:
            rr = r - q.high
            off, nbytes = int4.group_param_span(rr, q.groups)
            traffic.read(par_off + off, nbytes, bus, weight=True)
            base = ((rr // po) * kt * po + rr % po) * pi  # nibble of the row's first code
            for ti in range(kt):
                traffic.read(lo_off + (base + ti * po * pi) // 2, per_tile_bytes, bus,
                             weight=True)
            # a command's words leave the DMA no faster than one command per DMA_CMD_CYCLES
            consumer = 2 + q.groups + kt * max(pi, DMA_CMD_CYCLES) + LOW_ROW_STALL
            cmds = 3 + kt
        else:
            base = ((r // po) * kt * po + r % po) * pi
            for ti in range(kt):
                traffic.read(q.weights + base + ti * po * pi, pi, bus, weight=True)
            consumer, cmds = DMA_CMD_CYCLES * (2 + kt), 2 + kt
        cycles += max(consumer, pace * cmds)
    return cycles
