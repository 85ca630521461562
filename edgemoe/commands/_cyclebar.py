"""A tqdm bar of simulated cycles: cycles done, cycles/s and ETA against an estimate."""

from __future__ import annotations

import threading


class CycleBar:
    """Progress of several RTL jobs run one after another.

    Args:
        estimates: Estimated cycles of each job (the bar's total is their sum).
        desc: Label of the bar.
    """

    def __init__(self, estimates: list[int], desc: str) -> None:
        self.offsets = [sum(estimates[:i]) for i in range(len(estimates))]
        self.total = sum(estimates)
        self.desc = desc
        self._lock = threading.Lock()
        self._bar = None

    def __enter__(self) -> CycleBar:  # noqa: PYI034 - Self needs Python 3.11
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, desc=self.desc, unit="cycle", unit_scale=True,
                         dynamic_ncols=True)
        return self

    def update(self, job: int, cycles: int) -> None:
        """Job ``job`` has simulated ``cycles`` cycles (called from the watcher thread)."""
        with self._lock:
            done = self.offsets[job] + cycles if job < len(self.offsets) else self.total
            bar = self._bar
            if bar is not None and done > bar.n:
                bar.update(done - bar.n)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
