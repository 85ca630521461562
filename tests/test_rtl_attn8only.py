"""The attention engine built for int8 only (``attn_act: false``, tests/rtldesigns.py's
``attn8only``: 3 lanes, no act products) on the SystemVerilog: int8 ATTENTION == golden
byte for byte (profile words included), and an ATTENTION without Flag.WFMT_Q8 refused by the
checker (BAD_FLAGS) as golden refuses it, alone or after an int8 one.

Cases: m3vit-micro's shape (9 tokens: three full blocks of 3), 16 tokens of a partial code
word (five blocks and one query left), 7 tokens over 2 heads, one token, clamped q and v
codes, outputs past act's range (counted); and the m3vit-micro backbone with every layer
int8 (--int8-attn).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from attnq8util import attn_q8_case
from rtldesigns import assert_program_rtl_equals_golden, design, executor

from edgemoe.isa import Err, Flag, Instr, Op

pytestmark = pytest.mark.sim

NAME = "attn8only"


def _q8(accel, name, seed, t, nh, hd, ranges=(2.0, 2.0, 2.0), calib=None, override=None):
    c = attn_q8_case(accel, seed, t, nh, hd, ranges, calib, override)
    return c, ru.Case(name, c.scratch, [c.ins])


def _output_overflow(accel) -> ru.Case:
    base = attn_q8_case(accel, 19, 12, 2, 16, (6.0, 6.0, 400.0))
    return _q8(accel, "output_overflow", 19, 12, 2, 16, (6.0, 6.0, 400.0),
               override={"o_shift": base.params["o_shift"] - 1})[1]


def _act_after_q8(accel) -> ru.Case:
    """An int8 job, then an act one on the same q, k, v: the first runs, the second is
    refused (the status names it), its dst untouched."""
    c, case = _q8(accel, "act_after_q8", 6, 9, 2, 16)
    act = accel.formats.act
    out = c.scratch.put(np.full(9 * 2 * 16 * act.storage_dtype.itemsize, 0x5A, np.uint8))
    dense = Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=c.ins.get("qkv"),
                       dst=out, scale=int(act.quantize(np.array([0.25]))[0]))
    return ru.Case(case.name, c.scratch, [c.ins, dense])


def _cases(accel) -> list[ru.Case]:
    return [
        _q8(accel, "m3vit_9x2x16", 1, 9, 2, 16)[1],
        _q8(accel, "t16_hd5", 2, 16, 1, 5, (1.0, 3.0, 0.5))[1],
        _q8(accel, "t7_2x16", 4, 7, 2, 16, (3.0, 1.0, 2.0))[1],
        _q8(accel, "one_token", 3, 1, 2, 16)[1],
        _q8(accel, "clamped_q_v", 8, 9, 2, 16, (3.0, 2.0, 3.0), (2.0, 2.0, 2.0))[1],
        _output_overflow(accel),
        ru.attention(accel, np.random.default_rng(5), "act_refused", 7, 2, 16),
        _act_after_q8(accel),
    ]


REFUSED = {"act_refused", "act_after_q8"}
CASE_NAMES = [c.name for c in _cases(design(NAME))]


@pytest.fixture(scope="module")
def outcomes():
    accel = design(NAME)
    assert not accel.attn_act and accel.attn_q8 and accel.attn_lanes == 3
    return ru.run_cases(executor(NAME), _cases(accel))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_int8_only_attention_rtl_matches_golden(outcomes, name):
    out = outcomes[name]
    want = Err.BAD_FLAGS if name in REFUSED else Err.OK
    assert out.golden_error == want
    assert out.problems() == [], name


def test_the_cases_reach_what_they_name(outcomes):
    """The counted cases count something (so the image comparison covers the profile's
    overflows), the plain ones nothing; the refused act job ran after the int8 one and
    wrote nothing."""
    prof = {n: outcomes[n].case.scratch.profile(0)["overflows"] for n in CASE_NAMES
            if n != "act_refused"}
    assert prof["clamped_q_v"] > 20 and prof["output_overflow"] > 0
    assert prof["m3vit_9x2x16"] == 0 and prof["t7_2x16"] == 0
    out = outcomes["act_after_q8"]
    status = out.case.scratch.status()
    assert status["executed"] == 1 and status["error"] == Err.BAD_FLAGS
    dst = out.case.program[1].get("dst")
    assert (out.rtl[dst:dst + 9 * 2 * 16] == 0x5A).all()


@pytest.mark.slow
def test_int8_attention_backbone_rtl_equals_golden():
    """m3vit-micro with every layer W8A8 and int8 attention (the only one this design
    runs) on the SV == golden, whole image."""
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model

    accel, model = design(NAME), load_model("m3vit-micro")
    weights = random_weights(model, 1)
    pixels = load_default_image(model)
    ranges = linear_input_ranges(model, weights, [pixels], int8_layers(model, attn=True))
    c = compile_model(model, accel, weights, heads=False, int8=ranges)
    attn = [ins for ins in c.instrs if ins.op == Op.ATTENTION]
    assert attn and all(ins.has(Flag.WFMT_Q8) for ins in attn)
    assert_program_rtl_equals_golden(c, pixels, 0, "m3vit-micro int8-only attention RTL vs "
                                     "golden", 1_000_000, name=NAME)
