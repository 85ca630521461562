"""Throw-away virtual environments for packaging tests, kept fast.

A new venv is made without pip; the running interpreter's pip installs into it
(``pip --python``), and a ``.pth`` file appends this environment's site-packages after
the venv's own, so already installed dependencies are reused instead of downloaded
(packages installed into the venv itself still win).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

#: Exit text pip prints when it cannot reach an index (the tests skip on it).
OFFLINE_HINTS = ("Could not fetch URL", "NewConnectionError", ("Failed to establish a new "
                 "connection"), "Temporary failure in name resolution", "Network is unreachable")


def pip(*args: str, python: str | Path | None = None, timeout: float = 600) -> \
        subprocess.CompletedProcess:
    """Run this interpreter's pip (targeting ``python`` when given); never raises on failure."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    if python is not None:
        cmd += ["--python", str(python)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def offline(proc: subprocess.CompletedProcess) -> bool:
    """True when a failed pip run failed for want of a package index."""
    text = proc.stdout + proc.stderr
    return proc.returncode != 0 and any(hint in text for hint in OFFLINE_HINTS)


def make_venv(path: Path) -> Path:
    """A venv at ``path`` that sees this environment's packages after its own.

    Returns:
        The venv's python executable.
    """
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=os.name != "nt").create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", ("import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])")], capture_output=True,
                             text=True, check=True).stdout.strip()
    parents = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    # plain path lines: the parent's own .pth hooks (e.g. an editable edgemoe) stay off
    Path(purelib, "zz_parent_env.pth").write_text("".join(f"{p}\n" for p in parents))
    return python
