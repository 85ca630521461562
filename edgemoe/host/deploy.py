"""Copy a deploy package plus the numpy-only runtime to a board (or a local folder).

Target layout (the notebook's folder is the working directory on the board, so
``import edgemoe`` finds the runtime without installing it)::

    <target>/edgemoe/                 the Python package (no __pycache__)
    <target>/configs/                 design points, models, boards
    <target>/bitstreams/<name>/       the package
    <target>/edgemoe_board.ipynb      the board notebook
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..params import config_dir
from ..resources import resource_dir
from .design import open_design
from .errors import HostError

log = logging.getLogger(__name__)

_REMOTE = re.compile(r"^(?:[^@/\s]+@)?[^:/\s]+:(.*)$")
# _resources: a wheel's copies; the board reads the configs/ deployed beside the runtime
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info", "_resources")


def is_remote(target: str) -> bool:
    """True for ``[user@]host:/path`` targets (scp syntax)."""
    return bool(_REMOTE.match(target)) and not Path(target).exists()


def runtime_root() -> Path:
    """Folder holding the ``edgemoe`` package and ``configs`` of this installation."""
    return Path(__file__).resolve().parents[2]


def stage(package: str | Path, staging: Path, notebook: Path | None = None) -> Path:
    """Lay out package + runtime + notebook under ``staging`` (see the module docstring)."""
    package = Path(package)
    root = runtime_root()
    shutil.copytree(root / "edgemoe", staging / "edgemoe", ignore=_IGNORE, dirs_exist_ok=True)
    shutil.copytree(config_dir(), staging / "configs", dirs_exist_ok=True)
    shutil.copytree(package, staging / "bitstreams" / package.name, dirs_exist_ok=True)
    nb = notebook if notebook is not None else resource_dir("notebooks") / "edgemoe_board.ipynb"
    if nb.is_file():
        shutil.copyfile(nb, staging / nb.name)
    else:
        log.warning("notebook %s not found: deploying without it", nb)
    return staging


def transfer_commands(staging: Path, target: str, *, have_rsync: bool) -> list[list[str]]:
    """Commands that copy ``staging``'s content to a remote ``[user@]host:/path``."""
    host, _, path = target.partition(":")
    mkdir = ["ssh", host, "mkdir", "-p", path or "."]
    if have_rsync:
        return [mkdir, ["rsync", "-a", "--exclude", "__pycache__", f"{staging}/", f"{target}/"]]
    items = sorted(str(p) for p in staging.iterdir())
    return [mkdir, ["scp", "-r", "-q", *items, f"{target}/"]]


def deploy(package: str | Path, target: str, *, notebook: Path | None = None,
           runner: Callable[[Sequence[str]], object] | None = None) -> list[list[str]]:
    """Check a package and copy it with the runtime to ``target``.

    Args:
        package: Deploy package directory (checked with :func:`open_design` first).
        target: A local directory, or ``[user@]host:/path`` (copied with rsync, else scp).
        notebook: Notebook to include (default ``notebooks/edgemoe_board.ipynb``).
        runner: Runs one command (default ``subprocess.run(cmd, check=True)``).

    Returns:
        The commands run (empty for a local target).

    Raises:
        PackageError: The package is incomplete or inconsistent.
        HostError: A copy command failed.
    """
    design = open_design(package)
    if design.bitfile is None:
        raise HostError(f"{package} is a compiled design, not a deploy package: assemble one "
                        "with `edgemoe package --bit F.bit --hwh F.hwh --design DIR --out DIR`")
    with tempfile.TemporaryDirectory(prefix="edgemoe_deploy_") as tmp:
        staging = stage(package, Path(tmp), notebook)
        if not is_remote(target):
            dest = Path(target)
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copytree(staging, dest, dirs_exist_ok=True)
            log.info("deployed %s to %s", Path(package).name, dest)
            return []
        commands = transfer_commands(staging, target, have_rsync=bool(shutil.which("rsync")))
        run = runner or (lambda cmd: subprocess.run(cmd, check=True))
        for cmd in commands:
            log.info("running: %s", " ".join(cmd))
            try:
                run(cmd)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise HostError(f"`{' '.join(cmd[:2])} ...` failed ({exc}): check that "
                                f"`ssh {target.partition(':')[0]}` works without a password "
                                "prompt (ssh-copy-id) and the path is writable") from None
        return commands
