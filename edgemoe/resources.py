"""Where the non-Python files edgemoe reads at run time live: one lookup for all of them.

The top-level folders ``configs/``, ``hls_templates/``, ``rtl_templates/``, ``sim/`` and
``notebooks/`` stay at the repository root (the design card names them there).  A built
wheel carries copies under ``edgemoe/_resources/<folder>`` (copied by ``setup.py`` at
build time, see :data:`RESOURCE_FOLDERS`).  A clone or an editable install has no such
copies and reads the folders beside the package (the repository's, or the ``configs/`` that
``edgemoe deploy`` puts beside the runtime on a board), so edits show up without
reinstalling.

This module imports nothing from edgemoe: ``setup.py`` loads it by path.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = [
    "BUILD_ROOT_ENV",
    "PACKAGED_DIR",
    "RESOURCE_FOLDERS",
    "ResourceError",
    "default_build_root",
    "resource_dir",
]

#: Repository folders shipped in the wheel -> file patterns copied (relative, glob).
RESOURCE_FOLDERS: dict[str, tuple[str, ...]] = {
    "configs": ("*.yaml", "*/*.yaml"),
    "hls_templates": ("*.hpp", "*.j2"),
    "rtl_templates": ("*.sv", "*.j2"),
    "sim": ("*.py", "hdl/*.sv"),
    "notebooks": ("*.ipynb",),
}
#: Folder inside the ``edgemoe`` package that holds the wheel's copies.
PACKAGED_DIR = "_resources"


class ResourceError(FileNotFoundError):
    """A resource folder is missing from this installation (names it and the fix)."""


def resource_dir(name: str) -> Path:
    """The folder holding resource ``name`` (a key of :data:`RESOURCE_FOLDERS`).

    Returns:
        ``edgemoe/_resources/<name>`` of an installed wheel, else ``<name>/`` beside the
        ``edgemoe`` package folder (a clone, an editable install, a deployed runtime).

    Raises:
        KeyError: ``name`` is not a resource folder.
        ResourceError: Neither location exists (a broken installation).
    """
    if name not in RESOURCE_FOLDERS:
        raise KeyError(f"{name!r} is not a resource folder; allowed: "
                       f"{', '.join(RESOURCE_FOLDERS)}")
    packaged = resources.files(__package__ or "edgemoe") / PACKAGED_DIR / name
    # wheels install unpacked, so the Traversable of a regular package is a real folder
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    beside = Path(__file__).resolve().parent.parent / name
    if beside.is_dir():
        return beside
    raise ResourceError(f"edgemoe's {name}/ folder is missing: neither {packaged} nor "
                        f"{beside} exists; reinstall edgemoe from its wheel or use a clone")


#: Environment variable that moves the default build folder (Verilator models, C-sim
#: libraries, rendered RTL, Yosys runs) elsewhere, e.g. one per parallel test worker.
BUILD_ROOT_ENV = "EDGEMOE_BUILD_ROOT"


def default_build_root() -> Path:
    """Where every step writes unless given ``--out``: ``$EDGEMOE_BUILD_ROOT`` when set,
    else ``build/`` of the current folder."""
    env = os.environ.get(BUILD_ROOT_ENV)
    return Path(env) if env else Path.cwd() / "build"
