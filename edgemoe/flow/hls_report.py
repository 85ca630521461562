"""Read Vitis HLS's synthesis report (``csynth.xml``) and co-simulation report
(``<top>_cosim.rpt``) into plain data: latency, interval, II and trip count per loop, and
LUT/FF/DSP/BRAM/URAM use (the same resources ``edgemoe synth`` reports for the RTL).

csynth.xml (``<solution>/syn/report/csynth.xml``): ``UserAssignments`` (part, top, target
clock), ``PerformanceEstimates`` (``SummaryOfTimingAnalysis/EstimatedClockPeriod``,
``SummaryOfOverallLatency/{Best,Worst}-caseLatency``, ``Interval-min/max``,
``SummaryOfLoopLatency`` with one element per loop label, nested for inner loops, holding
``TripCount``, ``Latency``, ``PipelineII``, ``PipelineDepth``) and ``AreaEstimates/
Resources`` (``BRAM_18K``, ``DSP`` or older ``DSP48E``, ``FF``, ``LUT``, ``URAM``).  Vitis
writes ``undef`` or ``-`` where it cannot bound a figure; those read as None.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CosimReport", "HlsReport", "HlsReportError", "LoopReport", "find_reports",
           "parse_cosim_report", "parse_csynth_xml"]


class HlsReportError(ValueError):
    """A report file is missing or not in the documented format (message names which)."""


@dataclass(frozen=True)
class LoopReport:
    """One loop of the synthesis report (``depth`` 0 = outermost)."""

    name: str
    depth: int
    trip_count: int | None
    latency: int | None
    ii: int | None
    pipeline_depth: int | None


@dataclass(frozen=True)
class CosimReport:
    """The RTL co-simulation result of one HDL (latency/interval in clock cycles)."""

    rtl: str
    status: str
    latency_min: int | None
    latency_avg: int | None
    latency_max: int | None
    interval_min: int | None
    interval_max: int | None


@dataclass(frozen=True)
class HlsReport:
    """What Vitis HLS reported for one solution.

    Attributes:
        top: top function.
        part: target part.
        target_ns: requested clock period.
        estimated_ns: estimated clock period after scheduling.
        latency_best, latency_worst: top latency in cycles (None: not bounded).
        interval_min, interval_max: initiation interval of the top in cycles.
        resources: ``lut``, ``ff``, ``dsp``, ``bram36`` (BRAM_18K halves, rounded up),
            ``uram`` as used by the design.
        loops: every loop in report order.
        cosim: the co-simulation result, when its report was given.
    """

    top: str
    part: str
    target_ns: float | None
    estimated_ns: float | None
    latency_best: int | None
    latency_worst: int | None
    interval_min: int | None
    interval_max: int | None
    resources: dict[str, int]
    loops: tuple[LoopReport, ...]
    cosim: CosimReport | None = None

    def measured(self) -> dict[str, int]:
        """Resource counts in the form :meth:`AccelConfig.fit_report` takes."""
        return dict(self.resources)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if re.fullmatch(r"\d+", text) else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _text(root: ET.Element, path: str, where: Path, required: bool = True) -> str | None:
    node = root.find(path)
    if node is None or node.text is None:
        if required:
            raise HlsReportError(f"{where}: no <{path}> element; is this a Vitis HLS csynth.xml "
                                 "(<solution>/syn/report/csynth.xml)?")
        return None
    return node.text.strip()


def _trip_count(loop: ET.Element) -> int | None:
    """A fixed trip count, or the maximum of a ``<range>`` (variable-bound loops)."""
    node = loop.find("TripCount")
    if node is None:
        return None
    return _int(node.findtext("range/max")) if node.find("range") is not None else _int(node.text)


def _loops(node: ET.Element, depth: int = 0) -> list[LoopReport]:
    out = []
    for child in node:
        if child.find("TripCount") is None and child.find("Latency") is None:
            continue  # <unit> and other scalar fields
        out.append(LoopReport(
            name=(child.findtext("Name") or child.tag).strip(), depth=depth,
            trip_count=_trip_count(child),
            latency=_int(child.findtext("Latency")), ii=_int(child.findtext("PipelineII")),
            pipeline_depth=_int(child.findtext("PipelineDepth"))))
        out += _loops(child, depth + 1)
    return out


def parse_csynth_xml(path: Path | str, cosim: Path | str | None = None) -> HlsReport:
    """Read a ``csynth.xml`` (and optionally a ``<top>_cosim.rpt``).

    Raises:
        HlsReportError: a file is missing, is not XML, or lacks a documented element.
    """
    path = Path(path)
    if not path.is_file():
        raise HlsReportError(f"{path} does not exist; run `edgemoe hls --accel NAME --steps "
                             "csynth` first")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise HlsReportError(f"{path} is not well-formed XML ({exc}); rerun csynth") from None
    res = root.find("AreaEstimates/Resources")
    if res is None:
        raise HlsReportError(f"{path}: no <AreaEstimates/Resources>; is this a Vitis HLS "
                             "csynth.xml?")
    counts = {child.tag: _int(child.text) or 0 for child in res}
    resources = {"lut": counts.get("LUT", 0), "ff": counts.get("FF", 0),
                 "dsp": counts.get("DSP", counts.get("DSP48E", 0)),
                 "bram36": math.ceil(counts.get("BRAM_18K", 0) / 2),
                 "uram": counts.get("URAM", 0)}
    perf = "PerformanceEstimates/"
    loops_node = root.find(perf + "SummaryOfLoopLatency")
    return HlsReport(
        top=_text(root, "UserAssignments/TopModelName", path) or "",
        part=_text(root, "UserAssignments/Part", path) or "",
        target_ns=_float(_text(root, "UserAssignments/TargetClockPeriod", path, False)),
        estimated_ns=_float(_text(root, perf + "SummaryOfTimingAnalysis/EstimatedClockPeriod",
                                  path, False)),
        latency_best=_int(_text(root, perf + "SummaryOfOverallLatency/Best-caseLatency", path)),
        latency_worst=_int(_text(root, perf + "SummaryOfOverallLatency/Worst-caseLatency",
                                 path)),
        interval_min=_int(_text(root, perf + "SummaryOfOverallLatency/Interval-min", path,
                                False)),
        interval_max=_int(_text(root, perf + "SummaryOfOverallLatency/Interval-max", path,
                                False)),
        resources=resources,
        loops=tuple(_loops(loops_node)) if loops_node is not None else (),
        cosim=parse_cosim_report(cosim) if cosim is not None else None)


def parse_cosim_report(path: Path | str) -> CosimReport:
    """The first HDL row with a result (``Pass``/``Fail``) of a ``<top>_cosim.rpt``.

    Raises:
        HlsReportError: the file is missing or has no result row.
    """
    path = Path(path)
    if not path.is_file():
        raise HlsReportError(f"{path} does not exist; run `edgemoe hls --accel NAME --steps "
                             "csynth cosim` first")
    for line in path.read_text(errors="replace").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0] in ("Verilog", "VHDL") and cells[1] != "NA":
            return CosimReport(cells[0], cells[1], _int(cells[2]), _int(cells[3]),
                               _int(cells[4]), _int(cells[5]), _int(cells[7]))
    raise HlsReportError(f"{path}: no Verilog/VHDL result row; did co-simulation run?")


def find_reports(solution: Path | str, top: str) -> tuple[Path, Path | None]:
    """``csynth.xml`` and (when present) the co-simulation report of a solution folder."""
    solution = Path(solution)
    cosim = solution / "sim" / "report" / f"{top}_cosim.rpt"
    return solution / "syn" / "report" / "csynth.xml", cosim if cosim.is_file() else None
