"""exp_neg, reciprocal and rsqrt against float64 references over their whole domains.

Bounds (stated in the kernels' docstrings): ``INTERNAL`` is the kernel's own error,
measured through an output type fine enough that its LSB is negligible; end-to-end
bounds add one LSB of the output type (TRN floors).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemoe.numerics import NumericsError, exp_neg, reciprocal, rsqrt
from edgemoe.numerics.common import floor_log2
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit

ACT = FixedType.parse("ap_fixed<32,10>")
LSB = 2.0**-22
VAR = FixedType.parse("ap_ufixed<48,16>")
RSQRT_OUT = FixedType.parse("ap_ufixed<32,12>")

EXP_INTERNAL = 5e-8  # absolute, results <= 1
RECIP_INTERNAL = 1e-8  # relative
RSQRT_INTERNAL = 1e-8  # relative


def _grid(t: FixedType, lo: float, hi: float, n_dense: int, n_rand: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.linspace(lo, hi, n_dense), rng.uniform(lo, hi, n_rand)])
    return t.quantize(x)


# ---------------------------------------------------------------- exp_neg


def test_exp_neg_act_max_abs_error_within_one_lsb_on_minus16_to_0() -> None:
    x = np.concatenate(
        [
            _grid(ACT, -16.0, 0.0, 1_500_001, 300_000, seed=1),
            np.array([0, -1, -2, -3, -(1 << 22), -(1 << 21), -(16 << 22)], dtype=np.int64),
        ]
    )
    y = ACT.to_float(exp_neg(x, ACT, ACT))
    ref = np.exp(ACT.to_float(x))
    err = y - ref
    assert np.abs(err).max() <= LSB + EXP_INTERNAL
    # TRN output: never more than the internal error above the exact value
    assert err.max() <= EXP_INTERNAL


def test_exp_neg_internal_error_through_fine_output_type() -> None:
    fine = FixedType.parse("ap_ufixed<48,2>")
    x = _grid(ACT, -16.0, 0.0, 1_000_001, 200_000, seed=2)
    err = np.abs(fine.to_float(exp_neg(x, ACT, fine)) - np.exp(ACT.to_float(x)))
    assert err.max() <= EXP_INTERNAL


def test_exp_neg_is_monotonic_on_consecutive_codes() -> None:
    start = -(3 << 22) - 12345
    x = np.arange(start, start + 2_000_000, dtype=np.int64)
    y = exp_neg(x, ACT, FixedType.parse("ap_ufixed<48,2>"))
    assert np.all(np.diff(y) >= 0)


def test_exp_neg_edges_one_clamp_and_underflow() -> None:
    one = 1 << ACT.frac_bits
    x = np.array([0, 5, 1 << 22, ACT.raw_max], dtype=np.int64)
    assert exp_neg(x, ACT, ACT).tolist() == [one] * 4  # x >= 0 -> exactly 1.0
    # e**x below the LSB (x <= -15.3: e**x <= 2.27e-7 < 2.38e-7) truncates to 0
    below = ACT.quantize(np.linspace(-512.0, -15.3, 10_001))
    assert np.all(exp_neg(below, ACT, ACT) == 0)
    assert exp_neg(np.array([ACT.raw_min]), ACT, ACT).tolist() == [0]


def test_exp_neg_accepts_wider_differences_and_other_input_scalings() -> None:
    # a difference of two act values (one bit wider than act) is read with act's scaling
    d = np.array([ACT.raw_min - ACT.raw_max, -(600 << 22)], dtype=np.int64)
    assert exp_neg(d, ACT, ACT).tolist() == [0, 0]
    fine_in = FixedType.parse("ap_fixed<34,5>")  # 29 fraction bits: truncated to 24
    x = _grid(fine_in, -15.0, 0.0, 200_001, 0, seed=3)
    err = np.abs(ACT.to_float(exp_neg(x, fine_in, ACT)) - np.exp(fine_in.to_float(x)))
    assert err.max() <= LSB + EXP_INTERNAL + 2.0**-24


def test_exp_neg_saturates_when_one_is_not_representable() -> None:
    small = FixedType.parse("ap_fixed<16,1>")  # max 1 - 2**-15
    assert exp_neg(np.array([0]), ACT, small).tolist() == [small.raw_max]


def test_exp_neg_rejects_output_too_wide_for_int64_datapath() -> None:
    with pytest.raises(NumericsError, match="too wide"):
        exp_neg(np.array([0]), ACT, FixedType.parse("ap_fixed<64,10>"))


# ---------------------------------------------------------------- reciprocal


def test_reciprocal_act_1_to_256_error() -> None:
    x = _grid(ACT, 1.0, 256.0, 1_500_001, 300_000, seed=4)
    xf = ACT.to_float(x)
    err = ACT.to_float(reciprocal(x, ACT, ACT)) - 1.0 / xf
    assert np.all(np.abs(err) <= LSB + RECIP_INTERNAL / xf)
    assert err.max() <= RECIP_INTERNAL


def test_reciprocal_relative_error_of_kernel_over_all_exponents() -> None:
    fine = FixedType.parse("ap_ufixed<50,24>")  # 1/x up to 2**22, LSB 2**-26
    lo = 2.0**-ACT.frac_bits
    x = np.concatenate(
        [
            ACT.quantize(np.geomspace(lo, 511.0, 1_000_000)),
            np.arange(1, 100_000, dtype=np.int64),  # every tiny code
        ]
    )
    xf = ACT.to_float(x)
    y = fine.to_float(reciprocal(x, ACT, fine))
    ref = 1.0 / xf
    assert np.all(np.abs(y - ref) <= RECIP_INTERNAL * ref + 2.0**-26)
    # relative error where a finer output type resolves it (1/x <= 4, LSB 2**-47)
    finer = FixedType.parse("ap_ufixed<50,3>")
    big = xf >= 0.25
    y = finer.to_float(reciprocal(x[big], ACT, finer))
    assert (np.abs(y - ref[big]) / ref[big]).max() <= RECIP_INTERNAL + 2.0**-47 * 512


def test_reciprocal_of_powers_of_two_is_exact() -> None:
    x = np.array([1 << k for k in range(31)], dtype=np.int64)  # 2**-22 .. 2**8
    fine = FixedType.parse("ap_ufixed<50,24>")
    got = reciprocal(x, ACT, fine)
    want = np.array([1 << (fine.frac_bits + 22 - k) for k in range(31)], dtype=np.int64)
    assert got.tolist() == want.tolist()


def test_reciprocal_saturates_above_range_and_for_non_positive_inputs() -> None:
    x = np.array([1, 1 << 10, (1 << 13) - 1, 0, -1, ACT.raw_min], dtype=np.int64)
    assert reciprocal(x, ACT, ACT).tolist() == [ACT.raw_max] * 6  # 1/x >= 512 or x <= 0


def test_reciprocal_layernorm_formats() -> None:
    out = FixedType.parse("ap_ufixed<32,12>")
    x = VAR.quantize(np.geomspace(1e-3, 1e4, 500_000))
    xf = VAR.to_float(x)
    err = np.abs(out.to_float(reciprocal(x, VAR, out)) - 1.0 / xf)
    assert np.all(err <= 2.0**-out.frac_bits + RECIP_INTERNAL / xf)


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(8, 48),
    int_bits=st.integers(-4, 24),
    signed=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_reciprocal_and_rsqrt_any_output_format(
    width: int, int_bits: int, signed: bool, seed: int
) -> None:
    out = FixedType.parse(f"ap_{'' if signed else 'u'}fixed<{width},{int_bits}>")
    x = VAR.quantize(np.random.default_rng(seed).uniform(0.0, 1.0, 2000) ** 6 * 4e4 + 1e-6)
    x = x[x > 0]
    xf = VAR.to_float(x)
    max_val = out.to_float(np.array([out.raw_max]))[0]
    lsb = 2.0**-out.frac_bits
    for kernel, ref in ((reciprocal, 1.0 / xf), (rsqrt, 1.0 / np.sqrt(xf))):
        got = kernel(x, VAR, out)
        over = ref > (max_val + lsb) * (1.0 + 1e-8)
        assert np.all(got[over] == out.raw_max), kernel.__name__  # saturates, never wraps
        inside = ref <= max_val
        err = np.abs(out.to_float(got[inside]) - ref[inside])
        assert np.all(err <= lsb + 1e-8 * ref[inside]), kernel.__name__


# ---------------------------------------------------------------- rsqrt


def test_rsqrt_kernel_relative_error_1e_minus6_to_1e4() -> None:
    fine = FixedType.parse("ap_ufixed<50,11>")
    x = np.concatenate(
        [
            VAR.quantize(np.geomspace(1e-6, 1e4, 1_500_001)),
            VAR.quantize(np.random.default_rng(5).uniform(1e-6, 1e4, 200_000)),
        ]
    )
    xf = VAR.to_float(x)
    ref = 1.0 / np.sqrt(xf)
    rel = np.abs(fine.to_float(rsqrt(x, VAR, fine)) - ref) / ref
    assert rel.max() <= RSQRT_INTERNAL + 2.0**-39 * 100  # + fine LSB relative to 1/sqrt(1e4)


def test_rsqrt_layernorm_output_type_error() -> None:
    x = VAR.quantize(np.geomspace(1e-6, 1e4, 1_000_001))
    xf = VAR.to_float(x)
    ref = 1.0 / np.sqrt(xf)
    err = RSQRT_OUT.to_float(rsqrt(x, VAR, RSQRT_OUT)) - ref
    assert np.all(np.abs(err) <= 2.0**-RSQRT_OUT.frac_bits + RSQRT_INTERNAL * ref)


def test_rsqrt_of_powers_of_four_is_exact_and_non_positive_saturates() -> None:
    ks = range(-8, 8)
    x = np.array([1 << (VAR.frac_bits + 2 * k) for k in ks], dtype=np.int64)
    want = [1 << (RSQRT_OUT.frac_bits - k) for k in ks]
    assert rsqrt(x, VAR, RSQRT_OUT).tolist() == want
    assert rsqrt(np.array([0, -5]), ACT, RSQRT_OUT).tolist() == [RSQRT_OUT.raw_max] * 2


def test_floor_log2_matches_bit_length() -> None:
    rng = np.random.default_rng(6)
    x = np.concatenate(
        [
            rng.integers(1, 2**62, 5000, dtype=np.int64) >> rng.integers(0, 62, 5000),
            np.array([1, 2, 3, 2**31, 2**32 - 1, 2**62, 2**63 - 1], dtype=np.int64),
        ]
    )
    x = np.maximum(x, 1)
    assert floor_log2(x).tolist() == [int(v).bit_length() - 1 for v in x]


def test_output_quant_mode_applies_once_and_overflow_mode_never_matters() -> None:
    rnd = FixedType.parse("ap_fixed<32,10,AP_RND>")
    half = LSB / 2 + LSB / 256  # RND on the value truncated to 8 guard bits
    x = _grid(ACT, -16.0, 0.0, 400_001, 0, seed=8)
    err = np.abs(rnd.to_float(exp_neg(x, ACT, rnd)) - np.exp(ACT.to_float(x)))
    assert err.max() <= half + EXP_INTERNAL
    xr = _grid(ACT, 1.0, 256.0, 400_001, 0, seed=9)
    xf = ACT.to_float(xr)
    err = np.abs(rnd.to_float(reciprocal(xr, ACT, rnd)) - 1.0 / xf)
    assert np.all(err <= half + RECIP_INTERNAL / xf)
    sat = FixedType.parse("ap_fixed<32,10,AP_TRN,AP_SAT>")
    tiny = np.arange(1, 20_000, 7, dtype=np.int64)  # 1/x saturates
    assert np.array_equal(exp_neg(x, ACT, sat), exp_neg(x, ACT, ACT))
    assert np.array_equal(reciprocal(tiny, ACT, sat), reciprocal(tiny, ACT, ACT))
    assert np.array_equal(rsqrt(tiny, ACT, sat), rsqrt(tiny, ACT, ACT))
