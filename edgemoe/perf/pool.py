"""POOL cycles: edgemoe_pool.sv reads one pixel row (C channels) per command and waits
for it before the next, so every tap pays a read latency.

- MAX / AVG: per output window (ceil mode, clipped at the bottom/right edge) each
  in-bounds tap row is read, then the output row is written (S_WR_CMD, one word a cycle);
- GLOBAL_AVG: every pixel row is read into the sums, then one row is written;
- SCALE: the gate row first, then per pixel one read streamed through the multipliers
  into the writer (a word moves when both the read and the write side take it).
"""

from __future__ import annotations

import math

from ..isa import Instr, PoolMode, unpack_ksp
from .memory import MemoryTiming
from .traffic import Traffic

__all__ = ["POOL_STEP_CYCLES", "pool_cycles", "pool_windows"]

#: State-machine cycles of edgemoe_pool.sv besides data movement (fitted on vovnet-tiny's
#: four POOLs on the tiny RTL bench with the board's memory).
POOL_STEP_CYCLES = {
    "tap": 6,      # S_RD_CMD, the command and AR hand-over and the read DMA's realign stage
    "out": 3,      # S_WR_CMD and the write command hand-over per output row
    "op": 10,      # S_IDLE..S_END and the done hand-over
}


def pool_windows(size: int, kernel: int, stride: int) -> list[int]:
    """Taps of each window along one axis (ceil mode: a window starts before
    ``size - kernel + stride``; the last is clipped at ``size``)."""
    out, start = [], 0
    while True:
        out.append(min(start + kernel, size) - start)
        if start + stride + kernel >= size + stride:
            return out
        start += stride


def pool_cycles(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic, fmt) -> float:
    """Cycles of one POOL as edgemoe_pool.sv schedules it, counting its traffic."""
    h, w, c = ins.get("in_h"), ins.get("in_w"), ins.get("channels")
    mode = PoolMode(ins.get("mode"))
    act, bus = fmt("act"), mem.bus_bytes
    row = c * act
    words = math.ceil(c / accel.vector_lanes)
    src, dst = ins.get("src"), ins.get("dst")
    tap, out = POOL_STEP_CYCLES["tap"], POOL_STEP_CYCLES["out"]
    cycles = float(POOL_STEP_CYCLES["op"])

    def read(pixel: int, base: int = src) -> float:
        n = traffic.read(base + pixel * row, row, bus)
        return mem.latency + tap + max(words, mem.beats_cycles(n))

    def write(index: int) -> float:
        n = traffic.write(dst + index * row, row, bus)
        return out + max(words, mem.beats_cycles(n))

    if mode == PoolMode.GLOBAL_AVG:
        return cycles + sum(read(p) for p in range(h * w)) + write(0)
    if mode == PoolMode.SCALE:
        cycles += read(0, ins.get("gate"))  # the gate row, once
        for p in range(h * w):
            n_r = traffic.read(src + p * row, row, bus)
            n_w = traffic.write(dst + p * row, row, bus)
            # the write command goes out during the read's latency
            cycles += mem.latency + tap + max(words, mem.beats_cycles(max(n_r, n_w)))
        return cycles
    k, s, _ = unpack_ksp(ins.get("kernel_stride_pad"))
    ys, xs = pool_windows(h, k, s), pool_windows(w, k, s)
    index = 0
    for oy, wy in enumerate(ys):
        for ox, wx in enumerate(xs):
            for dy in range(wy):
                for dx in range(wx):
                    cycles += read((oy * s + dy) * w + ox * s + dx)
            cycles += write(index)
            index += 1
    return cycles
