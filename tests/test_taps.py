"""Intermediate taps: compiled copies, read on every backend, `run --dump`, `compare`."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.compiler.io import read_output, read_tokens, write_pixels
from edgemoe.compiler.taps import routing, select_taps, tap_names
from edgemoe.golden import execute
from edgemoe.host import Accelerator
from edgemoe.host.design import open_design
from edgemoe.models import load_default_image, random_weights, save_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def setup():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 4)
    plain = compile_model(model, accel, weights)
    tapped = compile_model(model, accel, weights, taps=select_taps(["all"], model))
    return model, accel, weights, plain, tapped


def _run(compiled, accel, pixels, task_index, n=None):
    image = compiled.fresh_image()
    write_pixels(image, compiled.manifest, pixels)
    assert execute(image, accel, compiled.program_offset, n or compiled.n_instructions,
                   task_index, compiled.status_offset) == 0
    return image


def test_every_tap_is_in_the_manifest(setup):
    model, _, _, _, tapped = setup
    assert list(tapped.manifest["taps"]["tensors"]) == tap_names(model)
    with pytest.raises(ValueError, match="unknown tap.*blocks.7.norm1.*blocks 0..1"):
        select_taps(["blocks.7.norm1"], model)


def test_taps_hold_the_untapped_program_state(setup):
    model, accel, _, plain, tapped = setup
    pixels = load_default_image(model)
    act = accel.formats.act.cpp()
    with Accelerator(open_design(tapped, accel), backend="golden") as acc:
        result = acc.run(pixels, task="all")[0]
    for k, task in enumerate(model.tasks):
        taps = result.taps[task.name]
        # taps do not change the outputs
        full = _run(plain, accel, pixels, k)
        assert np.array_equal(result[task.name], read_output(full, plain.manifest, task.name))
        assert np.array_equal(taps[f"heads.{task.name}"], result[task.name])
        # block outputs equal x of the untapped program stopped after that block
        for i in range(model.depth):
            stop = plain.manifest["taps"]["after"][f"block{i}"]
            x = read_tokens(_run(plain, accel, pixels, k, stop), plain.manifest, act)
            assert np.array_equal(taps[f"blocks.{i}.out"], x)
        # the fused residual adds are exact in the activation format (no overflow here):
        # block input + proj = attn_residual, attn_residual + mlp = out (dense and MoE)
        block_in = taps["patch_embed"]
        for i in range(model.depth):
            p = f"blocks.{i}"
            assert np.array_equal(block_in + taps[f"{p}.proj"], taps[f"{p}.attn_residual"])
            assert np.array_equal(taps[f"{p}.attn_residual"] + taps[f"{p}.mlp"], taps[f"{p}.out"])
            block_in = taps[f"{p}.out"]
        # the queues are the top-k of the tapped router logits (ties to the lower index)
        logits = taps["blocks.1.router_logits"]
        top = np.argsort(-logits, axis=1, kind="stable")[:, :model.top_k]
        want = np.zeros(logits.shape, dtype=bool)
        np.put_along_axis(want, top, True, axis=1)
        assert np.array_equal(routing(taps["blocks.1.queues"], model.num_experts,
                                      model.num_tokens), want)


@pytest.mark.csim
def test_csim_taps_are_byte_identical_to_golden(setup):
    model, accel, _, _, tapped = setup
    pixels = load_default_image(model)
    runs = {}
    for backend in ("golden", "csim"):
        with Accelerator(open_design(tapped, accel), backend=backend) as acc:
            runs[backend] = acc.run(pixels, task="all")[0].taps
    for task, taps in runs["golden"].items():
        assert taps.keys() == runs["csim"][task].keys()
        for name, value in taps.items():
            assert np.array_equal(value, runs["csim"][task][name]), (task, name)


def test_run_dump_and_compare_commands(setup, tmp_path, capsys):
    model, _, weights, _, _ = setup
    save_weights(weights, tmp_path / "w.npz")
    out = tmp_path / "run"
    assert main(["run", "--weights", str(tmp_path / "w.npz"), "--task", "seg", "--out", str(out),
                 "--dump", "blocks.1.norm2", "blocks.1.queues"]) == 0
    saved = np.load(out / "default_taps.npz")
    assert sorted(saved.files) == ["seg.blocks.1.norm2", "seg.blocks.1.queues"]
    capsys.readouterr()
    assert main(["compare", "--weights", str(tmp_path / "w.npz")]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.startswith(("seg ", "depth "))]
    errors = {(r[0], r[1]): float(r[2]) for r in rows if len(r) == 4}
    # per task: every tap but the other task's head and the queues (compared as routing)
    assert len(errors) == 2 * (len(tap_names(model)) - 2)
    # golden vs float64 on the same rounded weights: LAYERNORM's fixed-point statistics
    # dominate (~1e-4 relative on these small activations)
    assert max(errors.values()) < 1e-3
    assert "seg    blocks.1 routing agreement 100.0%" in text
