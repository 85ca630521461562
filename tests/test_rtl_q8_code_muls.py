"""A W8A8 LINEAR writing int8 codes with a multiplier per output column on the RTL.

The strip load brings the code multipliers after the channel multipliers
(edgemoe_lin_bbuf) and the writer codes each lane with its column's (edgemoe_lin_writer):
== golden byte for byte on ``tiny`` and ``alt`` (the cases of tests/q8codes.py: three
multipliers, odd part widths, two strips, clamps, act overflows, GELU + GATHER, ReLU +
DYN_COUNT; tests/test_golden_q8_code_muls.py checks golden against numerics).  On the
board's memory (``tiny``), a qkv-shaped codes-out LINEAR's MEASURED cycles against
edgemoe.perf.
"""

from __future__ import annotations

import pytest
import rtlutil as ru
from q8codes import CASES, qkv_linear
from rtldesigns import board_executor, design, executor

from edgemoe.perf.model import model_program

pytestmark = pytest.mark.sim

#: edgemoe.perf vs the RTL (the bound of tests/test_perf_model.py)
PERF_MODEL_ERROR = 0.05
#: (seed, t, d, k) of the layers timed on ``tiny``'s board memory (3 d <= its 96 outputs)
TIMED = [(41, 16, 32, 64), (42, 12, 21, 96)]


@pytest.mark.parametrize("name", ["tiny", "alt"])
def test_code_muls_rtl_equal_golden(name):
    accel = design(name)
    cases = [ru.Case(c, qkv_linear(accel, **kw).scratch, qkv_linear(accel, **kw).program)
             for c, kw in CASES.items()]
    for case_name, out in ru.run_cases(executor(name), cases).items():
        assert out.golden_error == 0 and out.problems() == [], (case_name, out.problems())


@pytest.fixture(scope="module")
def timed():
    accel = design("tiny")
    cases = [ru.Case(f"{codes}-{seed}", m.scratch, m.program)
             for seed, t, d, k in TIMED for codes in (True, False)
             for m in [qkv_linear(accel, seed, t, d, k, codes=codes)]]
    return {c.name: c for c in cases}, ru.run_cases(board_executor("tiny")[0], cases)


@pytest.mark.parametrize("seed", [s for s, *_ in TIMED])
@pytest.mark.parametrize("codes", [True, False])
def test_codes_out_model_matches_the_rtl(timed, seed, codes):
    cases, outs = timed
    key = f"{codes}-{seed}"
    assert outs[key].golden_error == 0 and outs[key].problems() == []
    got = model_program(cases[key].program, design("tiny"),
                        memory=board_executor("tiny")[1]).ops[0].cycles
    rtl = ru.profile_cycles(outs[key].rtl, 0)
    assert abs(got - rtl) <= PERF_MODEL_ERROR * rtl, (got, rtl)
