"""M3ViT with int8 ATTENTION (``--int8 N --int8-attn``, Flag.WFMT_Q8 on ATTENTION): the
compiler's calibration and parameter blocks, golden against float, refusals.

Float bound: the whole W8A8 backbone (attention q, k, v codes too) stays within
BACKBONE_REL_ERR_Q8 = 1% of float, as the W8A8 backbone without int8 attention
(tests/test_compiler_q8.py).  Measured on m3vit-micro (2 blocks, seed 1, 3 calibration
images): 4.60e-4 (task 0) and 4.66e-4 (task 1) against 4.50e-4 / 4.53e-4 without int8
attention.  Each attention alone must stay within attnq8util.error_bound of a float
attention of the device's own q, k, v (the worst case for its calibrated ranges).
"""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import error_bound
from progutil import assert_compiled_csim_equals_golden
from q8util import BACKBONE_REL_ERR_Q8, micro_calibration_images

from edgemoe.compiler import AttnTopK, compile_model
from edgemoe.compiler.calibrate import attn_q8_layers, int8_layers, linear_input_ranges
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.compiler.taps import read_taps
from edgemoe.golden import execute
from edgemoe.golden.attn_q8 import read_params
from edgemoe.isa import Flag, Op
from edgemoe.models import M3ViTReference, WeightError, load_default_image, random_weights
from edgemoe.numerics.attn_q8 import choose_params
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden



@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    calib = micro_calibration_images(model)
    ranges = linear_input_ranges(model, weights, calib, int8_layers(model, attn=True))
    taps = frozenset(f"blocks.{i}.{n}" for i in range(model.depth) for n in ("qkv", "attn"))
    c = compile_model(model, accel, weights, heads=False, int8=ranges, taps=taps)
    return model, accel, c, ranges, weights


def _run(c, accel, model, task: int) -> np.ndarray:
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    assert execute(image, accel, c.program_offset, c.n_instructions, task,
                   c.status_offset) == 0
    return image


def test_every_attention_runs_int8_with_the_calibrated_parameters(micro):
    model, accel, c, ranges, _ = micro
    attn = [ins for ins in c.instrs if ins.op == Op.ATTENTION]
    assert len(attn) == model.depth and all(ins.has(Flag.WFMT_Q8) for ins in attn)
    image = c.fresh_image()
    for i, ins in enumerate(attn):
        assert ins.get("q8_params") % 64 == 0
        want = choose_params(*(ranges[f"blocks.{i}.attn.{p}"] for p in "qkv"),
                             model.head_dim ** -0.5, accel.formats.act)
        assert read_params(image, ins) == want
    # the calibration is the float model's: q, k, v over all heads, not the qkv input
    assert ranges["blocks.0.attn.q"] != ranges["blocks.0.attn.qkv"]


def test_q8_attention_backbone_matches_float_within_bound(micro):
    model, accel, c, ranges, weights = micro
    ref = M3ViTReference(model, {**weights, **c.effective_weights})
    plain = compile_model(model, accel, weights, heads=False,
                          int8={k: v for k, v in ranges.items() if k not in attn_q8_layers(model)})
    fmt = accel.formats.act.cpp()
    for task in range(len(model.tasks)):
        got = read_tokens(_run(c, accel, model, task), c.manifest, fmt)
        want, _ = ref.backbone(load_default_image(model), task)
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert 1e-4 < rel <= BACKBONE_REL_ERR_Q8, (task, rel)
        # the int8 attention ran: not the W8A8 program's bytes without it
        assert not np.array_equal(got, read_tokens(_run(plain, accel, model, task),
                                                   plain.manifest, fmt))


