"""AXI traffic of the fused attention engine: K and V once per head, at most a beat a cycle.

An AXI monitor in the bench counts R- and W-channel beats per cycle while the attention
engine owns the DMA, and R beats per window of the monitor's window length.  Per head the
engine reads every K and V row once into its on-chip K/V memory and every Q row once (a
query block's rows before its first step), and writes every output row once, so

    R beats = heads * 3 * T * C,  W beats = heads * T * C

with C = beats per head row, whatever the number of lanes p.  The reads come through one
DMA that delivers at most one beat a cycle, so no window asks for more than the port's
beat a cycle; more lanes mean fewer query blocks, hence fewer on-chip steps and cycles,
with the same traffic.
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


def row_beats(accel) -> int:
    return math.ceil(HEAD_DIM / accel.act_per_beat)


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
def test_attention_correct_and_each_row_crosses_ddr_once(runs, p):
    accel, out = runs[p]
    assert out.problems() == []
    mon = out.monitor
    assert mon["max_r_per_cycle"] <= 1
    assert mon["r_beats"][OWNER_ATTENTION] == HEADS * 3 * T * row_beats(accel)
    assert mon["w_beats"][OWNER_ATTENTION] == HEADS * T * row_beats(accel)


@pytest.mark.parametrize("p", [2, 4, 8])
def test_no_window_reads_more_than_a_beat_per_cycle(runs, p):
    _, out = runs[p]
    mon = out.monitor
    windows = mon["r_windows"][OWNER_ATTENTION]
    assert len(windows) >= 4  # the op spans several windows
    assert max(windows) <= mon["window"]
    # the K/V loads stream at the port's rate: some window is (nearly) all beats
    assert max(windows) >= mon["window"] - 8, windows


def test_more_lanes_same_traffic_fewer_cycles(runs):
    cycles, beats = {}, {}
    for p, (_, out) in runs.items():
        cycles[p] = out.monitor["cycles"][OWNER_ATTENTION]
        beats[p] = out.monitor["r_beats"][OWNER_ATTENTION]
    assert len(set(beats.values())) == 1, beats
    # more lanes: fewer query blocks, so fewer on-chip QK^T/AV steps
    assert cycles[8] < cycles[4] < cycles[2], cycles
