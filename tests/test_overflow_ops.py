"""Golden overflow counts at every activation quantization point (edgemoe/layout.py).

Per op: a near-limit case (0.9x the range) counts zero and matches float64 within the
stated bound; a genuinely overflowing case (1.3x) counts exactly the float64 values beyond
the range (tests/magnitude_ops.py computes them without the code under test).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from magnitude import relative_error
from magnitude_ops import SAT_SYM_ACT, beyond, op_cases, upsample_sat_sym
from progutil import Scratch

from edgemoe.cli import main
from edgemoe.isa import Instr, Op
from edgemoe.layout import queue_layout
from edgemoe.models import random_weights, save_weights
from edgemoe.models.layers import upsample2x_bilinear
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden

CASES = op_cases(load_accel("tiny"))
_PRISTINE = {c.name: c.scratch.image.copy() for c in CASES}


def _run(case) -> int:
    """Run a case on its original image (accumulating ops must not see an earlier run)."""
    case.scratch.image[:] = _PRISTINE[case.name]
    return case.scratch.run(case.program)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_overflow_count_is_exact(case):
    assert _run(case) == 0
    assert case.scratch.profile(0)["overflows"] == case.expected
    if case.overflows:
        assert case.expected > 0


@pytest.mark.parametrize("case", [c for c in CASES if not c.overflows and c.out],
                         ids=[c.name for c in CASES if not c.overflows and c.out])
def test_near_limit_output_matches_float(case):
    act = case.scratch.accel.formats.act
    assert _run(case) == 0
    ref = case.reference
    got = act.to_float(case.scratch.get_raw(case.out, ref.size, act)).reshape(ref.shape)
    assert np.abs(ref).max() > 0.85 * act.max_value  # the case really reaches the limit
    err = relative_error(got, ref)
    assert err < case.bound, f"{case.name}: {err:.2e} >= {case.bound:.0e} ({case.why})"


def test_near_limit_gate_routes_like_float():
    case = next(c for c in CASES if c.name == "moe_gate_0.9x")
    t, e = case.reference.shape
    assert _run(case) == 0
    lay, q = queue_layout(e, t), case.program[0].get("queues")
    img = case.scratch.image
    counts = img[q:q + 4 * e].view("<u4")
    chosen = np.argsort(-case.reference, axis=1, kind="stable")[:, :2]
    assert counts.tolist() == np.bincount(chosen.ravel(), minlength=e).tolist()
    probs = np.exp(case.reference - case.reference.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    act = case.scratch.accel.formats.act
    for ex in range(e):
        at = q + lay["index"] + ex * lay["slot"]
        toks = img[at:at + 4 * counts[ex]].view("<i4")
        at = q + lay["scores"] + ex * lay["slot"]
        scores = act.to_float(img[at:at + 4 * counts[ex]].view("<i4").astype(np.int64))
        assert set(toks.tolist()) == {i for i in range(t) if ex in chosen[i]}
        # exp and reciprocal tables: ~2e-5 per probability
        np.testing.assert_allclose(scores, probs[toks, ex], atol=1e-4)


def _upsample(accel, x):
    act = accel.formats.act
    h, w, c = x.shape
    s = Scratch(accel)
    src = s.put_raw(x, act)
    dst = s.alloc(act.storage_dtype.itemsize * 4 * h * w * c)
    assert s.run([Instr.make(Op.UPSAMPLE, in_h=h, in_w=w, channels=c, src=src, dst=dst)]) == 0
    return act.to_float(s.get_raw(dst, 4 * h * w * c, act)).reshape(2 * h, 2 * w, c), s


def _bilinear(x_float):
    return upsample2x_bilinear(x_float.transpose(2, 0, 1)).transpose(1, 2, 0)


def test_upsample_near_the_limits_matches_float_and_counts_nothing():
    tiny = load_accel("tiny")
    act = tiny.formats.act
    rng = np.random.default_rng(2)
    x = act.quantize(rng.choice([-0.9, 0.9], (3, 4, 5)) * act.max_value)
    got, s = _upsample(tiny, x)
    # a weighted mean of in-range values, one rounding (2**-22)
    assert relative_error(got, _bilinear(act.to_float(x))) < 1e-8
    assert s.profile(0)["overflows"] == 0


def test_upsample_of_codes_outside_a_sat_sym_range_is_counted():
    """AP_SAT_SYM's range stops at -max, so the most negative code (valid input bits)
    is outside it: outputs whose every tap holds it saturate and count."""
    case = upsample_sat_sym(load_accel("tiny", [SAT_SYM_ACT]))
    act = case.scratch.accel.formats.act
    assert case.scratch.run(case.program) == 0
    assert case.expected > 0
    assert case.scratch.profile(0)["overflows"] == case.expected
    got = case.scratch.get_raw(case.out, case.reference.size, act)
    assert got.min() == -act.raw_max


def test_beyond_refuses_values_on_a_boundary():
    act = load_accel("tiny").formats.act
    assert beyond(np.array([0.0, 600.0, -600.0]), act) == 2
    with pytest.raises(AssertionError):
        beyond(np.array([act.max_value]), act)


@pytest.fixture(scope="module")
def loud_mlp(tmp_path_factory):
    """m3vit-micro weights whose block-0 MLP fc1 and block-1 experts' fc1 overflow: norm2
    outputs 15 everywhere, fc1 weights 1.9, so each hidden value is 32 * 28.5 > 512."""
    weights = random_weights(load_model("m3vit-micro"), 3)
    for name in ("blocks.0.mlp.fc1.weight", "blocks.1.mlp.experts.htoh4.weight"):
        weights[name] = np.full_like(weights[name], 1.9)
    for block in (0, 1):
        weights[f"blocks.{block}.norm2.weight"] = np.zeros_like(weights["blocks.0.norm2.weight"])
        weights[f"blocks.{block}.norm2.bias"] = np.full_like(weights["blocks.0.norm2.bias"], 15.0)
    path = tmp_path_factory.mktemp("w") / "loud_mlp.npz"
    save_weights(weights, path)
    return path


def test_run_names_linear_and_expert_overflows_and_strict_fails(loud_mlp, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    args = ["run", "--design", "tiny", "--model", "m3vit-micro", "--weights", str(loud_mlp),
            "--task", "seg"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    warned = [r.getMessage() for r in caplog.records if "wrapped or saturated" in r.getMessage()]
    for name in ("blocks.0.mlp.fc1", "blocks.1.experts"):
        assert any(m.startswith(f"{name}: ") and int(m.split()[1]) > 0 for m in warned), warned
    assert main([*args, "--out", str(tmp_path / "b"), "--strict"]) == 2
