"""Int8 ATTENTION with int8 code rows in memory (q8_codes) on the SystemVerilog engine:
output bytes and profile words == golden for codes in (the loader writes the bus words of
codes as they are: no quantizer, no clamps counted), codes out (the writer codes each
output with out_x_mul, a byte an element, clamps counted) and both, on both lane settings
(tiny: one code word a row; alt: head rows of several code words, the last partial) and on
narrow's 16-bit act; and, on tiny's board memory, the MEASURED cycles of an ATTENTION with
codes in and out against edgemoe.perf within 5 % (and no slower than act rows); other q8_codes bits refused as golden refuses them.
"""

from __future__ import annotations

import math

import pytest
import rtlutil as ru
from attnq8util import attn_q8_case
from rtldesigns import SETTINGS, board_executor, design, executor, outcomes_per_setting

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT
from edgemoe.numerics.int8 import input_multiplier
from edgemoe.perf import model_program

pytestmark = pytest.mark.sim

BOTH = Q8_CODES_IN | Q8_CODES_OUT
#: outputs reach about |v| (+-2 or +-3 here): codes out clamp beyond +-0.25
OUT_X_MUL = input_multiplier(0.25)


def _case(accel, name, codes, seed, t, nh, hd, ranges=(2.0, 2.0, 2.0), calib=None):
    c = attn_q8_case(accel, seed, t, nh, hd, ranges, calib, codes=codes,
                     out_x_mul=OUT_X_MUL if codes & Q8_CODES_OUT else 0)
    return ru.Case(name, c.scratch, [c.ins])


def _cases(accel) -> list[ru.Case]:
    hd = 40 if accel.max_head_dim >= 40 else 16  # alt: three code words, the last partial
    out = []
    for codes, tag in ((Q8_CODES_IN, "in"), (Q8_CODES_OUT, "out"), (BOTH, "both")):
        out += [_case(accel, f"{tag}_clamped", codes, 8, 9, 2, hd, (3.0, 2.0, 3.0),
                      (2.0, 2.0, 2.0)),
                _case(accel, f"{tag}_hd5", codes, 2, 16, 1, 5, (1.0, 3.0, 0.5))]
    out.append(_case(accel, "both_one_token", BOTH, 3, 1, 2, hd))
    return out


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return outcomes_per_setting(_cases)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_attn_q8_codes_rtl_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == Err.OK, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"


def test_attn_q8_codes_cases_count_where_they_should(outcomes):
    """Codes in counts no step-1 clamp (the producer did), codes out counts its own."""
    prof = {n: outcomes["tiny"][n].case.scratch.profile(0)["overflows"] for n in CASE_NAMES}
    assert prof["in_clamped"] == 0
    assert prof["out_clamped"] > prof["both_clamped"] > 0


def test_attn_q8_codes_with_16_bit_activations():
    """narrow's 2-byte act: two act beats' codes a memory word (test_rtl_engines builds it)."""
    accel = design("narrow")
    cases = [_case(accel, "narrow_both", BOTH, 41, 9, 2, 16, (3.0, 2.0, 3.0), (2.0, 2.0, 2.0)),
             _case(accel, "narrow_in_hd5", Q8_CODES_IN, 42, 16, 1, 5, (1.0, 3.0, 0.5))]
    for name, out in ru.run_cases(executor("narrow"), cases).items():
        assert out.golden_error == Err.OK, name
        assert out.problems() == [], name


@pytest.mark.parametrize("t", [9, 16])
def test_attn_q8_codes_model_within_5_percent_of_rtl(t):
    """tiny's board memory: the int8 ATTENTION with act rows and with codes in and out,
    each modelled within 5 % of its MEASURED cycles; the code rows no slower."""
    accel = design("tiny")
    ex, mem = board_executor("tiny")
    cases = [_case(accel, f"{codes}", codes, 5, t, 2, 16) for codes in (0, BOTH)]
    outs = ru.run_cases(ex, cases)
    cycles = {}
    for c in cases:
        out = outs[c.name]
        assert out.golden_error == Err.OK and out.problems() == [], c.name
        rtl = ru.profile_cycles(out.rtl, 0)
        modelled = model_program(c.program, accel, memory=mem).ops[0].cycles
        assert math.isclose(modelled, rtl, rel_tol=0.05), (t, c.name, modelled, rtl)
        cycles[c.name] = rtl
    assert cycles[f"{BOTH}"] <= cycles["0"], cycles


def test_attn_q8_other_codes_bits_are_refused():
    """q8_codes 4 breaks the op spec's limit: the RTL's checker refuses it as golden does."""
    accel = design("tiny")
    c = attn_q8_case(accel, 1, 4, 1, 16)
    bad = Instr.make(Op.ATTENTION, Flag.WFMT_Q8, **{**c.ins.named(), "q8_codes": 4})
    out = ru.run_cases(executor("tiny"), [ru.Case("bad_codes", c.scratch, [bad])],
                       max_cycles=200_000)["bad_codes"]
    assert out.golden_error == Err.BAD_SHAPE
    assert out.problems() == []
