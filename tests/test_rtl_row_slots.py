"""The linear engine with 4 row slots (``linear_row_slots=4``, edgemoe_lin_rows.sv).

``slots4`` (``tiny`` with the CONV line buffer and 4 row slots) runs the linear
engine's paths byte for byte as golden: W16 and W8A8 LINEARs with GELU, RESIDUAL + ReLU,
GATHER and SCORE_ACC | SCATTER, MOE_GATE + MOE_EXPERTS (W16, and W8A8 with int8 hidden
codes), a dense W8A8 MLP whose fc1 writes int8 codes that fc2 reads (codes_in), a CONV
through the line buffer and one that reads every tap.

Cycles on the board's memory at 300 MHz (64 cycles of read latency, as on
edge-moe-zcu102-w8a8), MEASURED on the RTL, against edgemoe.perf (MODELLED) with the routing
the RTL's queues hold: a W8A8 LINEAR of short rows (32 int8 codes), a W16 and a W8A8
MOE_EXPERTS, whose tokens wait on their rows' read latency with 2 row slots (``slots2``),
run measurably faster with 4, and the model follows each within 5 %.  (Modelled with the
tokens spread evenly instead, the W8A8 experts, routed 16 / 16 / 0, came out 19-24 % over.)
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q8mlp import q8_mlp
from q8moe import q8_experts
from q8util import q8_linear
from rtldesigns import board_executor, design

from edgemoe.isa import Flag, Op
from edgemoe.perf.model import model_program
from edgemoe.perf.traffic import queue_counts

pytestmark = pytest.mark.sim

#: edgemoe.perf vs the RTL cycles on the board's memory (the bound of tests/test_perf_model.py)
PERF_MODEL_ERROR = 0.05
#: The timed cases: name -> the program's op the engine runs (MOE_EXPERTS after MOE_GATE).
TIMED = {"q8_short_rows": 0, "w16_moe": 1, "q8_moe": 0}


def _timed_cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(7)
    q8 = q8_linear(accel, 55, 16, 16, 32)  # 4 x 8 tiles: 16 MAC cycles a token (pairs)
    moe8 = q8_experts(accel, 52, 16, 16, 32, 3, 2)  # int8 hidden codes between fc1 and fc2
    return [ru.Case("q8_short_rows", q8.scratch, [q8.ins]),
            ru.moe(accel, rng, "w16_moe", 16, 16, 4, 32, 2),
            ru.Case("q8_moe", moe8.scratch, [moe8.ins])]


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(8)
    out = _timed_cases(accel) + [
        ru.linear(accel, rng, "w16_short_rows", 16, 8, 8),
        ru.moe(accel, rng, "w16_moe_no_residual", 9, 8, 3, 12, 1, residual=False),
        ru.linear(accel, rng, "w16_gelu_partial_tile", 5, 10, 20, Flag.GELU),
        ru.linear(accel, rng, "w16_residual_relu", 7, 12, 8, Flag.RESIDUAL | Flag.RELU),
        ru.linear(accel, rng, "w16_gather", 6, 8, 12, Flag.GATHER, rows=11),
        ru.linear(accel, rng, "w16_score_acc_scatter", 9, 12, 16,
                  Flag.SCORE_ACC | Flag.SCATTER, rows=13),
        ru.conv(accel, rng, "conv_line_3x3_residual", 7, 5, 4, 3, 3, 2, 2, Flag.RESIDUAL),
        ru.conv(accel, rng, "conv_taps_odd_channels", 4, 5, 3, 6, 3, 1, 1),
    ]
    q8 = q8_linear(accel, 53, 6, 20, 24, Flag.GELU)
    out.append(ru.Case("q8_gelu", q8.scratch, [q8.ins]))
    mlp = q8_mlp(accel, 54, 9, 16, 40)  # fc1 writes hidden codes, fc2 reads them
    out.append(ru.Case("q8_mlp_codes", mlp.scratch, mlp.program))
    return out


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    """design -> case name -> outcome on the board's memory (``slots2``: the timed cases)."""
    return {"slots4": ru.run_cases(board_executor("slots4")[0], _cases(design("slots4"))),
            "slots2": ru.run_cases(board_executor("slots2")[0], _timed_cases(design("slots2")))}


def test_the_designs_differ_in_their_row_slots_only():
    two, four = design("slots2"), design("slots4")
    assert (two.linear_row_slots, four.linear_row_slots) == (2, 4)
    assert {k: v for k, v in four.to_dict().items() if k != "linear_row_slots"} == two.to_dict()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_four_slots_match_golden(outcomes, name):
    out = outcomes["slots4"][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], name


def _cycles(outcomes, name: str, case: str) -> tuple[int, float]:
    """(MEASURED RTL cycles, MODELLED cycles) of a timed case's engine op on ``name``."""
    out = outcomes[name][case]
    assert out.problems() == [], (name, case, out.problems())
    op = TIMED[case]
    mem = board_executor(name)[1]
    prog = out.case.program  # (an expert job's queues are left as they were routed)
    routing = {i: queue_counts(out.rtl, ins) for i, ins in enumerate(prog)
               if ins.op == Op.MOE_EXPERTS}
    modelled = model_program(prog, design(name), routing, memory=mem).ops[op].cycles
    return ru.profile_cycles(out.rtl, op), modelled


@pytest.mark.parametrize("case", list(TIMED))
def test_four_slots_run_faster_and_the_model_follows(outcomes, case):
    (m2, p2), (m4, p4) = _cycles(outcomes, "slots2", case), _cycles(outcomes, "slots4", case)
    for measured, modelled in ((m2, p2), (m4, p4)):
        assert abs(modelled - measured) <= PERF_MODEL_ERROR * measured, (case, modelled, measured)
    assert m4 < 0.9 * m2, (case, m4, m2)


def test_the_line_buffer_model_follows_four_slots(outcomes):
    """The CONV through the line buffer (edgemoe.perf.conv_line: a pixel's slot frees when
    the MAC array is done with the pixel 4 back, 16 descriptor entries)."""
    out = outcomes["slots4"]["conv_line_3x3_residual"]
    accel, mem = design("slots4"), board_executor("slots4")[1]
    measured = ru.profile_cycles(out.rtl)
    modelled = model_program(out.case.program, accel, memory=mem).ops[0].cycles
    assert abs(modelled - measured) <= PERF_MODEL_ERROR * measured, (modelled, measured)
