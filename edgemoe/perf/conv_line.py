"""Cycles of the token loop of a CONV that reads through the line buffer.

The row loader of edgemoe_lin_loader.sv is two machines joined by a descriptor FIFO (4
entries a row slot): a generator that walks each output pixel's states (G_TOKEN, G_FILL, G_SEG, G_PRE,
G_BASE, G_END, G_NEXT), pushing one descriptor per cycle and issuing the memory read of a
fill or base descriptor as it pushes it, and a consumer that turns descriptors into row
words (a line tap: its words after one cycle of buffer latency; a zero tap: its words; a
fill: its words once the read's data arrives).  The generator claims one of the S row
slots (``linear_row_slots``) per pixel, freed when the MAC array is done with the pixel S
back.  The overlap
of these three depends on the row sizes (few MACs per pixel expose the read latency, many
hide it), so the loop is stepped pixel by pixel instead of summed by a formula.
"""

from __future__ import annotations

import math
from collections import deque

from .memory import MemoryTiming
from .traffic import ConvLineStep, Traffic

__all__ = ["LINE_STEP_CYCLES", "line_strip_cycles"]

#: Cycles of the loader's bookkeeping around the descriptors (read off the SV, fitted on
#: the tiny RTL bench: tests/test_conv_line.py).
LINE_STEP_CYCLES = {
    "fifo": 4,       # descriptor FIFO entries a row slot (u_desc)
    "token": 1,      # G_TOKEN
    "next": 2,       # G_END's wait for an empty push register, G_NEXT
    "slot": 3,       # MAC pipeline stages before a finished row's slot is free
    "fill_hand": 1,  # fill pulse to the MAC array after D_END
    "read": 4,       # a read's command register, AR issue and realign stage (besides latency)
}


def line_strip_cycles(steps: list[ConvLineStep], *, kernel: int, stride: int, macs: int,
                      tap_words: int, word_bytes: int, src: int, xbytes: int,
                      mem: MemoryTiming, traffic: Traffic, slots: int,
                      base_reads: list[tuple[int, int]] | None = None) -> float:
    """Cycles from a strip's first row request to the MAC array's last pixel.

    Args:
        steps: Per output pixel, the loader's reads and taps (conv_line_schedule).
        kernel: Kernel size k (G_FILL and G_SEG visit k and k*k states).
        stride: Stride s (G_PRE visits s states).
        macs: MAC-array cycles per pixel for this strip.
        tap_words: Consumer cycles of a tap's channels (words, or elements for even k*k).
        word_bytes: Bytes of one row word (P_IN elements).
        src: Byte address of the input.
        xbytes: Bytes per input element.
        mem: Memory timing.
        traffic: Receives the reads.
        slots: The engine's row slots (``linear_row_slots``).
        base_reads: Per pixel, (byte address, bytes) of the row added to the result.
    """
    c = LINE_STEP_CYCLES
    lat, bus = mem.latency, mem.bus_bytes
    pops: deque[float] = deque(maxlen=c["fifo"] * slots)  # pop times of the last FIFO entries
    gen = cons = 0.0
    done: list[float] = []  # MAC completion time of each pixel

    def push(at: float) -> float:
        """Cycle a descriptor enters the FIFO at or after ``at`` (room permitting)."""
        return max(at, pops[0]) if len(pops) == pops.maxlen else at

    def consume(pushed: float, cycles: float, ready: float = 0.0) -> None:
        nonlocal cons
        start = max(cons, pushed + 1, ready)
        cons = start + cycles
        pops.append(cons)

    def read(at: float, addr: int, nbytes: int) -> tuple[float, float]:
        n = traffic.read(addr, nbytes, bus)
        return at + lat + c["read"], max(math.ceil(nbytes / word_bytes), mem.beats_cycles(n))

    for t, st in enumerate(steps):
        free = done[t - slots] + c["slot"] if t >= slots else 0.0
        g = max(gen, free) + c["token"]
        if st.first:  # G_FILL: one state per kernel row, a read for each inside the input
            for off, n in st.first:
                g = push(g)
                ready, cyc = read(g, src + off * xbytes, n * xbytes)
                consume(g, cyc, ready)
                g += 1
            g += kernel - len(st.first)
        for i in range(kernel * kernel):  # G_SEG: line taps first, zero taps cost words
            g = push(g)
            consume(g, tap_words + 1 if i < st.line_taps else tap_words)
            g += 1
        for off, n in st.ahead:  # G_PRE
            g = push(g)
            ready, cyc = read(g, src + off * xbytes, n * xbytes)
            consume(g, cyc, ready)
            g += 1
        g += stride - len(st.ahead)
        if base_reads is not None:  # G_BASE
            g = push(g)
            ready, cyc = read(g, *base_reads[t])
            consume(g, cyc, ready)
            g += 1
        g = push(g)  # G_END
        consume(g, 1)
        gen = g + c["next"]
        filled = cons + c["fill_hand"]
        done.append(max(filled, done[-1] if done else 0.0) + macs)
    return done[-1] if done else 0.0
