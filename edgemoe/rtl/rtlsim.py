"""The ``rtlsim`` executor: programs run on the SystemVerilog top under Verilator.

:class:`RtlsimExecutor` has the golden executor's contract (``execute(image, ...) -> err``,
image modified in place); :meth:`RtlsimExecutor.run_jobs` runs several programs in one
simulator process (one process start, one Verilator model).  The bench (``sim/tb_top.py``)
takes any source list and top name with the same ports, so Vitis-exported RTL of the HLS
top can run through it too.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..resources import default_build_root
from .progress import ProgressWatcher
from .render import TOP, design_key, masters_for, render_rtl, rtl_dir_name
from .simulator import SimBuild, SimulatorError, build, run

__all__ = ["DEFAULT_MAX_CYCLES", "RtlJob", "RtlResult", "RtlsimExecutor"]

log = logging.getLogger(__name__)

#: Cycles after which a run counts as hung (the unit never needs this many for test sizes).
DEFAULT_MAX_CYCLES = 20_000_000
#: Where the memory image sits in the simulated address space (exercises the 64-bit pointer).
MEM_BASE = 1 << 32


@dataclass
class RtlJob:
    """One program run: the image is modified in place like golden.execute's.

    Attributes:
        image: uint8 memory image.
        program_offset, n_instructions, task, status_offset: The register arguments.
        max_cycles: Give up (``timed_out``) after this many cycles.
        monitor: Count AXI beats per cycle and per engine (slower).
    """

    image: np.ndarray
    program_offset: int
    n_instructions: int
    task: int = 0
    status_offset: int = 0
    max_cycles: int = DEFAULT_MAX_CYCLES
    monitor: bool = False


@dataclass(frozen=True)
class RtlResult:
    """What a run returned.

    Attributes:
        error: The ``status`` register (0 on success).
        cycles: Clock cycles from ap_start to the interrupt.
        timed_out: The unit did not finish within ``max_cycles``.
        wall_s: Wall time of the run inside the simulator.
        config_id: The read-only config_id register.
        ctrl: The CTRL register read after the interrupt (ap_done, ap_idle, ap_ready bits).
        monitor: AXI beat counts (``cycles``/``r_beats``/``w_beats`` per DMA owner), AR
            handshakes per master (``ar``) and the weight prefetch's bursts, or None.
    """

    error: int
    cycles: int
    timed_out: bool
    wall_s: float
    config_id: int
    ctrl: int = 0
    monitor: dict | None = field(default=None, compare=False)


class RtlsimExecutor:
    """Run programs on the RTL of a design point (or on given RTL sources).

    Args:
        accel: The design point (renders ``<build_root>/<name>-<id>/rtl`` unless ``sources``).
        sources: SystemVerilog sources to simulate instead (e.g. Vitis-exported RTL).
        toplevel: Top module name.
        waves: Build with tracing and dump waveforms (``last_run_dir``/dump.*).
        keep: Keep the run folders (always kept with ``waves``).
        build_root: Folder of the rendered RTL, Verilator models and run folders
            (default ``build/`` of the current folder).
        memory: The board's memory timing for the bench's AXI RAM
            (``edgemoe.perf.memory_timing(accel, ports).bench_spec()``); None: an ideal
            memory (every burst answered at once, a beat per cycle).  Its ``ports`` picks
            the top's masters (:func:`edgemoe.rtl.render.masters_for`) unless ``masters``
            says otherwise.
        masters: AXI masters of the rendered top (1: ``m_axi_mem``; 2: also ``m_axi_wgt``,
            the weight prefetch's own; 3: also ``m_axi_wgt1``, the prefetch striped over
            both; each on a bench RAM port of its own over one memory); default: 1, 2 or 3
            for ``memory`` with 1, 2 or 3 and more ports.
    """

    def __init__(self, accel, sources: list[Path] | None = None, toplevel: str = TOP,
                 waves: bool = False, keep: bool = False,
                 build_root: Path | str | None = None, memory: dict | None = None,
                 masters: int | None = None) -> None:
        self.accel = accel
        self.memory = dict(memory) if memory else None
        if masters is None:
            masters = masters_for((self.memory or {}).get("ports", 1))
        self.masters = masters
        self.toplevel = toplevel
        self.waves = waves
        self.keep = keep or waves
        self.build_root = Path(build_root) if build_root is not None else default_build_root()
        self.sources = list(sources) if sources is not None else render_rtl(
            accel, self.build_root / design_key(accel) / rtl_dir_name(masters), masters)
        self._sim: SimBuild | None = None
        self.last_run_dir: Path | None = None
        self.last_wall_s = 0.0

    @property
    def sim(self) -> SimBuild:
        """The Verilator model (built on first use, cached across processes)."""
        if self._sim is None:
            self._sim = build(self.sources, self.toplevel, waves=self.waves,
                              build_root=self.build_root / "rtlsim")
        return self._sim

    def execute(self, image: np.ndarray, program_offset: int, n_instructions: int,
                task: int = 0, status_offset: int = 0) -> int:
        """Run one program on ``image`` (uint8, modified in place); returns the error code.

        Raises:
            SimulatorError: The simulation failed or the unit did not finish.
        """
        res = self.run_jobs([RtlJob(image, program_offset, n_instructions, task,
                                    status_offset)])[0]
        if res.timed_out:
            raise SimulatorError(f"the RTL did not finish within {DEFAULT_MAX_CYCLES} cycles")
        return res.error

    def run_jobs(self, jobs: list[RtlJob],
                 progress: Callable[[int, int], None] | None = None) -> list[RtlResult]:
        """Run several programs in one simulator process, in order.

        A job that times out ends the batch (the unit is still busy); its result has
        ``timed_out`` set and the later jobs get no result (the list is shorter).

        Args:
            jobs: The programs.
            progress: Called as ``progress(job_index, simulated_cycles)`` about every
                20k simulated cycles (from a watcher thread).
        """
        if not jobs:
            return []
        sim = self.sim
        root = self.build_root / "rtlsim" / "runs"
        root.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"{design_key(self.accel)}-", dir=root))
        self.last_run_dir = run_dir
        size = max(int(job.image.size) for job in jobs)
        ram = 4096
        while ram < size:
            ram *= 2
        spec = {"mem_base": MEM_BASE, "ram_size": ram, "memory": self.memory,
                "masters": self.masters, "jobs": []}
        for i, job in enumerate(jobs):
            img = np.ascontiguousarray(job.image, dtype=np.uint8)
            (run_dir / f"job{i}.bin").write_bytes(img.tobytes())
            spec["jobs"].append({
                "image": str(run_dir / f"job{i}.bin"), "out": str(run_dir / f"job{i}.out"),
                "program_offset": int(job.program_offset),
                "n_instructions": int(job.n_instructions), "task": int(job.task),
                "status_offset": int(job.status_offset), "max_cycles": int(job.max_cycles),
                "monitor": bool(job.monitor)})
        (run_dir / "jobs.json").write_text(json.dumps(spec))
        results_path = run_dir / "results.json"
        env = {"EDGEMOE_JOBS": str(run_dir / "jobs.json"), "EDGEMOE_RESULTS": str(results_path)}
        watcher = None
        if progress is not None:
            env["EDGEMOE_PROGRESS"] = str(run_dir / "progress.json")
            watcher = ProgressWatcher(run_dir / "progress.json", progress)
            watcher.start()
        t0 = time.perf_counter()
        try:
            run(sim, "tb_top", run_dir, env=env, waves=self.waves)
        finally:
            self.last_wall_s = time.perf_counter() - t0
            if watcher is not None:
                watcher.stop()
        raw = json.loads(results_path.read_text()) if results_path.is_file() else []
        out = []
        for i, r in enumerate(raw):
            data = np.frombuffer((run_dir / f"job{i}.out").read_bytes(), dtype=np.uint8)
            jobs[i].image[...] = data.reshape(jobs[i].image.shape)
            out.append(RtlResult(int(r["error"]), int(r["cycles"]), bool(r["timed_out"]),
                                 float(r["wall_s"]), int(r["config_id"]), int(r["ctrl"]),
                                 r["monitor"]))
        if not self.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        for r in out:
            if r.config_id != self.accel.config_id_int:
                raise SimulatorError(
                    f"the simulated RTL reports config_id {r.config_id:08x}, the design point "
                    f"{self.accel.name} is {self.accel.config_id}: regenerate the RTL")
        return out
