"""AXI reads of the attention engine stay at one Q beat + one K beat per step as p grows.

An AXI monitor in the bench counts R-channel beats per cycle while the attention engine
owns the DMA.  On the staggered schedule every step of a query block reads one K (then V)
beat per head-row chunk, and each query row is read exactly once (right before its lane's
first step), so the beats are

    sum over heads and query blocks of  C * (nq + 2 * (nq + t - 1))

with C = beats per head row and nq = queries in the block, and the reads per cycle do not
grow with p (the port stays busy; the block count, hence the cycles, shrink).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import design, executor

from edgemoe.ops import ENGINES

pytestmark = pytest.mark.sim

T, HEADS, HEAD_DIM = 16, 2, 16
OWNER_ATTENTION = str(ENGINES.index("attn"))  # DMA owner code of the attention engine


def expected_beats(accel) -> int:
    p = accel.attn_lanes
    c = math.ceil(HEAD_DIM / accel.act_per_beat)
    beats = 0
    for qb in range(math.ceil(T / p)):
        nq = min(p, T - qb * p)
        beats += c * (nq + 2 * (nq + T - 1))
    return HEADS * beats


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name in ("tiny", "alt", "p8"):
        accel = design(name)
        case = ru.attention(accel, np.random.default_rng(3), "att", T, HEADS, HEAD_DIM)
        out[accel.attn_lanes] = (accel, ru.run_cases(executor(name), [case], monitor=True)["att"])
    return out


def test_lanes_cover_2_4_8(runs):
    assert sorted(runs) == [2, 4, 8]


@pytest.mark.parametrize("p", [2, 4, 8])
def test_attention_correct_and_reads_match_schedule(runs, p):
    accel, out = runs[p]
    assert out.problems() == []
    mon = out.monitor
    assert mon["max_r_per_cycle"] <= 1
    assert mon["r_beats"][OWNER_ATTENTION] == expected_beats(accel)


def test_reads_per_cycle_constant_as_p_grows(runs):
    rates, cycles = {}, {}
    for p, (_, out) in runs.items():
        mon = out.monitor
        cycles[p] = mon["cycles"][OWNER_ATTENTION]
        rates[p] = mon["r_beats"][OWNER_ATTENTION] / cycles[p]
    # one beat per cycle at most (one Q or K beat), and the same rate whatever p is
    assert all(0.75 <= r <= 1.0 for r in rates.values()), rates
    assert max(rates.values()) - min(rates.values()) <= 0.1, rates
    # more lanes: fewer query blocks, fewer K/V re-reads, fewer cycles
    assert cycles[8] < cycles[4] < cycles[2], cycles
