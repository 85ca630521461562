"""The memory a design point sees on its board: beats per cycle and read latency.

The compute unit's AXI masters are ``axi_bits`` wide; on the board each sits on its own PS
high-performance port of ``ps_port_bits``, in front of DDR of ``ddr_gbps``
(configs/boards.yaml).  A bus wider than its port moves a beat only as fast as the port
carries its bytes, and one stream of reads (or writes) runs on one master, so on one port:
more ports do not make a stream faster (but for the weight prefetch's striping, below), they
let streams of different masters run side by side.  The one such overlap the model has (it
follows the RTL's schedule) is the weight prefetch on a master of its own (``ports`` >= 2:
the RTL top's ``m_axi_wgt``; the HLS kernel's ``wgt`` bundle likewise keeps the weights off
the activations' master), which then neither queues ahead of the running op's reads nor
waits behind them.  With three ports the prefetch's bursts alternate over two masters of
its own (the RTL top's ``m_axi_wgt`` and ``m_axi_wgt1``): it moves at two ports' bytes a
cycle, at most the unit's bus (:attr:`MemoryTiming.prefetch_rate`).  A fourth port adds
nothing here: the RTL top stripes over two weight masters at most
(:data:`PREFETCH_MASTERS_MAX`), and two already fill a bus twice a port's width, the
ZCU102's and every shipped design point's widest.  (The HLS kernel's third bundle carries
the activations instead, edgemoe.params.ports: at three ports the model follows the RTL
top.)  The DDR's nominal peak caps every stream (three ZCU102 ports take 48 of its 71
bytes a cycle at 300 MHz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DMA_CMD_CYCLES", "DMA_IN_FLIGHT", "OUTSTANDING_READS", "PF_BURST",
           "PREFETCH_MASTERS_MAX", "MemoryTiming", "memory_timing"]

#: Read bursts a PS port accepts before it answers the first one (its read issuing
#: capability). ASSUMED, not measured; the RTL's read DMA keeps at most 8 commands in
#: flight, so this rarely binds.
OUTSTANDING_READS = 16
#: Read commands the unit's read DMA keeps in flight (edgemoe_rd_dma.sv META_DEPTH).
DMA_IN_FLIGHT = 8
#: Beats per burst of the weight prefetch DMA (edgemoe_top.sv.j2 u_pf_dma MAX_BURST).
PF_BURST = 16
#: Read masters the weight prefetch stripes its bursts over at most (edgemoe_top.sv.j2's
#: m_axi_wgt, m_axi_wgt1: edgemoe.rtl.render.WEIGHT_MASTERS).
PREFETCH_MASTERS_MAX = 2
#: Fewest cycles per read command of that DMA: its AR issuer takes one every other cycle,
#: then the realign stage (fitted: 1-element taps).
DMA_CMD_CYCLES = 2.75


@dataclass(frozen=True)
class MemoryTiming:
    """Memory timing of one design point on its board, in kernel clock cycles.

    Attributes:
        bus_bytes: Bytes per beat of the unit's AXI master.
        port_bytes: Bytes per cycle one PS port carries (``ps_port_bits`` / 8): one stream's
            most, whatever the port count.
        ddr_bytes: Bytes per cycle of the DDR's nominal peak at the kernel clock.
        latency: Cycles from a read burst's AR handshake to its first data beat.
        ports: PS ports (m_axi masters) the unit's traffic is spread over; with two or
            more, the weight prefetch has its own (:attr:`prefetch_apart`), with three two
            (:attr:`prefetch_masters`); a fourth changes nothing.
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
    def prefetch_apart(self) -> bool:
        """The weight prefetch reads through a master and port of its own."""
        return self.ports >= 2

    @property
    def prefetch_masters(self) -> int:
        """Ports the weight prefetch's bursts alternate over: the one it shares with
        everything else (one port), its own (two), or two of its own (three or more)."""
        return min(max(self.ports - 1, 1), PREFETCH_MASTERS_MAX)

    @property
    def prefetch_rate(self) -> float:
        """Beats per cycle of the unit's bus the weight prefetch moves at: its ports' bytes
        a cycle, at most the bus's and the DDR's (:attr:`rate` on one or two ports)."""
        return min(float(self.bus_bytes), self.prefetch_masters * self.port_bytes,
                   self.ddr_bytes) / self.bus_bytes

    def prefetch_cycles(self, beats: float) -> float:
        """Cycles the weight prefetch needs to carry ``beats`` bus beats."""
        return beats / self.prefetch_rate

    @property
    def rate(self) -> float:
        """Beats per cycle of the unit's bus (1.0: the memory never throttles it)."""
        return self.bytes_per_cycle / self.bus_bytes

    def beats_cycles(self, beats: float) -> float:
        """Cycles the memory needs to carry ``beats`` bus beats."""
        return beats / self.rate

    def bench_spec(self) -> dict:
        """The figures the RTL bench's memory model takes (sim/memory_model.py), the same
        for each master's port; ``ports`` picks the RTL top's masters
        (edgemoe.rtl.render.masters_for: 2, the weight prefetch on ``m_axi_wgt``; 3 or
        more, striped over ``m_axi_wgt`` and ``m_axi_wgt1``)."""
        return {"rate": self.rate, "latency": self.latency, "outstanding": self.outstanding,
                "ports": self.ports}

    def describe(self) -> str:
        """One line: rate, bandwidth and latency (and the prefetch's, when it stripes)."""
        striped = (f"; the weight prefetch {self.prefetch_rate:.2f} beats per cycle over "
                   f"{self.prefetch_masters} of them" if self.prefetch_masters > 1 else "")
        return (f"{self.bytes_per_cycle:g} B/cycle ({self.rate:.2f} beats of {self.bus_bytes} B "
                f"per cycle, {self.ports} PS port(s){striped}), read latency {self.latency} "
                "cycles")


def memory_timing(accel, ports: int = 1) -> MemoryTiming:
    """Memory timing of ``accel`` on its board (configs/boards.yaml), ``ports`` PS ports.

    Args:
        accel: The design point (its board, clock and ``axi_bits``).
        ports: PS ports (m_axi masters) of the unit: 1, or up to the design point's
            ``m_axi_bundles`` (2: the weight prefetch on a port of its own; 3 or more: on
            two, :attr:`MemoryTiming.prefetch_masters`).
    """
    board = accel.board
    mhz = float(accel.clock_mhz)
    return MemoryTiming(
        bus_bytes=accel.axi_bytes,
        port_bytes=board.ps_port_bits / 8,
        ddr_bytes=board.ddr_gbps * 1e3 / mhz,
        latency=math.ceil(board.ddr_latency_ns * mhz / 1e3),
        ports=ports)
