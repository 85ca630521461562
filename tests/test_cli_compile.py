"""`edgemoe compile` and `edgemoe demo` from the command line."""

from __future__ import annotations

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


def test_demo_prints_design_points_and_writes_the_trained_model_figures(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("edge-moe-zcu102", "pynq-z2", "config_id", "identical"):
        assert name in out
    figures = tmp_path / "m3vit-demo"
    for stem in ("test_scene0", "test_scene1", "street", "latency_seg", "latency_depth"):
        path = figures / f"{stem}.png"
        assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
        assert f"wrote {path}" in out


def test_compile_marks_zero_tile_layers_unless_told_not_to(tmp_path):
    from edgemoe.isa import Flag

    w = random_weights(load_model("m3vit-micro"), 0)
    w["blocks.0.mlp.fc1.weight"][:, :8] = 0.0  # two of fc1's eight 4x4 tile columns
    save_weights(w, tmp_path / "w.npz")
    args = ["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights",
            str(tmp_path / "w.npz"), "--out"]

    def marked(folder: str) -> set[str]:
        c = Compiled.load(tmp_path / folder)
        names = c.manifest["program"]["names"]
        return {names[i] for i, ins in enumerate(c.instrs) if ins.has(Flag.WSKIP)}

    assert main([*args, str(tmp_path / "skip")]) == 0
    assert main([*args, str(tmp_path / "dense"), "--no-tile-skip"]) == 0
    assert marked("skip") == {"blocks.0.mlp.fc1"} and marked("dense") == set()
