"""Throughput test of a placed model (FINN's ``throughput_test`` for edgemoe).

Runs a batch of images through an :class:`~edgemoe.host.accelerator.Accelerator` and
reports images per second (wall clock, host work included), the host overhead per run
(packing inputs, cache sync, decoding outputs) against the time spent waiting for the
device, and what the device's profile says: cycles per run and the DRAM traffic they
move. On the board the cycles come from the hardware counter (measured); the golden and
csim backends model them, and the report says which.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ThroughputReport", "measure_throughput"]

@dataclass(frozen=True)
class ThroughputReport:
    """Figures of one throughput test.

    Attributes:
        backend: Executor name.
        model: Model of the design.
        task: Task(s) run per image (``all`` or a task name).
        batch: Images in the timed batch.
        runs: Program runs (images x tasks).
        wall_s: Wall time of the batch.
        images_per_s: ``batch / wall_s``.
        compute_ms_per_run: Host wall time waiting for the device, per run.
        host_ms_per_run: Packing + sync + decoding per run.
        pack_ms_per_run, sync_ms_per_run, decode_ms_per_run: The host phases.
        host_overhead_pct: Host time as a percentage of device wait time.
        device_cycles_per_run: Profile cycles of one run (mean).
        device_ms_per_run: Those cycles at the design's clock.
        cycles_source: ``measured`` (hardware counter) or ``modelled`` (cycle model).
        dram_mb_per_s: Profile bytes moved per run / device time per run.
    """

    backend: str
    model: str
    task: str
    batch: int
    runs: int
    wall_s: float
    images_per_s: float
    compute_ms_per_run: float
    host_ms_per_run: float
    pack_ms_per_run: float
    sync_ms_per_run: float
    decode_ms_per_run: float
    host_overhead_pct: float
    device_cycles_per_run: float
    device_ms_per_run: float
    cycles_source: str
    dram_mb_per_s: float

    def to_dict(self) -> dict:
        """The report as a JSON-ready mapping."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable report, one figure per line."""
        src = self.cycles_source
        rows = [
            ("images/s (wall, host work included)", f"{self.images_per_s:.2f}"),
            ("device wait per run", f"{self.compute_ms_per_run:.3f} ms"),
            ("host overhead per run",
             (f"{self.host_ms_per_run:.3f} ms = {self.host_overhead_pct:.2f}% of device wait "
             f"(pack {self.pack_ms_per_run:.3f}, sync {self.sync_ms_per_run:.3f}, "
             f"decode {self.decode_ms_per_run:.3f} ms)")),
            (f"device cycles per run ({src})",
             (f"{self.device_cycles_per_run:,.0f} = {self.device_ms_per_run:.3f} ms at the "
             "design clock")),
            (f"DRAM traffic at that latency ({src})", f"{self.dram_mb_per_s:.1f} MB/s"),
        ]
        head = (f"throughput test: {self.model}, task {self.task}, {self.batch} images on "
                f"{self.backend} ({self.runs} runs, {self.wall_s:.3f} s wall)")
        return [head] + [f"  {label:<40} {value}" for label, value in rows]


def measure_throughput(acc, images: Sequence[np.ndarray], task: str = "all",
                       warmup: bool = True) -> ThroughputReport:
    """Time ``acc.run(images, task)`` and summarise host and device figures.

    Args:
        acc: An open Accelerator.
        images: The batch (each image any shape ``acc.run`` takes).
        task: A task name or ``"all"``.
        warmup: Run the first image once, untimed, before the batch (first-touch pages,
            tables).

    Returns:
        The :class:`ThroughputReport`.

    Raises:
        ValueError: The batch is empty.
    """
    if len(images) == 0:
        raise ValueError("the throughput batch is empty: pass --batch 1 or more")
    if warmup:
        acc.run(images[:1], task=task)
    acc.timings.reset()
    t0 = time.perf_counter()
    results = acc.run(images, task=task)
    wall = time.perf_counter() - t0
    t = acc.timings
    runs = max(t.runs, 1)
    profiles = [p for r in results for p in r.profiles.values()]
    cycles = float(np.mean([p.totals()["cycles"] for p in profiles])) if profiles else 0.0
    moved = float(np.mean([p.totals()["bytes"] for p in profiles])) if profiles else 0.0
    clock_mhz = acc.design.accel.clock_mhz
    device_s = cycles / (clock_mhz * 1e6)
    return ThroughputReport(
        backend=acc.backend.name, model=str(acc.design.manifest["model"]), task=task,
        batch=len(images), runs=t.runs, wall_s=wall, images_per_s=len(images) / wall,
        compute_ms_per_run=1e3 * t.compute / runs, host_ms_per_run=1e3 * t.host / runs,
        pack_ms_per_run=1e3 * t.pack / runs, sync_ms_per_run=1e3 * t.sync / runs,
        decode_ms_per_run=1e3 * t.decode / runs,
        host_overhead_pct=100 * t.host / t.compute if t.compute else 0.0,
        device_cycles_per_run=cycles, device_ms_per_run=1e3 * device_s,
        # only a real board's counter measures; golden, csim and the fake device model
        cycles_source=getattr(acc.backend, "cycles_source", "modelled"),
        dram_mb_per_s=moved / device_s / 1e6 if device_s else 0.0)
