"""LIF (opcode 10) on the golden executor against an independent per-neuron model, and the
float SNN reference against the golden executor on a whole stack."""

from __future__ import annotations

import numpy as np
import pytest
from lifutil import lif_data, lif_expected
from progutil import Scratch

from edgemoe.isa import LIF_CURRENT_INPUT, LIF_READOUT, Err, Instr, Op, pack_mode_leak
from edgemoe.layout import pack_tiled
from edgemoe.params import load_accel

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def accel():
    return load_accel("snn-tiny", ["buffers.max_timesteps=8"])


def _run(accel, n, k, steps, mode, threshold, leak, seed):
    f, rng = accel.formats, np.random.default_rng(seed)
    spikes, w, b, cur = lif_data(rng, n, k, steps, f)
    s = Scratch(accel)
    po, pi = accel.linear_p_out, accel.linear_p_in
    src = s.put_raw(cur, f.act) if mode & LIF_CURRENT_INPUT else s.put(spikes)
    wo = s.put_raw(pack_tiled(w, po, pi), f.linear_weight)
    bo = s.put_raw(np.concatenate([b, np.zeros(-n % po, np.int64)]), f.bias)
    dst = s.alloc(4 * n * max(steps, 1))
    ins = Instr.make(Op.LIF, neurons=n, inputs=k, timesteps=steps, threshold=threshold,
                     mode_leak=pack_mode_leak(mode, leak), src=src, dst=dst, weights=wo, bias=bo)
    assert s.run([ins]) == Err.OK, s.status()
    if mode & LIF_READOUT:
        got = s.get_raw(dst, n, f.act).tolist()
    else:
        got = s.image[dst:dst + steps * n].reshape(steps, n).astype(int).tolist()
    return got, lif_expected(spikes, w, b, cur, mode, steps, threshold, leak, f), s


@pytest.mark.parametrize("n,k,steps", [(10, 13, 1), (8, 8, 2), (7, 33, 4), (1, 1, 3)])
@pytest.mark.parametrize("mode", [0, LIF_CURRENT_INPUT, LIF_READOUT])
def test_lif_matches_the_per_neuron_model(accel, n, k, steps, mode):
    th = int(0.75 * 2 ** accel.formats.act.frac_bits)
    got, want, _ = _run(accel, n, k, steps, mode, th, leak=58982, seed=n * 100 + k + steps)
    assert got == want


def test_spikes_are_strictly_greater_than_the_threshold(accel):
    """A membrane exactly at the threshold does not fire (hls4ml's neurons use >=)."""
    f = accel.formats
    s = Scratch(accel)
    th = 1 << f.act.frac_bits
    cur = np.array([th, th + 1, th - 1, 2 * th + 1])
    src, dst = s.put_raw(cur, f.act), s.alloc(64)
    ins = Instr.make(Op.LIF, neurons=4, inputs=4, timesteps=2, threshold=th,
                     mode_leak=pack_mode_leak(LIF_CURRENT_INPUT, 1 << 16), src=src, dst=dst)
    assert s.run([ins]) == Err.OK
    spikes = s.image[dst:dst + 8].reshape(2, 4).tolist()
    # step 1: th -> no; th+1 -> fire, keeps 1 LSB; th-1 -> no; 2th+1 -> fire, keeps th+1
    # step 2: 2th -> fire; th+2 -> fire; 2th-2 -> fire; 2th+2 -> fire
    assert spikes == [[0, 1, 0, 1], [1, 1, 1, 1]]


def test_readout_accumulates_over_t_without_division(accel):
    f = accel.formats
    one = 1 << f.act.frac_bits
    for steps in (1, 3):
        got, want, _ = _run(accel, 6, 9, steps, LIF_READOUT, one, 1 << 16, seed=7)
        assert got == want
    got1, _, _ = _run(accel, 6, 9, 1, LIF_READOUT | LIF_CURRENT_INPUT, one, 1 << 16, seed=8)
    got3, _, _ = _run(accel, 6, 9, 3, LIF_READOUT | LIF_CURRENT_INPUT, one, 1 << 16, seed=8)
    assert got3 == [3 * v for v in got1]  # leak 1: u_T = T * current


def test_t1_ignores_the_leak(accel):
    """At T = 1 no membrane outlives the step: the leak cannot change anything."""
    th = 1 << accel.formats.act.frac_bits
    a = _run(accel, 9, 20, 1, 0, th, 0, seed=3)[0]
    b = _run(accel, 9, 20, 1, 0, th, 1 << 16, seed=3)[0]
    assert a == b


def test_profile_counts_adds_and_weight_bytes(accel):
    _, _, s = _run(accel, 8, 12, 3, 0, 1 << 20, 1 << 15, seed=1)
    p = s.profile(0)
    assert p["macs"] == 3 * 8 * 12
    assert p["weight_bytes"] == 192 + 64  # 8 x 12 int16 weights (tile-aligned); bias 16 -> 64
    assert p["cycles"] == (8 // 4) * 3 * (12 // 4 + 1)


@pytest.mark.parametrize("field,value", [("timesteps", 9), ("neurons", 129), ("inputs", 129),
                                         ("mode_leak", 4), ("mode_leak", ((1 << 16) + 1) << 8),
                                         ("mode_leak", 1 << 31), ("threshold", 0),
                                         ("timesteps", 0)])
def test_bad_lif_fields_are_refused(accel, field, value):
    s = Scratch(accel)
    fields = {"neurons": 8, "inputs": 8, "timesteps": 2, "threshold": 5, "mode_leak": pack_mode_leak(0, 1),
                  "src": s.alloc(64), "dst": s.alloc(64), "weights": s.alloc(256), "bias": s.alloc(64)}
    fields[field] = value
    assert s.run([Instr.make(Op.LIF, **fields)]) == Err.BAD_SHAPE
