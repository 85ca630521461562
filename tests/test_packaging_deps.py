"""Dependency ranges: the board set resolves where PYNQ images are; constraints.txt pins them.

PYNQ v3.0 images run Python 3.10 with numpy 1.x and pynq 3.0.x on aarch64 (Zynq
UltraScale+). PyPI ships pynq and its helpers (pynqmetadata, pynqutils) only as source
distributions, which pip cannot consider for a foreign platform, and the images carry them
preinstalled: so the aarch64 check resolves the rest of the board set as wheels, and a
second check resolves the whole set with pynq 3.0.x on this machine.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from venvutil import offline, pip

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
#: Distributions PyPI has only as sdists and PYNQ images preinstall.
IMAGE_PROVIDED = {"pynq"}
#: Versions of pynq the board set must admit (PYNQ v3.0 images; current PyPI).
PYNQ_VERSIONS = ("3.0.1", "4.0.0")
BOARD_ENV = {"extra": "board", "python_version": "3.10", "python_full_version": "3.10.12",
             "platform_machine": "aarch64", "sys_platform": "linux"}


def requirement_set(*extras: str, env: dict | None = None) -> list[Requirement]:
    """edgemoe's core requirements plus those of ``extras`` (from the installed metadata)."""
    out = []
    for text in importlib.metadata.requires("edgemoe") or []:
        req = Requirement(text)
        if req.marker is None or any(
                req.marker.evaluate({**(env or {}), "extra": e}) for e in extras):
            out.append(req)
    return out


def _plain(req: Requirement) -> str:
    """The requirement without its marker (pip would drop an ``extra == ...`` line)."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def _report(proc) -> dict[str, str]:
    return {item["metadata"]["name"].lower(): item["metadata"]["version"]
            for item in json.loads(proc.stdout)["install"]}


def _resolve(*args: str) -> dict[str, str]:
    proc = pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", *args)
    if offline(proc):
        pytest.fail(f"pip cannot reach a package index ({proc.stderr.strip().splitlines()[-1]}):"
                    " make test needs PyPI (or a mirror in pip's config), as make setup does")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _report(proc)


def test_board_set_admits_pynq_3_0_and_4():
    board = {r.name: r for r in requirement_set("board", env=BOARD_ENV)}
    for version in PYNQ_VERSIONS:
        assert board["pynq"].specifier.contains(version), (board["pynq"], version)
    numpy = [r.specifier for r in requirement_set("board", env=BOARD_ENV) if r.name == "numpy"]
    assert all(s.contains("1.26.4") for s in numpy)  # PYNQ images: numpy 1.x
    assert not all(s.contains("2.0.0") for s in numpy)  # pynq 4 needs numpy < 2


def test_board_set_resolves_as_aarch64_wheels_for_python_3_10():
    reqs = [_plain(r) for r in requirement_set("board", env=BOARD_ENV)
            if r.name not in IMAGE_PROVIDED]
    got = _resolve("--python-version", "3.10", "--platform", "manylinux2014_aarch64",
                   "--only-binary", ":all:", *reqs)
    assert Version(got["numpy"]).major == 1, got["numpy"]
    for name in ("numpy", "pyyaml", "jinja2", "matplotlib", "pillow", "safetensors", "tqdm"):
        assert name in got, f"{name} missing from the resolution {got}"


@pytest.mark.slow
def test_board_set_resolves_with_pynq_3_0():
    """pynq 3.0.x is an sdist: pip builds its metadata, so this resolves on this machine."""
    reqs = [_plain(r) for r in requirement_set("board") if r.name not in IMAGE_PROVIDED]
    got = _resolve(*reqs, "pynq>=3.0,<3.1")
    assert got["pynq"].startswith("3.0."), got["pynq"]
    assert Version(got["numpy"]).major == 1, got["numpy"]


def test_constraints_pin_every_requirement_within_its_range():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"constraints.txt: {line} is not an exact pin"
            pins[req.name.lower().replace("_", "-")] = spec.version
    for req in requirement_set("sim", "csim", "board", "dev", "torch"):
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"constraints.txt lacks a pin for {req}"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]} outside {req}"
    for req in requirement_set():
        assert not any(s.operator == "==" for s in req.specifier), f"core pin {req}: use a range"
