"""cocotb bench of the SystemVerilog numerics kernels against edgemoe.numerics (bit-exact).

The design point (hence the act format and its quantization/overflow modes) is named by
``EDGEMOE_ACCEL`` (+ ``EDGEMOE_OVERRIDES``, ';'-separated); ``NUMERICS_N`` vectors per kernel.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer

from edgemoe import numerics
from edgemoe.golden.vector_ops import ln_types
from edgemoe.params import load_accel


async def _eval(dut, op: int, xs, ys=None, zs=None, flags: list | None = None) -> np.ndarray:
    out = np.empty(len(xs), np.int64)
    dut.op.value = op
    for i in range(len(xs)):
        dut.x.value = int(xs[i]) & (2**64 - 1)
        dut.y.value = int(ys[i]) & (2**64 - 1) if ys is not None else 0
        dut.z.value = int(zs[i]) & (2**64 - 1) if zs is not None else 0
        await Timer(1, unit="ns")
        out[i] = dut.r.value.to_signed()
        if flags is not None:
            flags.append(int(dut.ovf.value))
    return out


def _counted(act, raws, fracs) -> tuple[np.ndarray, np.ndarray]:
    """Golden value and wrap/saturation flag of each exact raw value (Python ints)."""
    pairs = [act.from_raw_counted(np.array([r], dtype=object), fr) for r, fr in zip(raws, fracs)]
    return np.array([int(v[0]) for v, _ in pairs]), np.array([c for _, c in pairs])


def _check(name: str, got: np.ndarray, want: np.ndarray, *inputs) -> None:
    bad = np.flatnonzero(got != want)
    if bad.size:
        i = bad[0]
        raise AssertionError(f"{name}: {bad.size}/{got.size} differ; first at inputs "
                             f"{[int(v[i]) for v in inputs]}: rtl {got[i]} golden {want[i]}")


@cocotb.test()
async def kernels(dut):
    """Every kernel on random and edge inputs equals the numpy kernel bit for bit."""
    overrides = [o for o in os.environ.get("EDGEMOE_OVERRIDES", "").split(";") if o]
    accel = load_accel(os.environ.get("EDGEMOE_ACCEL", "tiny"), overrides)
    act = accel.formats.act
    var_t, rstd_t = ln_types(act)
    n = int(os.environ.get("NUMERICS_N", "400"))
    rng = np.random.default_rng(int(os.environ.get("NUMERICS_SEED", "0")))
    f = act.frac_bits
    lo, hi = act.raw_min, act.raw_max

    # quantizer: exact values at other fraction counts (products, sums, shifts both ways)
    v = np.concatenate([rng.integers(-(2**62), 2**62, n // 2, dtype=np.int64),
                        rng.integers(-(2**40), 2**40, n // 2, dtype=np.int64),
                        np.array([0, -1, 1, 2**62, -(2**62), hi, lo], np.int64)])
    sh = rng.integers(-40, 100, v.size)  # beyond 62: the sticky-bit path
    sh[:8] = [0, 1, 22, -1, -30, 62, 5, 44]
    want, counted = _counted(act, [int(a) for a in v], [f + int(s) for s in sh])
    flags: list = []
    _check("q_act", await _eval(dut, 0, v, sh, flags=flags), want, v, sh)
    right = sh >= 0  # the flag covers right shifts (every quantization point in use)
    _check("q_act overflow flag", np.array(flags)[right], counted[right], v[right], sh[right])

    # attention scores: the exact 64 x 32-bit product rounded once (vector_ops.scaled_scores)
    a = np.concatenate([rng.integers(-(2**62), 2**62, n // 2, dtype=np.int64),
                        rng.integers(-(2**40), 2**40, n // 2, dtype=np.int64),
                        np.array([-(2**63), 2**63 - 1, 0, -1], np.int64)])
    b = rng.integers(-(2**31), 2**31, a.size, dtype=np.int64)
    b[-4:] = [-(2**31), 2**31 - 1, 5, -(2**31)]
    psh = rng.integers(0, 70, a.size)
    psh[:3] = [0, 1, 2 * f]
    want, counted = _counted(act, [int(x) * int(y) for x, y in zip(a, b)],
                             [f + int(s) for s in psh])
    flags = []
    _check("q_act product", await _eval(dut, 7, a, b, psh, flags=flags), want, a, b, psh)
    _check("q_act product overflow flag", np.array(flags), counted, a, b, psh)

    x = np.concatenate([rng.integers(-(33 << f), 1, n, dtype=np.int64),
                        np.array([0, -1, 1, 5 << f, -(40 << f), 2 * lo, lo], np.int64)])
    _check("exp_neg", await _eval(dut, 1, x), numerics.exp_neg(x, act, act), x)

    x = np.concatenate([rng.integers(1, hi, n, dtype=np.int64),
                        rng.integers(1, 1 << f, n // 4, dtype=np.int64),
                        np.array([1, 2, 1 << f, hi, 0, -5], np.int64)])
    _check("reciprocal", await _eval(dut, 2, x), numerics.reciprocal(x, act, act), x)

    x = np.concatenate([rng.integers(1, 2**50, n, dtype=np.int64),
                        rng.integers(1, 2**20, n // 4, dtype=np.int64),
                        np.array([1, 2, 3, 2**51 - 1, 0, -7], np.int64)])
    _check("rsqrt", await _eval(dut, 3, x), numerics.rsqrt(x, var_t, rstd_t), x)

    x = np.concatenate([rng.integers(lo, hi, n, dtype=np.int64),
                        rng.integers(-(8 << f), 8 << f, n, dtype=np.int64),
                        np.array([0, -1, 1, lo, hi, 176 << (f - 5), -(176 << (f - 5))], np.int64)])
    _check("gelu", await _eval(dut, 4, x), numerics.gelu(x, act), x)

    b = rng.integers(-(20 << f), 20 << f, n, dtype=np.int64)
    b[:4] = lo
    s_ = rng.integers(0, 100 << f, n, dtype=np.int64)
    sc = rng.integers(-(20 << f), 20 << f, n, dtype=np.int64)
    _, want_sum = numerics.softmax_update(b, s_, sc, act)
    _check("softmax_update", await _eval(dut, 5, b, s_, sc), want_sum, b, s_, sc)

    rec = rng.integers(0, 1 << f, n, dtype=np.int64)
    want = numerics.softmax_probs(sc, b, rec, act)
    _check("softmax_probs", await _eval(dut, 6, sc, b, rec), want, sc, b, rec)
