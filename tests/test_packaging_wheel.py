"""The built wheel is self-contained: installed into a fresh venv, used from another folder."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from venvutil import make_venv, pip

from edgemoe.cli import main
from edgemoe.resources import BUILD_ROOT_ENV, RESOURCE_FOLDERS

pytestmark = [pytest.mark.unit, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # no build isolation: the dev set has setuptools >= 77, so nothing is downloaded
    proc = pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (found,) = dist.glob("edgemoe-*.whl")
    return found


def test_wheel_carries_every_resource_folder(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in RESOURCE_FOLDERS:
        assert any(n.startswith(f"edgemoe/_resources/{folder}/") for n in names), folder
    for rel in ("configs/boards.yaml", "configs/accel/kv260.yaml", "hls_templates/em_linear.hpp",
                "hls_templates/run_hls.tcl.j2", "rtl_templates/edgemoe_pkg.sv.j2",
                "sim/tb_top.py", "notebooks/edgemoe_board.ipynb"):
        assert f"edgemoe/_resources/{rel}" in names, rel
        packaged = zipfile.ZipFile(wheel).read(f"edgemoe/_resources/{rel}")
        assert packaged == (ROOT / rel).read_bytes(), f"{rel} differs from the repository"
    assert "edgemoe/data/street.png" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_wheel_generates_and_runs_from_another_folder(wheel, tmp_path):
    python = make_venv(tmp_path / "venv")
    proc = pip("install", "--no-deps", "--no-index", str(wheel), python=python)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exe = tmp_path / "venv" / "bin" / "edgemoe"
    work = tmp_path / "elsewhere"
    work.mkdir()

    # as a user runs it: no build folder set (a test worker sets one)
    env = {k: v for k, v in os.environ.items() if k != BUILD_ROOT_ENV}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), *args], cwd=work, capture_output=True, text=True,
                              timeout=300, check=False, env=env)

    where = subprocess.run([str(python), "-c", ("import edgemoe, edgemoe.params as p; "
                            "print(edgemoe.__file__); print(p.config_dir())")], cwd=work,
                           capture_output=True, text=True, check=True).stdout.split()
    assert Path(where[0]).is_relative_to(tmp_path / "venv"), where
    assert Path(where[1]) == Path(where[0]).parent / "_resources" / "configs"

    gen = run("generate", "--accel", "kv260", "--no-testbench")
    assert gen.returncode == 0, gen.stderr
    project = work / "build" / "kv260" / "hls"  # ./build of the current folder
    assert (project / "run_hls.tcl").is_file() and (project / "em_linear.hpp").is_file()
    assert "generated from kv260" in (project / "edgemoe_params.hpp").read_text()

    res = run("run", "--design", "tiny", "--model", "m3vit-micro", "--backend", "golden",
              "--task", "seg", "--out", "out")
    assert res.returncode == 0, res.stderr
    assert (work / "out" / "default_seg.png").is_file()
    # the installed copy computes the same bytes as this checkout
    assert main(["run", "--design", "tiny", "--model", "m3vit-micro", "--backend", "golden",
                 "--task", "seg", "--out", str(tmp_path / "here")]) == 0
    theirs, ours = np.load(work / "out" / "default.npz"), np.load(tmp_path / "here" / "default.npz")
    assert sorted(theirs.files) == sorted(ours.files) and theirs.files
    for key in ours.files:
        assert np.array_equal(theirs[key], ours[key]), key


def test_installed_wheel_deploys_runtime_configs_and_notebook(wheel, tmp_path):
    python = make_venv(tmp_path / "venv")
    assert pip("install", "--no-deps", "--no-index", str(wheel), python=python).returncode == 0
    work = tmp_path / "elsewhere"
    work.mkdir()
    script = ("from edgemoe.compiler import compile_model\n"
              "from edgemoe.host.fake_device import make_fake_package\n"
              "from edgemoe.params import load_accel, load_model\n"
              "a = load_accel('tiny')\n"
              "print(make_fake_package(compile_model(load_model('m3vit-micro'), a), a, '.'))\n")
    made = subprocess.run([str(python), "-c", script], cwd=work, capture_output=True,
                          text=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    dep = subprocess.run([str(tmp_path / "venv" / "bin" / "edgemoe"), "deploy", "--package",
                          made.stdout.strip(), "--target", "board"], cwd=work,
                         capture_output=True, text=True, timeout=300, check=False)
    assert dep.returncode == 0, dep.stderr
    board = work / "board"
    assert (board / "edgemoe_board.ipynb").read_bytes() == \
        (ROOT / "notebooks" / "edgemoe_board.ipynb").read_bytes()
    assert (board / "configs" / "accel" / "tiny.yaml").is_file()
    assert (board / "bitstreams" / "fake" / "fake.bit").is_file()
    assert not (board / "edgemoe" / "_resources").exists()  # one configs/ on the board
