"""FixedType.from_raw_counted: the values and the wrap/saturation count of every mode."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from edgemoe.params.fixed import OVERFLOW_MODES, QUANT_MODES, FixedType

pytestmark = pytest.mark.unit


def _rounded(v: int, frac: int, ft: FixedType) -> int:
    """Round v * 2**-frac to ft's LSB with ft's mode, in exact rationals (no overflow)."""
    x = Fraction(v, 2 ** frac) * 2 ** ft.frac_bits
    fl = x.numerator // x.denominator
    rem = x - fl
    half = Fraction(1, 2)
    inc = {"TRN": False, "TRN_ZERO": rem != 0 and x < 0, "RND": rem >= half,
           "RND_ZERO": rem > half or (rem == half and x < 0), "RND_MIN_INF": rem > half,
           "RND_INF": rem > half or (rem == half and x > 0),
           "RND_CONV": rem > half or (rem == half and fl % 2 == 1)}[ft.quant]
    return fl + int(inc)


@pytest.mark.parametrize("quant", QUANT_MODES)
@pytest.mark.parametrize("overflow", OVERFLOW_MODES)
@pytest.mark.parametrize("frac", [14, 8, 3])  # right shifts, none, a left shift
def test_count_matches_exact_rounding(quant, overflow, frac):
    ft = FixedType(8, 4, True, quant, overflow)
    rng = np.random.default_rng(7)
    raw = rng.integers(-(1 << (frac + 5)), 1 << (frac + 5), 4000)
    raw[:4] = [ft.raw_min << max(frac - 4, 0), ft.raw_max << max(frac - 4, 0), 0, -1]
    values, count = ft.from_raw_counted(raw, frac)
    assert np.array_equal(values, ft.from_raw(raw, frac))
    lo = ft.raw_min + (overflow == "SAT_SYM")
    expected = sum(not lo <= _rounded(int(v), frac, ft) <= ft.raw_max for v in raw)
    assert 0 < count == expected


def test_count_of_wide_python_integers():
    ft = FixedType(32, 10)
    raw = np.array([1 << 90, -(1 << 90), 3 << 60, 5], dtype=object)
    values, count = ft.from_raw_counted(raw, 66)
    assert np.array_equal(values, ft.from_raw(raw, 66))
    assert count == 2  # +-2**24 overflow; 3 * 2**-6 and 5 * 2**-66 fit
