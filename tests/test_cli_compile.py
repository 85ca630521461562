"""`edgemoe compile` and `edgemoe demo` from the command line."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler.program import Compiled
from edgemoe.models import random_weights, save_weights
from edgemoe.params import load_model

pytestmark = pytest.mark.golden


def test_compile_writes_a_loadable_design(tmp_path, capsys):
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--list",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "blocks.1.gate" in out and "MOE_GATE" in out
    c = Compiled.load(tmp_path)
    assert c.manifest["model"] == "m3vit-micro" and c.n_instructions == len(c.instrs)


def test_compile_strict_refuses_saturating_weights(tmp_path, capsys):
    w = random_weights(load_model("m3vit-micro"), 0)
    w["blocks.0.mlp.fc1.weight"][:2, 0] = 9.0
    save_weights(w, tmp_path / "w.npz")
    args = ["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights",
            str(tmp_path / "w.npz"), "--out", str(tmp_path / "d")]
    assert main(args + ["--strict"]) == 2
    err = capsys.readouterr().err
    assert "blocks.0.mlp.fc1.weight: 2 of 2048 values saturated" in err
    assert main(args) == 0
    assert "saturated weights" in capsys.readouterr().out


def test_demo_prints_design_points_and_writes_both_task_maps(tmp_path, capsys, monkeypatch):
    from edgemoe.commands import demo

    # the demo's m3vit-tiny step is the slow tier's job; run the same steps on m3vit-micro
    monkeypatch.setattr(demo, "DEMO_MODEL", ("m3vit-micro", "tiny"))
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("edge-moe-zcu102", "pynq-z2", "config_id", "identical"):
        assert name in out
    for task in ("seg", "depth"):
        assert (tmp_path / "m3vit-micro" / f"default_{task}.png").is_file()
    data = np.load(tmp_path / "m3vit-micro" / "default.npz")
    assert data["seg_output"].shape == (32, 64, 7) and data["depth_output"].shape == (32, 64, 1)
    seg = data["seg_prediction"]
    assert seg.shape == (32, 64) and seg.min() >= 0 and seg.max() < 7
