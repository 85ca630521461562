"""Golden executor vs the float64 M3ViT reference (tolerance tests, bounds stated)."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.io import read_output, read_tokens, write_pixels
from edgemoe.golden import execute, status_words
from edgemoe.models import M3ViTReference, load_default_image
from edgemoe.params import load_accel, load_model

BLOCK_REL_ERR = 1e-3  # per-block ||golden - float|| / ||float|| of the token tensor
SEG_AGREEMENT = 0.99  # fraction of pixels with the same argmax class
DEPTH_REL_ERR = 0.01  # ||golden - float|| / ||float|| of the depth map


def run_with_taps(c, accel, pixels, task_index):
    """Run the program segment by segment, reading the token tensor after each block."""
    image = c.fresh_image()
    write_pixels(image, c.manifest, pixels)
    taps, done = [], 0
    act = accel.formats.act.cpp()
    after = c.manifest["taps"]["after"]
    ends = [after["patch_embed"]] + [after[f"block{i}"] for i in range(len(after) - 1)]
    for end in ends + [c.n_instructions]:
        err = execute(image, accel, c.program_offset + 64 * done, end - done, task_index,
                      c.status_offset)
        assert err == 0, status_words(image, c.status_offset)
        done = end
        if len(taps) < len(ends):
            taps.append(read_tokens(image, c.manifest, act))
    return image, taps


def check_model(model_name: str, accel_name: str) -> dict:
    model, accel = load_model(model_name), load_accel(accel_name)
    c = compile_model(model, accel, seed=1)
    ref = M3ViTReference(model, c.effective_weights)
    pixels = load_default_image(model)
    figures = {}
    for k, task in enumerate(model.tasks):
        image, taps = run_with_taps(c, accel, pixels, k)
        out = ref.forward(pixels, k)
        for i, (g, f) in enumerate(zip(taps, out["taps"])):
            rel = np.linalg.norm(g - f) / np.linalg.norm(f)
            figures[f"{task.name}.tap{i}"] = rel
            assert rel <= BLOCK_REL_ERR, f"{task.name} tap {i}: relative error {rel:.2e}"
        got = read_output(image, c.manifest, task.name)
        want = out["head"].transpose(1, 2, 0)
        if task.channels > 1:
            agree = float((got.argmax(-1) == want.argmax(-1)).mean())
            figures[f"{task.name}.argmax_agreement"] = agree
            assert agree >= SEG_AGREEMENT
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        figures[f"{task.name}.head_rel_err"] = rel
        if task.name == "depth":
            assert rel <= DEPTH_REL_ERR
    return figures


@pytest.mark.golden
def test_m3vit_micro_matches_float_reference():
    figures = check_model("m3vit-micro", "tiny")
    assert max(v for k, v in figures.items() if ".tap" in k) < BLOCK_REL_ERR


@pytest.mark.golden
@pytest.mark.slow
def test_m3vit_tiny_matches_float_reference():
    figures = check_model("m3vit-tiny", "edge-moe-zcu102")
    print({k: f"{v:.3g}" for k, v in figures.items()})
