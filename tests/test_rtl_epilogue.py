"""The linear engine's epilogue over fewer lanes than P_OUT (edgemoe_lin_epilogue.sv).

On ``wide`` (8x8 tile) the epilogue quantizes 4 lanes per cycle, so an output tile takes
2 cycles in it: results and overflow counts must stay byte-identical with golden for
every epilogue path (GELU, RESIDUAL + ReLU, SCORE_ACC through MOE_EXPERTS, the MOE_GATE
logits to the router, a partial last tile), and the tile-last beats must wait for it when
K / P_IN is below the step count (one input tile here).  W8A8 (Flag.WFMT_Q8) pairs two
output tiles on the multipliers: the pair's high tile enters the epilogue after the low
one is done, so a pair of one input tile issues every 2 x 2 cycles (edgemoe.perf agrees).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q8util import q8_linear
from rtldesigns import design, executor

from edgemoe.isa import Flag
from edgemoe.perf.memory import memory_timing
from edgemoe.perf.model import model_program
from edgemoe.rtl import RtlsimExecutor

pytestmark = pytest.mark.sim

#: Tokens and output features of the pace cases (12 output tiles per token, MAC-bound).
PACE_T, PACE_N = 16, 96
#: Input features of the pace cases: 1, 2 and 3 input tiles per output tile.
PACE_K = (8, 16, 24)


@pytest.fixture(scope="module")
def outcomes():
    accel = design("wide")
    assert (accel.linear_epilogue_lanes, accel.linear_epilogue_steps) == (4, 2)
    rng = np.random.default_rng(11)
    cases = [
        ru.linear(accel, rng, "gelu_partial_tile", 5, 20, 40, Flag.GELU),
        ru.linear(accel, rng, "residual_relu_small_k", 4, 12, 8, Flag.RESIDUAL | Flag.RELU),
        ru.moe(accel, rng, "moe_score_acc", 6, 16, 4, 24, 2),
    ] + [ru.linear(accel, rng, f"pace_k{k}", PACE_T, PACE_N, k) for k in PACE_K]
    for name, seed, t, n, k, flags in Q8_CASES:
        c = q8_linear(accel, seed, t, n, k, flags)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    return {c.name: c for c in cases}, ru.run_cases(executor("wide"), cases)


#: W8A8 on ``wide`` (name, seed, t, n, k, flags): one input tile (the pair's two tiles take
#: 2 x 2 epilogue cycles, more than its MAC beat) with an odd tile count (a lone last
#: tile, partial), many input tiles, and a MAC-bound one-input-tile layer for the pace.
Q8_CASES = (
    ("q8_one_input_tile", 21, 7, 36, 8, Flag.GELU),
    ("q8_many_input_tiles", 22, 5, 36, 72, Flag.RELU),
    ("q8_pace_k8", 23, PACE_T, PACE_N, 8, 0),
)
#: edgemoe.perf vs the RTL cycles of the W8A8 pace case on the board's memory (as
#: tests/test_perf_model.py per op type).
PERF_MODEL_ERROR = 0.05


@pytest.mark.parametrize("name", ["gelu_partial_tile", "residual_relu_small_k",
                                  "moe_score_acc", *(f"pace_k{k}" for k in PACE_K),
                                  *(c[0] for c in Q8_CASES)])
def test_two_step_epilogue_matches_golden(outcomes, name):
    out = outcomes[1][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], out.problems()


def test_one_input_tile_runs_at_the_epilogue_pace(outcomes):
    """Each step of K by one input tile adds the same weight load (12 tiles); from 2 to 3
    tiles it also adds a MAC cycle per output tile (16 tokens x 12 tiles = 192 cycles),
    from 1 to 2 it adds none: a 1-tile output tile already takes the 2 epilogue steps.
    Without the hold the two steps would differ by nothing but noise."""
    c1, c2, c3 = (ru.profile_cycles(outcomes[1][f"pace_k{k}"].rtl) for k in PACE_K)
    mac_step = PACE_T * PACE_N // 8
    assert (c3 - c2) - (c2 - c1) >= 0.5 * mac_step, (c1, c2, c3)


def test_q8_pairs_run_at_the_epilogue_pace(outcomes):
    """A W8A8 pair of one input tile takes 2 x 2 epilogue cycles: 6 pairs x 4 cycles per
    token, the same MAC time as the W16 layer of 12 tiles x 2 steps (the pair's saving
    needs K / P_IN >= 4 here), and edgemoe.perf models that pace."""
    cases, outs = outcomes
    q8 = ru.profile_cycles(outs["q8_pace_k8"].rtl)
    w16 = ru.profile_cycles(outs["pace_k8"].rtl)
    mac = PACE_T * PACE_N // 8 * 2  # tokens x tiles x epilogue steps
    assert q8 >= mac and w16 >= mac, (q8, w16, mac)
    # the model against the RTL on the board's memory (the runs above use the ideal RAM)
    accel = design("wide")
    mem = memory_timing(accel)
    board = ru.run_cases(RtlsimExecutor(accel, memory=mem.bench_spec()), [cases["q8_pace_k8"]])
    measured = ru.profile_cycles(board["q8_pace_k8"].rtl)
    modelled = model_program(cases["q8_pace_k8"].program, accel, memory=mem).ops[0].cycles
    assert abs(modelled - measured) <= PERF_MODEL_ERROR * measured, (modelled, measured)
