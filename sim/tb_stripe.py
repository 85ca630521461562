"""cocotb bench of edgemoe_rd_stripe: random bursts over two read masters whose ports differ
in rate and latency; the read port's beats come back in AR order, each burst whole."""

from __future__ import annotations

import os
import random

import cocotb
from benchutil import quiet_axi_logs
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiRamRead, AxiReadBus
from memory_model import apply_board_memory

#: Each master's port: (beats per cycle, read latency, bursts in flight) per bench case.
PORTS = ((1.0, 0, 16), (0.5, 30, 16), (0.25, 3, 4))


async def _issue(dut, bursts: list[tuple[int, int]], rng: random.Random) -> None:
    """Drive the read port's AR channel with ``bursts`` (address, beats), with gaps."""
    for addr, beats in bursts:
        dut.s_araddr.value = addr
        dut.s_arlen.value = beats - 1
        dut.s_arvalid.value = 1
        while True:
            await RisingEdge(dut.ap_clk)
            if int(dut.s_arready.value):
                break
        dut.s_arvalid.value = 0
        if rng.random() < 0.3:
            await ClockCycles(dut.ap_clk, rng.randrange(1, 4))


@cocotb.test()
async def bursts_in_order(dut):
    """Every beat of every burst, in AR order, under random R back-pressure, whichever
    master's port answers first."""
    quiet_axi_logs()
    cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
    b = len(dut.s_rdata) // 8
    rng = random.Random(int(os.environ.get("STRIPE_SEED", "1")))
    case = int(os.environ.get("STRIPE_CASE", "0"))
    fast, slow = PORTS[case], PORTS[(case + 1) % len(PORTS)]
    mem = bytes(rng.randrange(256) for _ in range(1 << 16))
    rams = []
    for name, (rate, latency, outstanding) in (("m0", fast), ("m1", slow)):
        ram = AxiRamRead(AxiReadBus.from_prefix(dut, name), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False, size=len(mem))
        ram.write(0, mem)
        apply_board_memory(ram, dut.ap_clk, 10, {"rate": rate, "latency": latency,
                                                  "outstanding": outstanding})
        rams.append(ram)
    dut.s_arvalid.value = 0
    dut.s_rready.value = 0
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 5)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    bursts = []
    for _ in range(int(os.environ.get("STRIPE_BURSTS", "120"))):
        beats = rng.choice([1, 2, 16, rng.randrange(1, 17)])
        bursts.append((rng.randrange(0, (len(mem) >> 12) - 1) * 4096
                       + rng.randrange(0, 4096 // b - beats + 1) * b, beats))
    want = [mem[a + k * b:a + (k + 1) * b] for a, n in bursts for k in range(n)]
    cocotb.start_soon(_issue(dut, bursts, rng))
    got = []
    stall = float(os.environ.get("STRIPE_STALL", "0.2"))
    for _ in range(200_000):
        await FallingEdge(dut.ap_clk)  # between edges: what the next rising edge takes
        dut.s_rready.value = int(rng.random() >= stall)
        await ReadOnly()
        if int(dut.s_rvalid.value) and int(dut.s_rready.value):
            got.append(int(dut.s_rdata.value).to_bytes(b, "little"))
        if len(got) == len(want):
            break
    assert len(got) == len(want), f"{len(got)} of {len(want)} beats arrived"
    bad = next((k for k, (g, w) in enumerate(zip(got, want)) if g != w), None)
    assert bad is None, f"beat {bad} differs (of {len(want)})"
