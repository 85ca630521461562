"""cocotb bench of an edgemoe top (ours or a Vitis-exported one with the same interface).

Runs the jobs listed in the JSON file named by ``EDGEMOE_JOBS``: for each, loads the memory
image into a cocotbext-axi ``AxiRam`` (the DDR) at ``mem_base`` (ideal, or with the board's
port bandwidth and read latency when the spec has ``memory``: sim/memory_model.py; with
``masters`` 2 the top's read-only ``m_axi_wgt`` gets an ``AxiRamRead`` on the same memory,
a port of its own with the same timing; with 3 so does ``m_axi_wgt1``), writes
the arguments through an ``AxiLiteMaster`` (offsets from :mod:`edgemoe.rtl.regmap`), starts the unit,
waits for the interrupt (or ``max_cycles``), reads ``status`` and writes the memory back
to the job's output file.  Results (error, cycles, wall time, AXI monitor counts) go to
the JSON file named by ``EDGEMOE_RESULTS``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from benchutil import quiet_axi_logs
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam, AxiRamRead, AxiReadBus
from memory_model import apply_board_memory

from edgemoe.rtl.regmap import offset
from edgemoe.rtl.render import weight_masters

CLOCK_NS = 10
#: Cycles of one bandwidth window of the AXI monitor (R beats per window, per DMA owner).
MONITOR_WINDOW = 64


class AxiMonitor:
    """Counts read (R) and write (W) beats per cycle, split by the dispatcher's DMA owner.

    The owner (which engine holds the DMA) is read from the dispatcher's ``owner``
    register when the top exposes it (our RTL); otherwise everything counts as owner 0.
    Beats are those of ``m_axi_mem``.  AR handshakes are counted per master and ARID, and
    the weight prefetch's bursts (``m_axi_mem`` ARID 1, or every one of a weight master:
    ``m_axi_wgt``, ``m_axi_wgt1``) listed as ``[address, beats]`` in AR order; its R beats
    are counted per weight master.
    """

    def __init__(self, dut, masters: int = 1):
        self.dut = dut
        self.wgt = weight_masters(masters)
        self.ar: dict[str, int] = {}  # "mem/<arid>", "wgt" or "wgt1" -> AR handshakes
        self.prefetch_ar: list[list[int]] = []
        self.wgt_r: dict[str, int] = dict.fromkeys(map(_short, self.wgt), 0)
        self.cycles: dict[int, int] = {}
        self.r_beats: dict[int, int] = {}
        self.w_beats: dict[int, int] = {}
        self.max_r_per_cycle = 0
        self.windows: dict[int, list[int]] = {}  # R beats of each full window, per owner
        self._window: dict[int, int] = {}
        try:
            self.owner = dut.u_ctrl.owner
        except AttributeError:
            self.owner = None
        self.running = True

    async def run(self) -> None:
        dut = self.dut
        while self.running:
            await RisingEdge(dut.ap_clk)
            await ReadOnly()
            own = int(self.owner.value) if self.owner is not None else 0
            self.cycles[own] = self.cycles.get(own, 0) + 1
            r = int(dut.m_axi_mem_rvalid.value) & int(dut.m_axi_mem_rready.value)
            w = int(dut.m_axi_mem_wvalid.value) & int(dut.m_axi_mem_wready.value)
            self.r_beats[own] = self.r_beats.get(own, 0) + r
            self.w_beats[own] = self.w_beats.get(own, 0) + w
            self.max_r_per_cycle = max(self.max_r_per_cycle, r)
            self._window[own] = self._window.get(own, 0) + r
            if self.cycles[own] % MONITOR_WINDOW == 0:
                self.windows.setdefault(own, []).append(self._window.pop(own))
            if int(dut.m_axi_mem_arvalid.value) & int(dut.m_axi_mem_arready.value):
                arid = int(dut.m_axi_mem_arid.value)
                self._count_ar(f"mem/{arid}", "m_axi_mem", arid == 1)
            for name in self.wgt:
                if int(getattr(dut, f"{name}_arvalid").value) & \
                        int(getattr(dut, f"{name}_arready").value):
                    self._count_ar(_short(name), name, True)
                self.wgt_r[_short(name)] += int(getattr(dut, f"{name}_rvalid").value) & \
                    int(getattr(dut, f"{name}_rready").value)

    def _count_ar(self, key: str, prefix: str, prefetch: bool) -> None:
        self.ar[key] = self.ar.get(key, 0) + 1
        if prefetch:
            self.prefetch_ar.append([int(getattr(self.dut, f"{prefix}_araddr").value),
                                     int(getattr(self.dut, f"{prefix}_arlen").value) + 1])

    def summary(self) -> dict:
        return {"cycles": self.cycles, "r_beats": self.r_beats, "w_beats": self.w_beats,
                "max_r_per_cycle": self.max_r_per_cycle, "window": MONITOR_WINDOW,
                "r_windows": self.windows, "ar": self.ar, "prefetch_ar": self.prefetch_ar,
                "wgt_r_beats": sum(self.wgt_r.values()), "wgt_r": self.wgt_r}


def _short(master: str) -> str:
    """The monitor's key of a master: ``m_axi_wgt1`` -> ``wgt1``."""
    return master.removeprefix("m_axi_")


