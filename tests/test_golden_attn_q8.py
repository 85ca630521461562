"""Int8 ATTENTION (Flag.WFMT_Q8) on the golden executor: against float within the stated
bound (tests/attnq8util.error_bound), at the format's limits, with every clamp and
overflow counted."""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import attn_q8_case, output

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics.attn_q8 import Q8_PARAM_BYTES
from edgemoe.params import load_accel

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def tiny():
    return load_accel("tiny")


@pytest.mark.parametrize("t,nh,hd,ranges", [
    (9, 2, 16, (2.0, 2.0, 2.0)),       # m3vit-micro's shape
    (16, 1, 5, (1.0, 3.0, 0.5)),       # full token buffer, a head_dim of no whole beat
    (1, 2, 16, (2.0, 2.0, 2.0)),       # one token: p = 1
    (12, 2, 16, (6.0, 6.0, 400.0)),    # scores up to ~+-140 (near act's 512) and v near act's max
])
def test_attn_q8_matches_float_within_bound(tiny, t, nh, hd, ranges):
    case = attn_q8_case(tiny, seed=t * 7 + hd, t=t, nh=nh, hd=hd, ranges=ranges)
    assert case.scratch.run([case.ins]) == Err.OK
    got = output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert err.max() <= case.bound, (err.max(), case.bound)
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["macs"] == 2 * nh * t * t * hd


def test_attn_q8_bound_is_tight_enough_to_catch_a_wrong_scale(tiny):
    """Small logits: the bound stays well below the outputs' spread, and a score multiplier
    off by 2x (a wrong softmax scale) lands outside it."""
    case = attn_q8_case(tiny, seed=3, t=9, nh=2, hd=16, ranges=(1.0, 1.0, 1.0))
    assert case.bound < 0.15 * np.abs(case.ref).max()
    wrong = attn_q8_case(tiny, seed=3, t=9, nh=2, hd=16, ranges=(1.0, 1.0, 1.0),
                         override={"s_mul": 2 * case.params["s_mul"]})
    wrong.scratch.run([wrong.ins])
    err = np.abs(output(wrong, wrong.scratch.image, tiny.formats.act) - wrong.ref)
    assert err.max() > wrong.bound


def test_attn_q8_is_close_to_the_act_path(tiny):
    """Same q, k, v through the W16A32 path: the int8 codes cost about a code step."""
    case = attn_q8_case(tiny, seed=5, t=9, nh=2, hd=16)
    case.scratch.run([case.ins])
    q8 = output(case, case.scratch.image, tiny.formats.act)
    dense = Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=case.ins.get("qkv"),
                       dst=case.dst, scale=int(tiny.formats.act.quantize(np.array([0.25]))[0]))
    case.scratch.run([dense])
    exact = output(case, case.scratch.image, tiny.formats.act)
    assert np.abs(exact - case.ref).max() < 1e-4
    assert 0 < np.abs(q8 - exact).max() <= case.bound


def test_attn_q8_clamps_count_each_element_once(tiny):
    """q and v in +-3 calibrated for +-2: the codes beyond +-127 clamp, each counted once."""
    case = attn_q8_case(tiny, seed=8, t=9, nh=2, hd=16, ranges=(3.0, 2.0, 3.0),
                        calib=(2.0, 2.0, 2.0))
    assert case.clamped > 20
    case.scratch.run([case.ins])
    assert case.scratch.profile(0)["overflows"] == case.clamped


def test_attn_q8_score_overflow_counts(tiny):
    """A score multiplier 64x too large pushes logits past act's +-512: each such score
    counts once (the logits recomputed here from the int8 codes in Python integers)."""
    case = attn_q8_case(tiny, seed=11, t=9, nh=2, hd=16, ranges=(4.0, 4.0, 1.0))
    big = {"s_mul": case.params["s_mul"], "s_shift": case.params["s_shift"] - 6}
    over = attn_q8_case(tiny, seed=11, t=9, nh=2, hd=16, ranges=(4.0, 4.0, 1.0), override=big)
    act, prm = tiny.formats.act, over.params
    raw = over.scratch.get_raw(over.ins.get("qkv"), 3 * 9 * 2 * 16, act).reshape(9, 3, 2, 16)
    sh = act.frac_bits + 16
    qc, kc = ([[[(int(x) * prm[m] + (1 << (sh - 1))) >> sh for x in row] for row in raw[:, i, h]]
               for h in range(2)] for i, m in ((0, "q_mul"), (1, "k_mul")))
    logits = np.array([[[sum(a * b for a, b in zip(qr, kr, strict=True)) * prm["s_mul"]
                         / 2.0 ** prm["s_shift"] for kr in kc[h]] for qr in qc[h]]
                       for h in range(2)])
    assert not (np.abs(np.abs(logits) - 512) < 0.01).any(), "too close: change the seed"
    expected = int(np.count_nonzero(np.abs(logits) >= 512))
    assert expected > 0
    over.scratch.run([over.ins])
    assert over.scratch.profile(0)["overflows"] == expected


def test_attn_q8_shift_words_use_their_low_six_bits(tiny):
    case = attn_q8_case(tiny, seed=2, t=4, nh=1, hd=16)
    case.scratch.run([case.ins])
    want = output(case, case.scratch.image, tiny.formats.act).copy()
    high = attn_q8_case(tiny, seed=2, t=4, nh=1, hd=16,
                        override={"s_shift": case.params["s_shift"] | 0xFFC0,
                                  "o_shift": case.params["o_shift"] | 0x40})
    high.scratch.run([high.ins])
    np.testing.assert_array_equal(output(high, high.scratch.image, tiny.formats.act), want)


def test_attn_q8_profile_counts_the_parameter_block(tiny):
    case = attn_q8_case(tiny, seed=4, t=9, nh=2, hd=16)
    case.scratch.run([case.ins])
    prof = case.scratch.profile(0)
    act_bytes = tiny.formats.act.storage_dtype.itemsize
    assert prof["bytes_read"] == 3 * 9 * 2 * 16 * act_bytes + Q8_PARAM_BYTES
    assert prof["bytes_written"] == 9 * 2 * 16 * act_bytes


def test_attn_q8_refused_with_top_k_and_where_not_built(tiny):
    case = attn_q8_case(tiny, seed=1, t=4, nh=1, hd=16)
    both = Instr.make(Op.ATTENTION, Flag.WFMT_Q8 | Flag.ATTN_TOPK, **case.ins.named())
    assert case.scratch.run([both]) != Err.OK
    assert case.scratch.status()["error"] == Err.BAD_SHAPE
    plain = load_accel("edge-moe-zcu102")
    assert not plain.attn_q8
    case = attn_q8_case(plain, seed=1, t=4, nh=1, hd=16)
    assert case.scratch.run([case.ins]) == Err.BAD_FLAGS
