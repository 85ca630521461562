"""GATHER / SCATTER index read-ahead of the linear engine's row loader (edgemoe_lin_loader.sv,
edgemoe_lin_index.sv).

A gathered token's row address, a scattered token's base row and destination, depend on
its u32 index.  The loader used to read each token's index and wait a read latency for it
before the row reads; GATHER and SCATTER jobs now read the index list ahead in chunks
(codegen.constants.INDEX_CHUNK) into a ring, so with short rows and few MACs per token a
gathered job costs about what the plain LINEAR does.  Measured on the RTL with the board's
memory (byte-identical with golden) against the cycles the same cases took with the
per-token index wait (MEASURED: GATHER on commit 'final11', SCATTER on 8415825, where only
GATHER read ahead), and against edgemoe.perf.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import board_executor, design

from edgemoe.isa import Flag
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.sim

#: tokens, out, in, source rows on ``tiny`` (4x4 tiles): 2 x 8 tile beats per token, so a
#: token's row round trip, not its MACs, sets its pace and an index wait would show.
SHAPE = (40, 8, 32, 48)
#: flags of each case
CASES = {"plain": 0, "gather": Flag.GATHER,
         "scatter_acc": Flag.GATHER | Flag.SCATTER | Flag.SCORE_ACC}  # MOE_EXPERTS fc2's form
#: RTL cycles of each case with the per-token index wait (MEASURED before the read-ahead,
#: with the board's memory) and what edgemoe.perf modelled for them then.
BEFORE = {"gather": 1960, "scatter_acc": 2003}
MODELLED_BEFORE = {"gather": 1905, "scatter_acc": 1985}
#: measured saving vs the modelled one
SAVING_ERROR = 0.15
#: edgemoe.perf vs the measured cycles (the bound of tests/test_perf_model.py on the
#: board's memory).
PERF_MODEL_ERROR = 0.05




@pytest.fixture(scope="module")
def measured():
    accel = design("tiny")
    t, n, k, rows = SHAPE
    cases = [ru.linear(accel, np.random.default_rng(7), name, t, n, k, flags,
                       rows=rows if flags else None) for name, flags in CASES.items()]
    return {c.name: c for c in cases}, ru.run_cases(board_executor("tiny")[0], cases)


def test_indexed_rows_are_bit_exact(measured):
    _, outs = measured
    for out in outs.values():
        assert out.golden_error == 0 and out.problems() == []


@pytest.mark.parametrize("name", ["gather", "scatter_acc"])
def test_read_ahead_saves_what_the_model_says(measured, name):
    """The gathered and the scattered job save over a quarter of their cycles, within 15 %
    of the saving the model predicts."""
    cases, outs = measured
    now = ru.profile_cycles(outs[name].rtl)
    mem = board_executor("tiny")[1]
    modelled = model_program(cases[name].program, design("tiny"), memory=mem).ops[0].cycles
    saved, modelled_saved = BEFORE[name] - now, MODELLED_BEFORE[name] - modelled
    assert saved >= 0.25 * BEFORE[name], (now, BEFORE[name])
    assert abs(saved - modelled_saved) <= SAVING_ERROR * saved, (saved, modelled_saved)


def test_gathered_rows_cost_about_the_plain_ones(measured):
    """A gathered job now costs under a fifth of what the per-token index wait added to
    the plain job before (the ring's chunk reads and the first index remain)."""
    _, outs = measured
    plain, now = ru.profile_cycles(outs["plain"].rtl), ru.profile_cycles(outs["gather"].rtl)
    assert now - plain <= 0.2 * (BEFORE["gather"] - plain), (plain, now, BEFORE["gather"])


@pytest.mark.parametrize("name", list(CASES))
def test_performance_model_matches_the_rtl(measured, name):
    cases, outs = measured
    mem = board_executor("tiny")[1]
    modelled = model_program(cases[name].program, design("tiny"), memory=mem).ops[0].cycles
    rtl = ru.profile_cycles(outs[name].rtl)
    assert abs(modelled - rtl) <= PERF_MODEL_ERROR * rtl, (modelled, rtl)
