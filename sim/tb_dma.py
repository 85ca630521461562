"""cocotb bench of the read/write DMA pair: random unaligned copies through word streams."""

from __future__ import annotations

import os
import random

import cocotb
from benchutil import quiet_axi_logs
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiRam


async def _cmd(dut, prefix: str, addr: int, length: int, wlg: int) -> None:
    getattr(dut, f"{prefix}_cmd_addr").value = addr
    getattr(dut, f"{prefix}_cmd_len").value = length
    getattr(dut, f"{prefix}_cmd_wlg").value = wlg
    getattr(dut, f"{prefix}_cmd_valid").value = 1
    while True:
        await RisingEdge(dut.ap_clk)
        if int(getattr(dut, f"{prefix}_cmd_ready").value):
            break
    getattr(dut, f"{prefix}_cmd_valid").value = 0


@cocotb.test()
async def copies(dut):
    """Copy random byte ranges with random word sizes; compare the destination bytes."""
    quiet_axi_logs()
    cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
    b = len(dut.m_axi_mem_rdata) // 8
    word_max_lg = int(os.environ.get("DMA_WORD_MAX_LG", "6"))
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi_mem"), dut.ap_clk, dut.ap_rst_n,
                 reset_active_level=False, size=1 << 16)
    for sig in ("rd_cmd_valid", "wr_cmd_valid"):
        getattr(dut, sig).value = 0
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 5)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    rng = random.Random(int(os.environ.get("DMA_SEED", "1")))
    src = bytes(rng.randrange(256) for _ in range(1 << 14))
    ram.write(0, src)
    for case in range(int(os.environ.get("DMA_CASES", "60"))):
        wlg = rng.randrange(0, word_max_lg + 1)
        length = rng.choice([1, 2, 3, b - 1, b, b + 1, 2 * b + 3, rng.randrange(1, 5000)])
        s = rng.randrange(0, 8000)
        d = 0x8000 + rng.randrange(0, 8000)
        ram.write(d - 64, bytes(length + 128))
        cocotb.start_soon(_cmd(dut, "wr", d, length, wlg))
        await _cmd(dut, "rd", s, length, wlg)
        for _ in range(200000):
            await RisingEdge(dut.ap_clk)
            if int(dut.wr_idle.value) and not int(dut.rd_busy.value) and \
                    int(dut.wr_cmd_valid.value) == 0:
                break
        else:
            raise AssertionError(f"case {case}: copy of {length} bytes src {s} dst {d} wlg {wlg} did not finish: words {int(dut.words.value)}")
        await ClockCycles(dut.ap_clk, 2)
        got = ram.read(d - 64, length + 128)
        want = bytes(64) + src[s:s + length] + bytes(64)
        assert got == want, (f"case {case}: src {s} dst {d} len {length} wlg {wlg}: "
                             f"first difference at {next(i for i in range(len(want)) if got[i] != want[i]) - 64}")
