"""Per-instruction profile read from the device's status block.

After a run, the status block holds one 64-byte entry per instruction (fields
:data:`edgemoe.layout.PROFILE_FIELDS`: cycles, MACs, bytes read/written, weight bytes,
active experts, overflows).  :class:`Profile` turns it into a per-op table, totals and a
plot.

Cycles are *measured* when a hardware counter wrote them (the board, RTL simulation) and
*modelled* when the executor wrote the cycle model's ideal count (golden, C-sim, the fake
device); every table and plot says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..isa import Instr, Op
from ..layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES

#: Where profile cycles come from: a hardware counter, or the ideal-cycle model.
CYCLE_SOURCES = ("measured", "modelled")


@dataclass(frozen=True)
class OpProfile:
    """Counters of one executed instruction."""

    index: int
    name: str
    op: str
    cycles: int
    macs: int
    bytes_read: int
    bytes_written: int
    weight_bytes: int
    experts_active: int
    overflows: int = 0  # values that wrapped or saturated when stored (layout.PROFILE_FIELDS)

    @property
    def bytes(self) -> int:
        """Bytes moved (read + written)."""
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class Profile:
    """The profile of one run (one image, one task).

    Attributes:
        task: Task name.
        entries: Instructions that ran for this task, in program order.
        clock_mhz: Kernel clock used to convert cycles to time.
        cycles_source: ``measured`` (hardware counter) or ``modelled`` (cycle model).
    """

    task: str
    entries: tuple[OpProfile, ...]
    clock_mhz: float
    cycles_source: str = "modelled"

    @classmethod
    def from_memory(cls, memory: np.ndarray, status_offset: int, instrs: tuple[Instr, ...],
                    names: tuple[str, ...], task: str, task_index: int,
                    clock_mhz: float, cycles_source: str = "modelled",
                    first: int = 0) -> Profile:
        """Decode the profile entries written by a run of task ``task_index``.

        ``cycles_source`` says whether the executor measured its cycles or modelled them;
        ``first``: the run started at that instruction (a task reusing the shared prefix),
        so its entries are those of ``instrs[first:]``.
        """
        if cycles_source not in CYCLE_SOURCES:
            raise ValueError(f"cycles_source {cycles_source!r} is not one of {CYCLE_SOURCES}")
        base = status_offset + STATUS_BYTES
        n = len(instrs) - first
        raw = np.asarray(memory[base:base + n * PROFILE_ENTRY_BYTES]).view("<u8")
        raw = raw.reshape(n, PROFILE_ENTRY_BYTES // 8)
        col = {f: i for i, f in enumerate(PROFILE_FIELDS)}
        entries = []
        for i, ins in enumerate(instrs[first:], first):
            if not ins.runs_for(task_index) or ins.op == Op.NOP:
                continue
            row = raw[i - first]
            entries.append(OpProfile(
                i, names[i], Op(ins.op).name, int(row[col["cycles"]]), int(row[col["macs"]]),
                int(row[col["bytes_read"]]), int(row[col["bytes_written"]]),
                int(row[col["weight_bytes"]]), int(row[col["experts_active"]]),
                int(row[col["overflows"]])))
        return cls(task, tuple(entries), float(clock_mhz), cycles_source)

    # -- aggregates ------------------------------------------------------------------------
    def overflowed(self) -> tuple[OpProfile, ...]:
        """Instructions that stored at least one wrapped or saturated value."""
        return tuple(e for e in self.entries if e.overflows)

    def totals(self) -> dict[str, float]:
        """Sums over all entries plus the latency in microseconds."""
        cycles = sum(e.cycles for e in self.entries)
        return {"cycles": cycles, "macs": sum(e.macs for e in self.entries),
                "bytes": sum(e.bytes for e in self.entries),
                "weight_bytes": sum(e.weight_bytes for e in self.entries),
                "latency_us": cycles / self.clock_mhz}

    def by_op(self) -> dict[str, dict[str, int]]:
        """Cycles, MACs, bytes and count per opcode, largest cycle count first."""
        out: dict[str, dict[str, int]] = {}
        for e in self.entries:
            agg = out.setdefault(e.op, {"count": 0, "cycles": 0, "macs": 0, "bytes": 0})
            agg["count"] += 1
            agg["cycles"] += e.cycles
            agg["macs"] += e.macs
            agg["bytes"] += e.bytes
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["cycles"]))

    def table(self) -> str:
        """Per-instruction table (MACs, bytes, cycles, time, share) with a total row."""
        tot = self.totals()
        all_cycles = max(int(tot["cycles"]), 1)
        width = max([len(e.name) for e in self.entries] + [4])
        head = (f"{'#':>3}  {'name':<{width}}  {'op':<11} {'MACs':>12} {'bytes':>11} "
                f"{'cycles':>11} {'us':>9} {'share':>6}")
        title = f"profile of task {self.task} at {self.clock_mhz:g} MHz ({self.cycles_source} cycles)"
        lines = [title, head, "-" * len(head)]
        for e in self.entries:
            lines.append(f"{e.index:>3}  {e.name:<{width}}  {e.op:<11} {e.macs:>12,} "
                         f"{e.bytes:>11,} {e.cycles:>11,} {e.cycles / self.clock_mhz:>9.1f} "
                         f"{100 * e.cycles / all_cycles:>5.1f}%")
        lines.append("-" * len(head))
        lines.append(f"{'':>3}  {'total':<{width}}  {'':<11} {int(tot['macs']):>12,} "
                     f"{int(tot['bytes']):>11,} {int(tot['cycles']):>11,} "
                     f"{tot['latency_us']:>9.1f} {100.0:>5.1f}%")
        return "\n".join(lines)

    def figure(self, title: str = ""):
        """A matplotlib Figure: latency per instruction (coloured by op) and share per op.

        Built without pyplot, so it neither needs nor changes a GUI backend; Jupyter shows
        the returned Figure inline.
        """
        import matplotlib
        from matplotlib.figure import Figure

        ops = sorted({e.op for e in self.entries})
        cmap = matplotlib.colormaps["tab10"]
        colours = {op: cmap(i % 10) for i, op in enumerate(ops)}
        fig = Figure(figsize=(12, max(3.0, 0.22 * len(self.entries))))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
        us = [e.cycles / self.clock_mhz for e in self.entries]
        y = np.arange(len(self.entries))
        ax1.barh(y, us, color=[colours[e.op] for e in self.entries])
        ax1.set_yticks(y, [e.name for e in self.entries], fontsize=7)
        ax1.invert_yaxis()
        ax1.set_xlabel(f"latency (us, {self.cycles_source})")
        ax1.set_title(title or f"{self.task}: {self.totals()['latency_us']:.1f} us per image "
                      f"({self.cycles_source})")
        agg = self.by_op()
        total = max(sum(v["cycles"] for v in agg.values()), 1)
        shares = [100 * v["cycles"] / total for v in agg.values()]
        y2 = np.arange(len(agg))
        ax2.barh(y2, shares, color=[colours[k] for k in agg])
        ax2.set_yticks(y2, list(agg), fontsize=8)
        ax2.invert_yaxis()
        for yy, share in zip(y2, shares):
            ax2.text(share, yy, f" {share:.1f}%", va="center", fontsize=7)
        ax2.set_xlim(0, 115)
        ax2.set_xlabel(f"share of {self.cycles_source} cycles (%)")
        ax2.set_title("by op")
        fig.tight_layout()
        return fig

    def plot(self, path: str | Path, title: str = "") -> Path:
        """Write :meth:`figure` as a PNG."""
        out = Path(path)
        self.figure(title).savefig(out, dpi=100)
        return out
