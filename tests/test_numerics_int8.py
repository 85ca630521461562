"""edgemoe.numerics.int8: the W8A8 steps and the two-products-per-DSP split."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.numerics import NumericsError, int8
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit

ACT = FixedType(32, 10)


def test_packed_products_equal_both_products():
    """Every weight pair (a, b) for the extreme and small inputs, and 2**20 random triples:
    the split of the one packed product is exact."""
    v = np.arange(-128, 128)
    a, b = (g.reshape(-1) for g in np.meshgrid(v, v, indexing="ij"))
    xs = np.repeat([-128, -127, -1, 0, 1, 127], a.size)
    rng = np.random.default_rng(0)
    r = rng.integers(-128, 128, (3, 1 << 20))
    x = np.concatenate([xs, r[0]])
    a = np.concatenate([np.tile(a, 6), r[1]])
    b = np.concatenate([np.tile(b, 6), r[2]])
    high, low = int8.packed_products(x, a, b)
    assert np.array_equal(high, a * x)
    assert np.array_equal(low, b * x)


def test_packed_operand_fits_a_dsp48e2_port():
    """a * 2**18 + b of int8 values is a signed 27-bit value (the DSP48E2 A:D port)."""
    packed = (np.int64(-128) << int8.PACK_SHIFT) + np.int64(-128), (127 << 18) + 127
    assert all(-(1 << 26) <= int(p) < (1 << 26) for p in packed)


def test_input_codes_round_half_up_and_clamp():
    x_mul = 1 << int8.XQ_GUARD  # one code per act unit
    lsb = 1 << ACT.frac_bits
    x = np.array([0, lsb // 2, -lsb // 2, lsb // 2 - 1, 3 * lsb, 127 * lsb, 128 * lsb, -200 * lsb])
    q, clamped = int8.quantize_input(x, x_mul, ACT)
    assert q.tolist() == [0, 1, 0, 0, 3, 127, 127, -127]
    assert clamped == 2


def test_input_multiplier_maps_the_calibrated_range_to_127():
    x_mul = int8.input_multiplier(2.5)
    q, clamped = int8.quantize_input(ACT.quantize(np.array([2.5, -2.5, 1.25])), x_mul, ACT)
    assert q.tolist() == [127, -127, 64] and clamped == 0
    with pytest.raises(NumericsError, match="positive finite"):
        int8.input_multiplier(0.0)


@pytest.mark.parametrize("absmax,w_scale", [(4.0, [0.01, 0.002]), (500.0, [50.0]),
                                            (0.01, [1e-4])])
def test_channel_multipliers_use_the_largest_shift_that_fits_int32(absmax, w_scale):
    x_mul = int8.input_multiplier(absmax)
    m, dq = int8.channel_multipliers(x_mul, np.array(w_scale), ACT)
    real = int8.input_scale(x_mul) * np.array(w_scale)
    assert np.array_equal(m, np.rint(real * 2.0 ** (ACT.frac_bits + dq)))
    assert m.max() <= int8.M_MAX
    assert dq == int8.DQ_SHIFT_MAX or np.rint(real * 2.0 ** (ACT.frac_bits + dq + 1)).max() > int8.M_MAX


def test_weight_codes_are_symmetric_per_channel():
    w = np.array([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [2.0, 1.0, -2.0]])
    codes, scale = int8.weight_codes(w)
    assert np.abs(codes).max(axis=1).tolist() == [127, 0, 127]
    assert scale[1] == 0.0
    assert np.allclose(codes * scale[:, None], w, atol=scale.max() / 2)


def test_wide_act_is_refused_with_the_fix():
    with pytest.raises(NumericsError, match="narrower act format"):
        int8.check_act(FixedType(48, 16))
