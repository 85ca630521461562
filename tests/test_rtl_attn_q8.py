"""Int8 ATTENTION (Flag.WFMT_Q8) on the SystemVerilog engine: output bytes and profile
words == golden (edgemoe/numerics/attn_q8.py) on both lane settings, and refused where the
design leaves the mode out.

Cases (tests/attnq8util.py): m3vit-micro's shape; the full token buffer with a head_dim of
no whole beat (one partial code word); one token; clamped q and v codes; scores past act's
range; shift words with high bits set; outputs near act's limit and past it; and an int8
instruction followed by a dense one on the same engine (the mode is per job); on alt, head
rows of several code words; on narrow, 16-bit activations.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from attnq8util import attn_q8_case
from rtldesigns import SETTINGS, design, executor, outcomes_per_setting

from edgemoe.isa import Err, Instr, Op

pytestmark = pytest.mark.sim


def _q8(accel, name, seed, t, nh, hd, ranges=(2.0, 2.0, 2.0), calib=None, override=None):
    c = attn_q8_case(accel, seed, t, nh, hd, ranges, calib, override)
    return c, ru.Case(name, c.scratch, [c.ins])


def _score_overflow(accel) -> ru.Case:
    """numerics' score multiplier 64x too large: logits past act's +-512 (the golden test
    counts them from the codes; tests/test_golden_attn_q8.py)."""
    base = attn_q8_case(accel, 11, 9, 2, 16, (4.0, 4.0, 1.0))
    big = {"s_mul": base.params["s_mul"], "s_shift": base.params["s_shift"] - 6}
    return _q8(accel, "score_overflow", 11, 9, 2, 16, (4.0, 4.0, 1.0), override=big)[1]


def _shift_high_bits(accel) -> ru.Case:
    base = attn_q8_case(accel, 2, 4, 1, 16)
    high = {"s_shift": base.params["s_shift"] | 0xFFC0, "o_shift": base.params["o_shift"] | 0x40}
    return _q8(accel, "shift_high_bits", 2, 4, 1, 16, override=high)[1]


def _output_overflow(accel) -> ru.Case:
    """v near act's limit and the output multiplier doubled (o_shift one less): outputs past
    act's range wrap or saturate, each counted."""
    base = attn_q8_case(accel, 19, 12, 2, 16, (6.0, 6.0, 400.0))
    return _q8(accel, "output_overflow", 19, 12, 2, 16, (6.0, 6.0, 400.0),
               override={"o_shift": base.params["o_shift"] - 1})[1]


def _q8_then_dense(accel) -> ru.Case:
    """The same engine runs an int8 job, then a dense one on the same q, k, v."""
    c, case = _q8(accel, "q8_then_dense", 6, 9, 2, 16)
    act = accel.formats.act
    out = c.scratch.put(np.zeros(9 * 2 * 16 * act.storage_dtype.itemsize, np.uint8))
    dense = Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=c.ins.get("qkv"),
                       dst=out, scale=int(act.quantize(np.array([0.25]))[0]))
    return ru.Case(case.name, c.scratch, [c.ins, dense])


def _cases(accel) -> list[ru.Case]:
    return [
        _q8(accel, "m3vit_9x2x16", 1, 9, 2, 16)[1],
        _q8(accel, "t16_hd5", 2, 16, 1, 5, (1.0, 3.0, 0.5))[1],
        _q8(accel, "one_token", 3, 1, 2, 16)[1],
        _q8(accel, "clamped_q_v", 8, 9, 2, 16, (3.0, 2.0, 3.0), (2.0, 2.0, 2.0))[1],
        _score_overflow(accel),
        _shift_high_bits(accel),
        _q8(accel, "near_act_limit", 19, 12, 2, 16, (6.0, 6.0, 400.0))[1],
        _output_overflow(accel),
        _q8_then_dense(accel),
    ]


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return outcomes_per_setting(_cases)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_attn_q8_rtl_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == Err.OK, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"


def test_attn_q8_cases_reach_their_limits(outcomes):
    """The counted cases count something on the RTL (so the image comparison covers the
    profile's overflows there), and the plain ones nothing."""
    prof = {n: outcomes["tiny"][n].case.scratch.profile(0)["overflows"] for n in CASE_NAMES}
    assert prof["clamped_q_v"] > 20
    assert prof["score_overflow"] > 0
    assert prof["output_overflow"] > 0
    assert prof["m3vit_9x2x16"] == 0 and prof["t16_hd5"] == 0


def test_attn_q8_rows_of_several_code_words():
    """alt's head rows reach 40 elements: 3 code words of 16 codes (the last one partial)
    from 10 act beats; int8 at head_dim 40 and 37, and the dense mode at 40, == golden."""
    accel = design("alt")
    assert accel.max_head_dim >= 40
    cases = [_q8(accel, "q8_hd40", 31, 7, 2, 40)[1],
             _q8(accel, "q8_hd37", 32, 5, 1, 37, (1.0, 2.0, 3.0))[1],
             ru.attention(accel, np.random.default_rng(33), "dense_hd40", 7, 2, 40)]
    for name, out in ru.run_cases(executor("alt"), cases).items():
        assert out.golden_error == Err.OK, name
        assert out.problems() == [], name


def test_attn_q8_with_16_bit_activations():
    """narrow's 2-byte act: a memory word holds 2 act beats' codes (16 codes) instead of 4;
    int8 == golden there too (test_rtl_engines builds narrow anyway)."""
    accel = design("narrow")
    assert accel.formats.act.storage_dtype.itemsize == 2 and accel.attn_q8
    cases = [_q8(accel, "narrow_9x2x16", 41, 9, 2, 16, (2.0, 2.0, 2.0))[1],
             _q8(accel, "narrow_hd5", 42, 16, 1, 5, (1.0, 3.0, 0.5))[1]]
    for name, out in ru.run_cases(executor("narrow"), cases).items():
        assert out.golden_error == Err.OK, name
        assert out.problems() == [], name


def test_attn_q8_not_built_is_refused():
    """p8 leaves int8 attention out (attn_q8 false): RTL refuses the flag as golden does."""
    accel = design("p8")
    assert not accel.attn_q8 and design("tiny").attn_q8
    c = attn_q8_case(accel, 1, 4, 1, 16)
    out = ru.run_cases(executor("p8"), [ru.Case("q8_missing", c.scratch, [c.ins])],
                       max_cycles=200_000)["q8_missing"]
    assert out.golden_error == Err.BAD_FLAGS
    assert out.problems() == []
