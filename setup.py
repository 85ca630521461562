"""Build hook: ship the top-level resource folders inside the wheel.

``configs/``, ``hls_templates/``, ``rtl_templates/``, ``sim/`` and ``notebooks/`` stay at
the repository root; ``build_py`` copies the files that ``edgemoe.resources`` lists into
``edgemoe/_resources/`` of the build, where an installed edgemoe finds them. Editable
installs skip the copy and read the repository folders. Everything else is in
pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _resources_module():
    """edgemoe/resources.py loaded by path (importing edgemoe would need numpy)."""
    spec = importlib.util.spec_from_file_location("_edgemoe_resources",
                                                  ROOT / "edgemoe" / "resources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithResources(build_py):
    """``build_py`` that also copies the resource folders under ``edgemoe/_resources``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        res = _resources_module()
        dest_root = Path(self.build_lib) / "edgemoe" / res.PACKAGED_DIR
        shutil.rmtree(dest_root, ignore_errors=True)  # this build's own copy: no stale files
        for folder, patterns in res.RESOURCE_FOLDERS.items():
            src = ROOT / folder
            files = sorted({p for pattern in patterns for p in src.glob(pattern) if p.is_file()})
            if not files:
                raise FileNotFoundError(f"no {patterns} files in {src}: build from a complete "
                                        "checkout or sdist")
            for path in files:
                dest = dest_root / folder / path.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)


setup(cmdclass={"build_py": BuildPyWithResources})
