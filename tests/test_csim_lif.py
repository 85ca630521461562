"""LIF on C-sim against the golden executor, byte for byte (random bytes everywhere else)."""

from __future__ import annotations

import pytest
from test_csim_ops import Prog, run_both

from edgemoe.isa import LIF_CURRENT_INPUT, LIF_READOUT, Err, Op, pack_mode_leak
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module", params=[1, 4], ids=["T1-build", "T4-build"])
def snn(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("snn-tiny", [f"buffers.max_timesteps={request.param}"])
    return accel, CsimExecutor(accel)


def _lif(p: Prog, n: int, k: int, steps: int, mode: int, leak: int = 52429,
         scale: float | None = 0.5) -> None:
    act = p.f.act
    if mode & LIF_CURRENT_INPUT:
        src = p.tensor(n, scale=3.0)
    else:
        src = p.b.place("inputs", p.rng.integers(0, 256, steps * k).astype("u1"))
    dst = p.garbage(4 * n if mode & LIF_READOUT else steps * n)
    p.emit(Op.LIF, neurons=n, inputs=k, timesteps=steps, threshold=int(act.quantize(0.6)),
           mode_leak=pack_mode_leak(mode, leak), src=src, dst=dst, weights=p.matrix(n, k, scale=scale),
           bias=p.vector(n, scale=1.0))


@pytest.mark.parametrize("n,k,steps", [(10, 13, 1), (7, 33, 4), (16, 128, 2), (1, 1, 3)])
@pytest.mark.parametrize("mode", [0, LIF_CURRENT_INPUT, LIF_READOUT, LIF_READOUT | LIF_CURRENT_INPUT])
def test_lif(snn, n, k, steps, mode):
    accel = snn[0]
    p = Prog(accel, seed=n * 10 + k + steps + 1000 * mode)
    _lif(p, n, k, steps, mode)
    run_both(snn, p, expect=Err.OK if steps <= accel.max_timesteps else Err.BAD_SHAPE)


def test_lif_narrow_saturating_act():
    """A 16-bit rounding, saturating act: currents and membranes saturate identically."""
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("snn-tiny", ["buffers.max_timesteps=2",
                                    "formats.act=ap_fixed<16,4,AP_RND,AP_SAT>"])
    design = (accel, CsimExecutor(accel))
    for mode in (0, LIF_READOUT):
        p = Prog(accel, seed=5 + mode)
        _lif(p, 12, 64, 2, mode, leak=1 << 16, scale=None)  # sums up to 128: act holds 8
        gold, manifest = run_both(design, p)
        prof = gold[manifest["status"]["offset"] + 64:][:64].view("<u8")
        assert prof[6] > 0  # overflows counted
