"""Golden ops with inputs near the format limits, against float64 within stated bounds."""

from __future__ import annotations

import numpy as np
import pytest
from magnitude import (
    attention_float,
    layernorm_near_range,
    linear_near_range,
    near_range_qkv,
    relative_error,
)
from progutil import Scratch

from edgemoe.isa import Flag, Instr, Op
from edgemoe.params import load_accel


def _attention(accel, t: int, nh: int, hd: int, seed: int):
    f = accel.formats
    qkv, scale = near_range_qkv(f.act, np.random.default_rng(seed), t, nh, hd)
    s = Scratch(accel)
    src, dst = s.put_raw(f.act.quantize(qkv), f.act), s.alloc(4 * t * nh * hd)
    assert s.run([Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=src, dst=dst,
                             scale=scale)]) == 0
    got = f.act.to_float(s.get_raw(dst, t * nh * hd, f.act)).reshape(t, nh, hd)
    qf = f.act.to_float(f.act.quantize(qkv))
    return got, qf, f.act.to_float(scale), s.profile(0)["overflows"]


def test_attention_scores_near_the_activation_range(tiny):
    got, qf, scale, overflows = _attention(tiny, 16, 2, 16, seed=3)
    scores = np.einsum("ihd,jhd->hij", qf[:, 0], qf[:, 1]) * scale
    act = tiny.formats.act
    # the case really drives the scores (not only q.k) close to the range
    assert 0.85 * act.max_value < np.abs(scores).max() < act.max_value
    assert np.abs(qf[:, 0] * qf[:, 1]).sum(-1).max() > act.max_value  # q.k alone overflows
    # one rounding of each score (2**-22) plus the softmax tables (~2e-5 per probability)
    assert relative_error(got, attention_float(qf, scale)) < 1e-3
    assert overflows == 0


def test_scores_beyond_the_range_are_counted_in_the_profile(tiny):
    f = tiny.formats
    t, nh, hd = 16, 2, 16
    qkv, scale = near_range_qkv(f.act, np.random.default_rng(4), t, nh, hd, fill=1.5)
    s = Scratch(tiny)
    src, dst = s.put_raw(f.act.quantize(qkv), f.act), s.alloc(4 * t * nh * hd)
    assert s.run([Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=src, dst=dst,
                             scale=scale)]) == 0
    qf = f.act.to_float(f.act.quantize(qkv))
    scores = np.einsum("ihd,jhd->hij", qf[:, 0], qf[:, 1]) * f.act.to_float(scale)
    # TRN/WRAP: a score overflows when it is >= 2**9 or < -2**9; outputs (convex
    # combinations of v) never do
    expected = int(np.count_nonzero((scores >= 512) | (scores < -512)))
    assert expected > 0
    assert s.profile(0)["overflows"] == expected


@pytest.mark.parametrize("build", [
    lambda a, r: linear_near_range(a, r),
    lambda a, r: linear_near_range(a, r, Flag.GELU),
    lambda a, r: layernorm_near_range(a, r),
], ids=["linear", "linear_gelu", "layernorm"])
def test_op_near_the_format_limits_matches_float(tiny, build):
    case = build(tiny, np.random.default_rng(21))
    act = tiny.formats.act
    assert case.scratch.run(case.program) == 0
    ref = case.reference
    assert np.abs(ref).max() > 0.5 * act.max_value or case.name.startswith("layernorm")
    got = act.to_float(case.scratch.get_raw(case.out, ref.size, act)).reshape(ref.shape)
    err = relative_error(got, ref)
    assert err < case.bound, f"{case.name}: {err:.2e} >= {case.bound:.0e} ({case.why})"
    assert case.scratch.profile(0)["overflows"] == 0


def test_layernorm_overflow_in_a_narrow_format_is_counted():
    """One outlier per row normalizes to sqrt(d - 1) = 5.57; times gamma 15 that is 83.5,
    beyond ap_fixed<16,6> (+-32): exactly one wrap per row, at the scaled point."""
    narrow = load_accel("tiny", ["formats.act=ap_fixed<16,6>"])
    f = narrow.formats
    t, d = 4, 32
    x = np.zeros((t, d))
    x[np.arange(t), np.arange(t)] = 10.0
    s = Scratch(narrow)
    src, dst = s.put_raw(f.act.quantize(x), f.act), s.alloc(2 * t * d)
    ins = Instr.make(Op.LAYERNORM, tokens=t, dim=d, src=src, dst=dst,
                     gamma=s.put_raw(f.norm.quantize(np.full(d, 15.0)), f.norm),
                     beta=s.put_raw(f.norm.quantize(np.zeros(d)), f.norm), eps=1)
    assert s.run([ins]) == 0
    assert s.profile(0)["overflows"] == t
