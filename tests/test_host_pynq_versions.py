"""The pynq driver works on pynq 3.0 (PYNQ v3.0 images) and 4.x, through public API only.

The fake-device suite (test_host_pynq.py) runs under each pynq version: the installed one
directly, any other in a venv that holds only that pynq (``--no-deps``) and borrows every
other package from this environment. The venv is cached under build/test-cache.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from venvutil import make_venv, offline, pip

pytestmark = [pytest.mark.golden, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "test-cache"
PYNQ_VERSIONS = ("3.0.1", "4.0.0")
DRIVER_FILES = ("edgemoe/host/pynq_driver.py", "edgemoe/host/pynq_backend.py")


def _python_with_pynq(version: str) -> Path:
    if importlib.metadata.version("pynq") == version:
        return Path(sys.executable)
    home = CACHE / f"pynq-{version}"
    stamp = home / "edgemoe-stamp.txt"
    key = f"{sys.executable} {sys.version}"
    if stamp.is_file() and stamp.read_text() == key:
        return home / "bin" / "python"
    python = make_venv(home)
    proc = pip("install", "--no-deps", f"pynq=={version}", python=python)
    if offline(proc):
        pytest.fail(f"pip cannot reach a package index to fetch pynq {version}: make test "
                    "needs PyPI (or a mirror in pip's config), as make setup does")
    assert proc.returncode == 0, proc.stderr[-3000:]
    stamp.write_text(key)
    return python


@pytest.mark.parametrize("version", PYNQ_VERSIONS)
def test_fake_device_suite_passes_on_pynq(version):
    python = _python_with_pynq(version)
    probe = subprocess.run([str(python), "-c", "import pynq; print(pynq.__version__)"],
                           capture_output=True, text=True, check=False, cwd=ROOT)
    assert probe.stdout.strip() == version, probe.stderr
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_host_pynq.py"], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False)
    tail = proc.stdout.strip().splitlines()[-1:]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert tail and " passed" in tail[0] and "failed" not in tail[0], tail


def _own_attributes(tree: ast.Module) -> set[str]:
    """Names our code defines: functions/methods and attributes assigned on ``self``."""
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if isinstance(el, ast.Attribute):
                    names.add(el.attr)
    return names


@pytest.mark.parametrize("path", DRIVER_FILES)
def test_driver_touches_no_private_pynq_attribute(path):
    tree = ast.parse((ROOT / path).read_text())
    own = _own_attributes(tree)
    private = sorted({n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                      and n.attr.startswith("_") and not n.attr.startswith("__")} - own)
    assert private == [], f"{path} uses pynq's private attributes {private}"