def test_each_q8_attention_is_within_its_worst_case_bound(micro):
    """The device's attention against float attention of the device's own q, k, v (clamped
    to the calibrated ranges, as the codes are) within attnq8util.error_bound."""
    model, accel, c, ranges, _ = micro
    act, t, nh, hd = accel.formats.act, model.num_tokens, model.heads, model.head_dim
    scale = hd ** -0.5
    for task in range(len(model.tasks)):
        taps = read_taps(_run(c, accel, model, task), c.manifest, task)
        for i in range(model.depth):
            lim = [ranges[f"blocks.{i}.attn.{p}"] for p in "qkv"]
            qkv = taps[f"blocks.{i}.qkv"].reshape(t, 3, nh, hd)
            q, k, v = (np.clip(qkv[:, j], -m, m) for j, m in enumerate(lim))
            got = taps[f"blocks.{i}.attn"].reshape(t, nh, hd)
            bound = error_bound(*lim, scale, hd, t, act)
            for h in range(nh):
                s = q[:, h] @ k[:, h].T * scale
                p = np.exp(s - s.max(1, keepdims=True))
                want = (p / p.sum(1, keepdims=True)) @ v[:, h]
                assert np.abs(got[:, h] - want).max() <= bound, (task, i, h)


def test_design_without_int8_attention_is_refused_naming_the_fix(micro, tmp_path, capsys):
    from edgemoe.cli import main

    model, _, _, ranges, weights = micro
    off = load_accel("tiny", ("attn_q8=false",))
    with pytest.raises(ValueError, match=r"does not build int8 attention: set attn_q8: true"):
        compile_model(model, off, weights, heads=False, int8=ranges)
    assert main(["compile", "--model", "m3vit-micro", "--accel", "edge-moe-zcu102", "--heads",
                 "none", "--int8", "1", "--int8-attn", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "--set attn_q8=true" in err and len(err.strip().splitlines()) == 1


def test_part_of_an_attention_and_top_k_are_refused(micro):
    model, accel, _, ranges, weights = micro
    with pytest.raises(WeightError, match="give all three"):
        compile_model(model, accel, weights, heads=False,
                      int8={k: v for k, v in ranges.items() if k != "blocks.1.attn.v"})
    shape = (model.depth, model.heads, 4, model.head_dim)
    books = AttnTopK(np.zeros(shape), np.broadcast_to(np.eye(model.head_dim), (*shape[:2],
                     model.head_dim, model.head_dim)).copy(), 4)
    with pytest.raises(ValueError, match="do not combine"):
        compile_model(model, accel, weights, heads=False, int8=ranges, topk=books)


@pytest.mark.parametrize("verb", [
    ["compile", "--accel", "tiny", "--out", "OUT"],
    ["eval", "--n", "1"],
    ["explore", "--board", "kv260"],
])
def test_int8_attn_without_int8_is_refused(verb, tmp_path, capsys):
    from edgemoe.cli import main

    args = [a.replace("OUT", str(tmp_path / "d")) for a in verb]
    assert main([*args, "--model", "m3vit-micro", "--int8-attn"]) == 2
    assert "add --int8 N" in capsys.readouterr().err


def test_cli_compile_int8_attn_writes_int8_attentions(tmp_path):
    from edgemoe.cli import main
    from edgemoe.compiler.program import Compiled

    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--heads", "none",
                 "--int8", "2", "--int8-attn", "--out", str(tmp_path)]) == 0
    c = Compiled.load(tmp_path)
    attn = [ins for ins in c.instrs if ins.op == Op.ATTENTION]
    assert attn and all(ins.has(Flag.WFMT_Q8) and ins.get("q8_params") for ins in attn)


@pytest.mark.csim
@pytest.mark.parametrize("task", [0, 1])
def test_int8_attention_backbone_csim_equals_golden(micro, task):
    """The whole m3vit-micro program with int8 attention (and every W8A8 layer): C-sim's
    image == golden's, both tasks."""
    model, accel, c, _, _ = micro
    assert_compiled_csim_equals_golden(c, accel, model, task,
                                       f"m3vit-micro int8 attention task {task}")
