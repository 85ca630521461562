"""The linear epilogue's lanes set by the design point (``linear_epilogue_lanes``).

``wide_epi8`` (8 x 8 tile, all 8 lanes: one step, the default is 4 lanes in 2 steps) and
``tiny_epi1`` (4 x 4 tile, one lane: 4 steps, the default is all 4 lanes in one) run W16
and W8A8 LINEARs through every epilogue path (GELU on a partial tile, RESIDUAL + ReLU,
SCORE_ACC | SCATTER, MOE_EXPERTS) byte for byte as golden.

Cycles, MEASURED on the RTL with the board's memory, against edgemoe.perf (MODELLED):
W8A8 layers of one input tile are epilogue-bound on ``wide`` (a pair takes 2 x 2 steps);
with 8 lanes a pair takes 2 x 1.  The RTL gains that while the row writer keeps up
(48 outputs a token); with 96 outputs a token the writer's row (24 beats) binds instead and
the 8 lanes gain little.  The model follows both within 5 %.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q8util import q8_linear
from rtldesigns import board_executor, design

from edgemoe.isa import Flag, Instr, Op
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.sim

#: edgemoe.perf vs the RTL cycles on the board's memory (as tests/test_rtl_epilogue.py).
PERF_MODEL_ERROR = 0.05
#: Tokens and input features of the pace cases (one input tile of ``wide``).
PACE_T, PACE_K = 16, 8
#: Output features of the pace cases: the writer keeps up with 8 lanes / it binds.
PACE_N_FAST, PACE_N_WRITE = 48, 96


def _q8_with(accel, name: str, seed: int, t: int, n: int, k: int, flags: int,
             rows: int) -> ru.Case:
    """A W8A8 LINEAR with RESIDUAL or SCORE_ACC | SCATTER (``rows`` destination rows)."""
    c = q8_linear(accel, seed, t, n, k, flags & (Flag.GELU | Flag.RELU))
    s, ins, act = c.scratch, c.ins, accel.formats.act
    rng = np.random.default_rng(seed)
    drows = rows if flags & Flag.SCATTER else t
    dst = s.put_raw(act.quantize(rng.uniform(-4, 4, drows * n)), act)
    res = s.put_raw(act.quantize(rng.uniform(-4, 4, drows * n)), act)
    idx = s.put(rng.permutation(rows)[:t].astype(np.int32))
    sc = s.put(act.quantize(rng.uniform(0, 1, t)).astype(np.int32))  # int32 words
    fields = {f: ins.get(f) for f in ("src", "weights", "bias", "scales", "x_mul", "q8_shift_codes")}
    return ru.Case(name, s, [Instr.make(Op.LINEAR, flags | Flag.WFMT_Q8, tokens=t,
                                        out_features=n, in_features=k, rows=rows, dst=dst,
                                        residual=res, index=idx, scores=sc, **fields)])


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(31)
    cases = [
        ru.linear(accel, rng, "w16_gelu_partial_tile", 5, 20, 40, Flag.GELU),
        ru.linear(accel, rng, "w16_residual_relu", 4, 12, 8, Flag.RESIDUAL | Flag.RELU),
        ru.linear(accel, rng, "w16_score_acc_scatter", 5, 12, 16,
                  Flag.SCORE_ACC | Flag.SCATTER, rows=9),
        ru.moe(accel, rng, "w16_moe_experts", 6, 16, 4, 24, 2),
        _q8_with(accel, "q8_residual_relu", 41, 4, 20, 8, Flag.RESIDUAL | Flag.RELU, 4),
        _q8_with(accel, "q8_score_acc_scatter", 42, 5, 12, 24, Flag.SCORE_ACC | Flag.SCATTER, 9),
    ]
    # one input tile, an odd tile count (a lone last tile, partial); many input tiles
    for name, seed, t, n, k, flags in (("q8_gelu_one_input_tile", 43, 7, 36, 8, Flag.GELU),
                                       ("q8_relu_many_input_tiles", 44, 5, 36, 72, Flag.RELU)):
        c = q8_linear(accel, seed, t, n, k, flags)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    return cases


def _pace_cases(accel) -> list[ru.Case]:
    out = []
    for n in (PACE_N_FAST, PACE_N_WRITE):
        c = q8_linear(accel, 45, PACE_T, n, PACE_K)
        out.append(ru.Case(f"q8_pace_n{n}", c.scratch, [c.ins]))
    return out


CASE_NAMES = [c.name for c in _cases(design("tiny"))]
LANES = {"wide_epi8": (8, 1), "tiny_epi1": (1, 4)}


@pytest.fixture(scope="module")
def outcomes():
    """design -> case name -> outcome, on the board's memory (pace cases on wide too)."""
    out = {}
    for name in ("wide_epi8", "tiny_epi1", "wide"):
        accel = design(name)
        cases = _pace_cases(accel) if name == "wide" else _cases(accel)
        if name == "wide_epi8":
            cases += _pace_cases(accel)
        out[name] = ru.run_cases(board_executor(name)[0], cases)
    return out


def test_the_designs_set_the_lanes_the_default_would_not():
    from edgemoe.params.accel_rules import default_epilogue_lanes

    for name, lanes_steps in LANES.items():
        accel = design(name)
        assert (accel.linear_epilogue_lanes, accel.linear_epilogue_steps) == lanes_steps
        assert default_epilogue_lanes(accel.linear_p_out) == 4 != accel.linear_epilogue_lanes


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("setting", list(LANES))
def test_set_lanes_match_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"


def _pace(outcomes, name: str, n: int) -> tuple[int, float]:
    """(MEASURED RTL cycles, MODELLED cycles) of the pace case with ``n`` outputs."""
    out = outcomes[name][f"q8_pace_n{n}"]
    assert out.problems() == [], out.problems()
    mem = board_executor(name)[1]
    modelled = model_program(out.case.program, design(name), memory=mem).ops[0].cycles
    return ru.profile_cycles(out.rtl), modelled


@pytest.mark.parametrize("n", [PACE_N_FAST, PACE_N_WRITE])
def test_more_lanes_run_faster_and_the_model_follows(outcomes, n):
    (m4, p4), (m8, p8) = _pace(outcomes, "wide", n), _pace(outcomes, "wide_epi8", n)
    for measured, modelled in ((m4, p4), (m8, p8)):
        assert abs(modelled - measured) <= PERF_MODEL_ERROR * measured, (n, modelled, measured)
    assert m8 < m4, (n, m8, m4)


def test_the_row_writer_bounds_what_more_lanes_gain(outcomes):
    """Per token the 8 lanes save 2 cycles a pair: 48 outputs (3 pairs) gain most of it
    until the slot round trip binds; 96 outputs (6 pairs) write 24 beats a row, as many
    cycles as the 4-lane epilogue, so they gain a small part of the 12 cycles."""
    fast4, _ = _pace(outcomes, "wide", PACE_N_FAST)
    fast8, _ = _pace(outcomes, "wide_epi8", PACE_N_FAST)
    write4, _ = _pace(outcomes, "wide", PACE_N_WRITE)
    write8, _ = _pace(outcomes, "wide_epi8", PACE_N_WRITE)
    saved_fast, saved_write = (fast4 - fast8) / PACE_T, (write4 - write8) / PACE_T
    assert saved_fast >= 2.0, (fast4, fast8)
    assert saved_write < 0.5 * 12, (write4, write8)
