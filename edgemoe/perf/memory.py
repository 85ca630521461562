"""The memory a design point sees on its board: beats per cycle and read latency.

The compute unit has one AXI master of ``axi_bits`` (the RTL top's ``m_axi_mem``); on the
board it sits on PS high-performance ports of ``ps_port_bits`` each, in front of DDR of
``ddr_gbps`` (configs/boards.yaml).  A bus wider than the port moves a beat only as fast
as the port carries its bytes; the DDR's nominal peak caps all ports together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DMA_CMD_CYCLES", "DMA_IN_FLIGHT", "OUTSTANDING_READS", "MemoryTiming", "memory_timing"]

#: Read bursts a PS port accepts before it answers the first one (its read issuing
#: capability). ASSUMED, not measured; the RTL's read DMA keeps at most 8 commands in
#: flight, so this rarely binds.
OUTSTANDING_READS = 16
#: Read commands the unit's read DMA keeps in flight (edgemoe_rd_dma.sv META_DEPTH).
DMA_IN_FLIGHT = 8
#: Fewest cycles per read command of that DMA: its AR issuer takes one every other cycle,
#: then the realign stage (fitted: 1-element taps).
DMA_CMD_CYCLES = 2.75


@dataclass(frozen=True)
class MemoryTiming:
    """Memory timing of one design point on its board, in kernel clock cycles.

    Attributes:
        bus_bytes: Bytes per beat of the unit's AXI master.
        port_bytes: Bytes per cycle the PS ports carry (``ports`` x ``ps_port_bits`` / 8).
        ddr_bytes: Bytes per cycle of the DDR's nominal peak at the kernel clock.
        latency: Cycles from a read burst's AR handshake to its first data beat.
        ports: PS ports the unit's traffic is spread over.
        outstanding: Read bursts in flight the port accepts.
    """

    bus_bytes: int
    port_bytes: float
    ddr_bytes: float
    latency: int
    ports: int = 1
    outstanding: int = OUTSTANDING_READS

    @property
    def bytes_per_cycle(self) -> float:
        """Sustainable bytes per cycle on each of the R and W channels."""
        return min(float(self.bus_bytes), self.port_bytes, self.ddr_bytes)

    @property
    def rate(self) -> float:
        """Beats per cycle of the unit's bus (1.0: the memory never throttles it)."""
        return self.bytes_per_cycle / self.bus_bytes

    def beats_cycles(self, beats: float) -> float:
        """Cycles the memory needs to carry ``beats`` bus beats."""
        return beats / self.rate

    def bench_spec(self) -> dict:
        """The figures the RTL bench's memory model takes (sim/memory_model.py)."""
        return {"rate": self.rate, "latency": self.latency, "outstanding": self.outstanding}

    def describe(self) -> str:
        """One line: rate, bandwidth and latency."""
        return (f"{self.bytes_per_cycle:g} B/cycle ({self.rate:.2f} beats of {self.bus_bytes} B "
                f"per cycle, {self.ports} PS port(s)), read latency {self.latency} cycles")


def memory_timing(accel, ports: int = 1) -> MemoryTiming:
    """Memory timing of ``accel`` on its board (configs/boards.yaml), ``ports`` PS ports.

    Args:
        accel: The design point (its board, clock and ``axi_bits``).
        ports: PS ports the unit's master is spread over (the RTL top has one master).
    """
    board = accel.board
    mhz = float(accel.clock_mhz)
    return MemoryTiming(
        bus_bytes=accel.axi_bytes,
        port_bytes=ports * board.ps_port_bits / 8,
        ddr_bytes=board.ddr_gbps * 1e3 / mhz,
        latency=math.ceil(board.ddr_latency_ns * mhz / 1e3),
        ports=ports)
