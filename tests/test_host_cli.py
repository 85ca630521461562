"""`edgemoe run|package|deploy`, the board notebook and the host benchmark."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.compiler.io import read_output, write_pixels
from edgemoe.golden import execute
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.host.hwh import write_hwh
from edgemoe.models import load_default_image, random_weights, save_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "edgemoe_board.ipynb"
PNG = b"\x89PNG\r\n\x1a\n"


def _golden_outputs(model, accel, weights, pixels):
    c = compile_model(model, accel, weights)
    out = {}
    for task in ("seg", "depth"):
        image = c.fresh_image()
        write_pixels(image, c.manifest, pixels)
        assert execute(image, accel, c.program_offset, c.n_instructions,
                       c.manifest["outputs"][task]["task_index"], c.status_offset) == 0
        out[task] = read_output(image, c.manifest, task)
    return out


def test_run_compiles_and_writes_outputs(tmp_path, capsys):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 11)
    save_weights(weights, tmp_path / "w.npz")
    from PIL import Image

    rgb = np.random.default_rng(1).integers(0, 256, (64, 128, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "scene.png")
    out = tmp_path / "out"
    rc = main(["run", "--design", "tiny", "--model", "m3vit-micro", "--weights",
               str(tmp_path / "w.npz"), "--image", str(tmp_path / "scene.png"), "--task", "all",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "task seg:" in text and "task depth:" in text and "MOE_EXPERTS" in text
    for name in ("scene_seg.png", "scene_depth.png"):
        assert (out / name).read_bytes()[:8] == PNG
    saved = np.load(out / "scene.npz")
    pixels = rgb.transpose(2, 0, 1).reshape(3, 32, 2, 64, 2).astype(int).sum(axis=(2, 4))
    want = _golden_outputs(model, accel, weights, ((pixels + 2) // 4).astype(np.uint8))
    for task in ("seg", "depth"):
        assert np.array_equal(saved[f"{task}_output"], want[task])
    assert np.array_equal(saved["seg_prediction"], want["seg"].argmax(-1))


def test_run_profile_on_a_saved_design(tmp_path, capsys):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    design = compile_model(model, accel).save(tmp_path / "design")
    rc = main(["run", "--design", str(design), "--task", "depth", "--profile",
               "--out", str(tmp_path / "o")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "profile of task depth" in text and "total" in text and "heads.seg" not in text
    assert (tmp_path / "o" / "profile_depth.png").read_bytes()[:8] == PNG
    assert (tmp_path / "o" / "default_depth.png").is_file()
    assert main(["run", "--design", str(design), "--model", "m3vit-tiny", "--out",
                 str(tmp_path / "o")]) == 2
    assert "holds model 'm3vit-micro', not 'm3vit-tiny'" in capsys.readouterr().err


def test_package_and_deploy_commands(tmp_path, capsys):
    accel = load_accel("tiny")
    design = compile_model(load_model("m3vit-micro"), accel).save(tmp_path / "design")
    (tmp_path / "b.bit").write_bytes(b"bits")
    write_hwh(tmp_path / "b.hwh")
    pkg = tmp_path / "bitstreams" / "tiny_zcu102"
    assert main(["package", "--bit", str(tmp_path / "b.bit"), "--hwh", str(tmp_path / "b.hwh"),
                 "--design", str(design), "--out", str(pkg)]) == 0
    assert (pkg / "tiny_zcu102.bit").read_bytes() == b"bits"
    assert main(["deploy", "--package", str(pkg), "--target", str(tmp_path / "board")]) == 0
    assert (tmp_path / "board" / "bitstreams" / "tiny_zcu102" / "buildinfo.json").is_file()
    (pkg / "tiny_zcu102.hwh").unlink()
    assert main(["deploy", "--package", str(pkg), "--target", str(tmp_path / "b2")]) == 2
    assert "tiny_zcu102.hwh is missing" in capsys.readouterr().err
    assert main(["run", "--package", str(tmp_path / "board" / "bitstreams" / "tiny_zcu102"),
                 "--task", "seg", "--out", str(tmp_path / "o")]) == 0


def test_notebook_is_valid_and_current():
    data = json.loads(NOTEBOOK.read_text())
    assert data["nbformat"] == 4 and data["nbformat_minor"] >= 5
    assert data["metadata"]["kernelspec"]["language"] == "python"
    ids = [c["id"] for c in data["cells"]]
    assert len(set(ids)) == len(ids)
    for cell in data["cells"]:
        assert cell["cell_type"] in ("markdown", "code") and isinstance(cell["source"], list)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            ast.parse("".join(cell["source"]))
    out = subprocess.run([sys.executable, str(ROOT / "notebooks" / "make_notebook.py")],
                         capture_output=True, text=True, cwd=ROOT / "notebooks", check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(NOTEBOOK.read_text()) == data, "regenerate: python notebooks/make_notebook.py"


def test_notebook_runs_on_the_fake_board(tmp_path):
    """Execute every code cell, with the settings cell pointing at a fake device."""
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    package = make_fake_package(compile_model(model, accel), accel, tmp_path)
    device = FakeDevice(accel)
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert "BACKEND" in "".join(cells[0]["source"])
    ns: dict = {}
    settings = "".join(cells[0]["source"])
    settings = settings.replace('Path("bitstreams")', f'Path({str(tmp_path / "bitstreams")!r})')
    exec(settings, ns)  # noqa: S102 - the notebook's own cells
    assert ns["PACKAGE"] == package
    ns.update(OPTIONS={"device": device, "timeout_s": 5.0}, BATCH=3)
    for cell in cells[1:]:
        exec("".join(cell["source"]), ns)  # noqa: S102
    assert ns["acc"].backend.name == "pynq"
    assert ns["result"].predictions["seg"].shape == (32, 64)
    assert ns["fig"].axes[1].get_title() == "segmentation"
    assert ns["t"].runs == 3
    assert device.live_buffers == []
    gold = _golden_outputs(model, accel, None, load_default_image(model))
    assert np.array_equal(ns["result"]["depth"], gold["depth"])


def test_host_bench_quick():
    from edgemoe.bench.host import run

    rows = dict(run(quick=True))
    overhead = next(v for k, v in rows.items() if k.startswith("fake-pynq host overhead"))
    assert overhead.endswith("%") and 0 < float(overhead[:-1]) < 100
    ips = next(v for k, v in rows.items() if "images/s" in k)
    assert float(ips) > 0
