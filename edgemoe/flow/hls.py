"""The ``hls`` and ``bitstream`` steps: run Vitis HLS / Vivado on a generated project.

Both need vendor tools.  When a tool is not on PATH they raise
:class:`~edgemoe.flow.aptypes.ToolNotFoundError` naming the missing tool and the
generated script to run by hand on a machine that has it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from .aptypes import ToolNotFoundError
from .generate import GeneratedProject, generate

__all__ = [
    "HLS_STEPS",
    "HlsRunError",
    "find_vitis",
    "find_vivado",
    "run_bitstream",
    "run_hls",
]

log = logging.getLogger(__name__)

#: Steps of run_hls.tcl, in order.
HLS_STEPS = ("csim", "csynth", "cosim", "export")


class HlsRunError(RuntimeError):
    """A vendor tool ran and failed (the message names the log to read)."""


def find_vitis() -> list[str] | None:
    """Command prefix running run_hls.tcl: ``vitis-run --mode hls --tcl`` or ``vitis_hls -f``."""
    if shutil.which("vitis-run"):
        return [shutil.which("vitis-run"), "--mode", "hls", "--tcl"]
    if shutil.which("vitis_hls"):
        return [shutil.which("vitis_hls"), "-f"]
    return None


def find_vivado() -> str | None:
    """Path of ``vivado`` when it is on PATH."""
    return shutil.which("vivado")


def _run(cmd: list[str], cwd: Path, log_name: str, env: dict | None = None) -> None:
    log_path = cwd / log_name
    log.info("running %s in %s (log: %s)", " ".join(cmd), cwd, log_path)
    with open(log_path, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            log.info("%s", line.rstrip())
        code = proc.wait()
    if code != 0:
        raise HlsRunError(f"{cmd[0]} exited with {code}; see {log_path}")


def run_hls(accel, build_root: Path | str | None = None, steps: tuple[str, ...] = HLS_STEPS,
            project: GeneratedProject | None = None) -> GeneratedProject:
    """Generate the project (unless given) and run ``run_hls.tcl`` with Vitis HLS.

    Args:
        accel: AccelConfig.
        build_root: build folder (default ``build/``).
        steps: subset of :data:`HLS_STEPS`.
        project: an already generated project.

    Raises:
        ConfigError: the design point does not fit its board.
        ToolNotFoundError: neither ``vitis-run`` nor ``vitis_hls`` is on PATH.
        HlsRunError: Vitis HLS failed.
    """
    unknown = set(steps) - set(HLS_STEPS)
    if unknown:
        raise ValueError(f"unknown HLS steps {sorted(unknown)}; choose from {HLS_STEPS}")
    project = project or generate(accel, build_root=build_root)
    cmd = find_vitis()
    if cmd is None:
        raise ToolNotFoundError(
            "Vitis HLS not found: neither vitis-run nor vitis_hls is on PATH. The project is "
            f"generated; on a machine with Vitis run `vitis-run --mode hls --tcl run_hls.tcl` "
            f"(or `vitis_hls -f run_hls.tcl`) in {project.out_dir}")
    env = dict(os.environ, EDGEMOE_HLS_STEPS=" ".join(steps))
    _run([*cmd, "run_hls.tcl"], project.out_dir, "vitis_hls_run.log", env)
    return project


def run_bitstream(accel, build_root: Path | str | None = None,
                  project: GeneratedProject | None = None) -> tuple[Path, Path]:
    """Run the Vivado block design (``bd.tcl``) on an exported HLS IP.

    Returns:
        Paths of ``<name>.bit`` and ``<name>.hwh``.

    Raises:
        ToolNotFoundError: ``vivado`` is not on PATH.
        HlsRunError: the HLS IP was not exported yet, or Vivado failed.
    """
    project = project or generate(accel, build_root=build_root)
    vivado = find_vivado()
    if vivado is None:
        raise ToolNotFoundError(
            "Vivado not found on PATH. On a machine with Vivado, after `edgemoe hls`, run "
            f"`vivado -mode batch -source bd.tcl` in {project.out_dir}")
    from ..codegen import project_name

    ip = project.out_dir / project_name(accel) / "solution1" / "impl" / "ip"
    if not ip.is_dir():
        raise HlsRunError(f"no exported HLS IP at {ip}: run `edgemoe hls --accel {accel.name}` "
                          "first")
    _run([vivado, "-mode", "batch", "-source", "bd.tcl", "-tclargs", str(ip)], project.out_dir,
         "vivado_bd.log")
    bit, hwh = project.out_dir / f"{accel.name}.bit", project.out_dir / f"{accel.name}.hwh"
    for p in (bit, hwh):
        if not p.is_file():
            raise HlsRunError(f"Vivado finished but {p} is missing; see "
                              f"{project.out_dir / 'vivado_bd.log'}")
    return bit, hwh
