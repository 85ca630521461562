"""GELU against the exact erf-GELU and the online softmax against float64 softmax."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgemoe.numerics import (
    NumericsError,
    exp_neg,
    gelu,
    gelu_delta_table,
    reciprocal,
    softmax_init,
    softmax_probs,
    softmax_row,
    softmax_update,
)
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit

ACT = FixedType.parse("ap_fixed<32,10>")
ONE = 1 << ACT.frac_bits
GELU_BOUND = 5.5e-5  # published in gelu's docstring (measured 4.9e-5)
SOFTMAX_BOUND = 2e-5  # published in softmax_row's docstring (measured 5.2e-6)

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu_ref(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _softmax_ref(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- GELU


def test_gelu_max_abs_error_on_minus8_to_8() -> None:
    x = np.concatenate(
        [
            ACT.quantize(np.linspace(-8.0, 8.0, (16 << 17) + 1)),  # every 2**-17 incl. midpoints
            ACT.quantize(np.random.default_rng(0).uniform(-8.0, 8.0, 200_000)),
            np.array([0, 1, -1, 176 << 17, (176 << 17) - 1, -(176 << 17) + 1], dtype=np.int64),
        ]
    )
    err = np.abs(ACT.to_float(gelu(x, ACT)) - _gelu_ref(ACT.to_float(x)))
    assert err.max() <= GELU_BOUND


def test_gelu_is_relu_beyond_5_5_and_odd_part_is_exact() -> None:
    big = np.concatenate(
        [
            np.arange(176 << 17, (176 << 17) + 5000, dtype=np.int64),
            np.array([ACT.raw_max, 100 << 22], dtype=np.int64),
        ]
    )
    assert gelu(big, ACT).tolist() == big.tolist()
    assert gelu(-big, ACT).tolist() == [0] * big.size
    # GELU(x) - GELU(-x) = x holds bit for bit (same delta, exact subtraction, TRN)
    x = ACT.quantize(np.random.default_rng(1).uniform(-6.0, 6.0, 100_000))
    assert np.array_equal(gelu(x, ACT) - gelu(-x, ACT), x)


def test_gelu_other_activation_format() -> None:
    act = FixedType.parse("ap_fixed<24,8>")  # 16 fraction bits, table stays Q0.22
    x = act.quantize(np.linspace(-8.0, 8.0, 400_001))
    err = np.abs(act.to_float(gelu(x, act)) - _gelu_ref(act.to_float(x)))
    assert err.max() <= GELU_BOUND + 2.0**-16


def test_gelu_delta_table_shape_range_and_interpolation_quality() -> None:
    t = gelu_delta_table(ACT)
    assert t.shape == (177,) and t.dtype == np.int64
    assert t.min() >= 0 and t.max() < (1 << 22)
    assert not t.flags.writeable
    # the piecewise-linear function of the entries stays within the bound of delta(a)
    a = np.linspace(0.0, 5.5, 176 * 64 + 1)
    pwl = np.interp(a, np.arange(177) / 32.0, t * 2.0**-22)
    delta = a * 0.5 * np.vectorize(math.erfc)(a / math.sqrt(2.0))
    assert np.abs(pwl - delta).max() <= GELU_BOUND - 2.0**-22
    # and beats sampling delta at the nodes (Edge-MoE's table: 9.8e-5 at x ~ 0)
    nodes = np.arange(177) / 32.0
    sampled = np.interp(a, nodes, nodes * 0.5 * np.vectorize(math.erfc)(nodes / math.sqrt(2.0)))
    assert np.abs(pwl - delta).max() < 0.6 * np.abs(sampled - delta).max()


def test_gelu_rejects_too_few_fraction_bits() -> None:
    with pytest.raises(NumericsError, match="fraction bits"):
        gelu(np.array([0]), FixedType.parse("ap_fixed<8,6>"))


# ---------------------------------------------------------------- softmax


def test_softmax_row_129_scores_many_seeds_and_update_orders() -> None:
    worst = 0.0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        s = ACT.quantize(rng.uniform(-20.0, 20.0, (48, 129)))
        ref = _softmax_ref(ACT.to_float(s))
        probs, bias, _recip = softmax_row(s, ACT)
        assert np.array_equal(bias, s.max(axis=1))  # running max is exact in any order
        worst = max(worst, np.abs(ACT.to_float(probs) - ref).max())
        perm = rng.permutation(129)
        probs_p, bias_p, _ = softmax_row(s[:, perm], ACT)
        assert np.array_equal(bias_p, bias)
        worst = max(worst, np.abs(ACT.to_float(probs_p) - ref[:, perm]).max())
    assert worst <= SOFTMAX_BOUND


def test_softmax_row_axis_and_degenerate_rows() -> None:
    rng = np.random.default_rng(7)
    s = ACT.quantize(rng.uniform(-20.0, 20.0, (129, 3, 4)))
    probs, bias, recip = softmax_row(s, ACT, axis=0)
    probs_t, bias_t, recip_t = softmax_row(np.moveaxis(s, 0, -1), ACT)
    assert np.array_equal(np.moveaxis(probs, 0, -1), probs_t)
    assert np.array_equal(bias, bias_t) and np.array_equal(recip, recip_t)
    # one score -> probability exactly 1.0; equal scores -> 1/129 each
    p1, _, _ = softmax_row(np.array([[123456789], [ACT.raw_min]], dtype=np.int64), ACT)
    assert p1.tolist() == [[ONE], [ONE]]
    peq, _, _ = softmax_row(np.full((1, 129), -(3 << 22), dtype=np.int64), ACT)
    assert np.abs(ACT.to_float(peq) - 1.0 / 129).max() <= SOFTMAX_BOUND
    with pytest.raises(NumericsError, match="at least one score"):
        softmax_row(np.zeros((2, 0), dtype=np.int64), ACT)


def test_softmax_update_follows_the_documented_quantization_order() -> None:
    bias, sum_ = softmax_init((3,), ACT)
    assert bias.tolist() == [ACT.raw_min] * 3 and sum_.tolist() == [0] * 3
    bias = np.array([0, 2 * ONE, ONE], dtype=np.int64)
    sum_ = np.array([3 * ONE + 12345, 5 * ONE, 2 * ONE], dtype=np.int64)
    s = np.array([ONE + 7, ONE, ONE], dtype=np.int64)  # new max / smaller / equal
    nb, ns = softmax_update(bias, sum_, s, ACT)
    e = exp_neg(np.array([-(ONE + 7), -ONE, 0]), ACT, ACT)
    assert nb.tolist() == [ONE + 7, 2 * ONE, ONE]
    assert ns[0] == ((sum_[0] * e[0]) >> 22) + ONE  # (sum * exp(d) -> act) + 1
    assert ns[1] == sum_[1] + e[1]  # sum + exp(-d)
    assert ns[2] == 3 * ONE  # d == 0: sum + exp(0) = sum + 1


def test_softmax_probs_uses_reciprocal_in_act() -> None:
    s = ACT.quantize(np.random.default_rng(3).uniform(-20.0, 20.0, (4, 129)))
    probs, bias, recip = softmax_row(s, ACT)
    _, sum_ = softmax_init((4,), ACT)
    b = softmax_init((4,), ACT)[0]
    for k in range(129):
        b, sum_ = softmax_update(b, sum_, s[:, k], ACT)
    assert np.array_equal(recip, reciprocal(sum_, ACT, ACT))
    again = softmax_probs(s, bias[:, None], recip[:, None], ACT)
    assert np.array_equal(again, probs)
    e = exp_neg(s - bias[:, None], ACT, ACT)
    assert np.array_equal(probs, (e * recip[:, None]) >> 22)