def _probe(dut) -> None:
    """Log the signals named in EDGEMOE_PROBE (dotted paths below the top) for debugging."""
    for path in filter(None, os.environ.get("EDGEMOE_PROBE", "").split(",")):
        handle = dut
        try:
            for part in path.split("."):
                handle = getattr(handle, part)
            dut._log.warning("probe %s = %s", path, handle.value)
        except AttributeError:
            dut._log.warning("probe %s: no such signal", path)


#: Cycles between two progress reports (a small file write each).
PROGRESS_EVERY = 20_000


async def _report_progress(dut, path: Path, job: int) -> None:
    """Write ``{"job", "cycles"}`` to ``path`` every PROGRESS_EVERY cycles (for the host's
    progress bar); the file is replaced atomically so the reader never sees half of it."""
    cycles = 0
    tmp = path.with_name(path.name + ".tmp")
    while True:
        await ClockCycles(dut.ap_clk, PROGRESS_EVERY)
        cycles += PROGRESS_EVERY
        tmp.write_text(json.dumps({"job": job, "cycles": cycles}))
        os.replace(tmp, path)


async def _reset(dut) -> None:
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 4)


@cocotb.test()
async def run_jobs(dut):
    """Run every job of EDGEMOE_JOBS and record the results."""
    quiet_axi_logs()
    spec = json.loads(Path(os.environ["EDGEMOE_JOBS"]).read_text())
    out_path = Path(os.environ["EDGEMOE_RESULTS"])
    cocotb.start_soon(Clock(dut.ap_clk, CLOCK_NS, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi_mem"), dut.ap_clk, dut.ap_rst_n,
                 reset_active_level=False, size=spec["ram_size"])
    masters = int(spec.get("masters", 1))
    rams = [ram]
    for name in weight_masters(masters):  # read-only: each its own port, the same memory
        rams.append(AxiRamRead(AxiReadBus.from_prefix(dut, name), dut.ap_clk,
                               dut.ap_rst_n, reset_active_level=False, mem=ram.mem))
    lite = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                         dut.ap_rst_n, reset_active_level=False)
    # before reset ends: the RAM's read process starts then and must see the delay
    for port in rams:
        apply_board_memory(port, dut.ap_clk, CLOCK_NS, spec.get("memory"))
    await _reset(dut)
    base = spec["mem_base"]
    results = []
    progress = os.environ.get("EDGEMOE_PROGRESS")
    for index, job in enumerate(spec["jobs"]):
        image = Path(job["image"]).read_bytes()
        ram.write(base % spec["ram_size"], image)
        for name, value in (("mem_1", base & 0xFFFFFFFF), ("mem_2", base >> 32),
                            ("mem_bytes_1", len(image) & 0xFFFFFFFF),
                            ("mem_bytes_2", len(image) >> 32),
                            ("program_offset", job["program_offset"]),
                            ("n_instructions", job["n_instructions"]),
                            ("task", job["task"]), ("status_offset", job["status_offset"]),
                            ("GIER", 1), ("IP_IER", 1)):
            await lite.write_dword(offset(name), value)
        config_id = await lite.read_dword(offset("config_id"))
        monitor = AxiMonitor(dut, masters) if job.get("monitor") else None
        if monitor is not None:
            cocotb.start_soon(monitor.run())
        t0 = time.perf_counter()
        await RisingEdge(dut.ap_clk)
        start_ns = cocotb.utils.get_sim_time("ns")
        await lite.write_dword(offset("CTRL"), 1)
        reporter = (cocotb.start_soon(_report_progress(dut, Path(progress), index))
                    if progress else None)
        fired = await First(RisingEdge(dut.interrupt), ClockCycles(dut.ap_clk, job["max_cycles"]))
        if reporter is not None:
            reporter.cancel()
        cycles = int((cocotb.utils.get_sim_time("ns") - start_ns) // CLOCK_NS)
        wall = time.perf_counter() - t0
        timed_out = not int(dut.interrupt.value)
        if monitor is not None:
            monitor.running = False
        if timed_out:
            _probe(dut)
        ctrl = await lite.read_dword(offset("CTRL"))
        status = await lite.read_dword(offset("status"))
        await lite.write_dword(offset("IP_ISR"), 1)
        Path(job["out"]).write_bytes(ram.read(base % spec["ram_size"], len(image)))
        results.append({"error": status, "cycles": cycles, "wall_s": wall,
                        "timed_out": timed_out, "ctrl": ctrl, "config_id": config_id,
                        "monitor": monitor.summary() if monitor is not None else None,
                        "trigger": type(fired).__name__})
        out_path.write_text(json.dumps(results))
        if timed_out:
            break  # the unit is still busy: later jobs would see a running device
