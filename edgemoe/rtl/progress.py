"""Progress of a running RTL simulation: the bench writes ``{"job", "cycles"}`` to a file
every few thousand simulated cycles; a thread here polls it and reports changes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

#: Seconds between two polls of the progress file.
POLL_S = 0.5


class ProgressWatcher(threading.Thread):
    """Calls ``report(job, cycles)`` whenever the bench's progress file changes.

    Args:
        path: The file the bench replaces atomically.
        report: Receives the job index and the simulated cycles of that job.
    """

    def __init__(self, path: Path, report: Callable[[int, int], None]) -> None:
        super().__init__(daemon=True, name="rtlsim-progress")
        self.path = path
        self.report = report
        self._stop_event = threading.Event()
        self._last: tuple[int, int] | None = None

    def poll(self) -> None:
        """Read the file once and report a new value."""
        try:
            doc = json.loads(self.path.read_text())
            value = (int(doc["job"]), int(doc["cycles"]))
        except (OSError, ValueError, KeyError, TypeError):
            return  # not written yet
        if value != self._last:
            self._last = value
            self.report(*value)

    def run(self) -> None:
        while not self._stop_event.wait(POLL_S):
            self.poll()

    def stop(self) -> None:
        """End the thread (the last value is polled once more)."""
        self._stop_event.set()
        self.join(timeout=2 * POLL_S)
        self.poll()
