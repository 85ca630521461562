"""The board's memory behind the bench's ``AxiRam``: port bandwidth and read latency.

cocotbext-axi's ``AxiRam`` answers every burst at once and moves one beat per cycle on
each channel, an ideal memory.  :func:`apply_board_memory` makes it behave like the DDR
behind one PS port of the board (the figures come from ``edgemoe.perf.memory``); each weight
master's RAM on the same memory (``m_axi_wgt``, ``m_axi_wgt1``) gets a port of its own, with
the same figures:

- bandwidth: the R and W channels move at most ``rate`` beats per cycle, by pausing them
  on a fixed pattern (a 256-bit bus on a 128-bit port moves a beat every other cycle);
- latency: a read burst's first beat leaves ``latency`` cycles after its AR handshake,
  with up to ``outstanding`` bursts accepted meanwhile (the port's read issuing
  capability), so back-to-back bursts overlap their latency as on the board;
- writes are posted: the port's write buffer answers B as soon as the data is in.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator

from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time


def rate_pattern(rate: float) -> Iterator[bool]:
    """Pause flags per cycle (True = paused) that let ``rate`` (0 < rate <= 1) beats through.

    Cycle n is open when floor((n + 1) * rate) > floor(n * rate): the beats are spread as
    evenly as the clock allows, and any window of c cycles holds floor(c * rate) or one more.
    """
    n = 0
    while True:
        yield math.floor((n + 1) * rate) == math.floor(n * rate)
        n += 1


class _DelayedReads:
    """Hold each AR until ``latency`` cycles after its handshake before the RAM answers it."""

    def __init__(self, read_if, clock, latency: int, period_ns: float) -> None:
        self.clock = clock
        self.latency = latency
        self.period_ns = period_ns
        self.arrivals: deque[float] = deque()
        channel = read_if.ar_channel
        queue_put = channel.queue.put_nowait
        channel_recv = channel.recv

        def stamped_put(item) -> None:
            self.arrivals.append(get_sim_time("ns"))
            queue_put(item)

        async def delayed_recv():
            ar = await channel_recv()
            due = self.arrivals.popleft() + self.latency * self.period_ns
            wait = math.ceil((due - get_sim_time("ns")) / self.period_ns - 1e-9)
            if wait > 0:
                await ClockCycles(self.clock, wait)
            return ar

        channel.queue.put_nowait = stamped_put
        channel.recv = delayed_recv


def apply_board_memory(ram, clock, period_ns: float, timing: dict | None) -> None:
    """Give ``ram`` (a cocotbext-axi AxiRam, or an AxiRamRead of a read-only master) the
    timing of one board port.

    Call it before reset is released: the RAM's read process starts then and must take
    every AR through the delay.  Each master's RAM is a port of its own: two RAMs on one
    memory each get the full rate, latency and outstanding bursts.

    Args:
        ram: The bench's AxiRam (read and write channels) or AxiRamRead (read channels).
        clock: Its clock signal.
        period_ns: The clock period.
        timing: ``{"rate": beats per cycle, "latency": cycles, "outstanding": bursts}``
            (edgemoe.perf.memory.MemoryTiming.bench_spec); None keeps the ideal memory.
    """
    if not timing:
        return
    read_if = getattr(ram, "read_if", ram)
    write_if = getattr(ram, "write_if", None)
    rate = float(timing["rate"])
    if rate < 1.0:
        read_if.r_channel.set_pause_generator(rate_pattern(rate))
        if write_if is not None:
            write_if.w_channel.set_pause_generator(rate_pattern(rate))
    # the burst being delayed has left the queue: the queue holds the others in flight
    read_if.ar_channel.queue_occupancy_limit = max(1, int(timing["outstanding"]) - 1)
    if int(timing["latency"]) > 0:
        _DelayedReads(read_if, clock, int(timing["latency"]), period_ns)
