"""FixedType: hand-derived ap_fixed facts, an exact rational oracle, packing and parsing."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemoe.params.fixed import OVERFLOW_MODES, QUANT_MODES, FixedFormatError, FixedType

pytestmark = pytest.mark.unit

P = FixedType.parse


def values(ft: FixedType, xs) -> list[float]:
    return ft.to_float(ft.quantize(np.array(xs, dtype=np.float64))).tolist()


# ------------------------------------------------------------------ hand facts
def test_defaults_wrap_and_sat_of_40_in_16_6() -> None:
    assert values(P("ap_fixed<16,6>"), [40.0]) == [-24.0]  # 40 - 64
    assert values(P("ap_fixed<16,6,AP_TRN,AP_SAT>"), [40.0, -40.0]) == [32 - 2**-10, -32.0]


@pytest.mark.parametrize(
    ("quant", "expected"),
    [  # inputs: -2.5 -1.5 -0.75 -0.5 -0.25 0.25 0.5 0.75 1.5 2.5 (one raw step = 1)
        ("TRN", [-3, -2, -1, -1, -1, 0, 0, 0, 1, 2]),
        ("TRN_ZERO", [-2, -1, 0, 0, 0, 0, 0, 0, 1, 2]),
        ("RND", [-2, -1, -1, 0, 0, 0, 1, 1, 2, 3]),
        ("RND_ZERO", [-2, -1, -1, 0, 0, 0, 0, 1, 1, 2]),
        ("RND_MIN_INF", [-3, -2, -1, -1, 0, 0, 0, 1, 1, 2]),
        ("RND_INF", [-3, -2, -1, -1, 0, 0, 1, 1, 2, 3]),
        ("RND_CONV", [-2, -2, -1, 0, 0, 0, 0, 1, 2, 2]),
    ],
)
def test_quantization_modes_on_ties_and_fractions(quant: str, expected: list[int]) -> None:
    ft = FixedType(8, 8, quant=quant)
    xs = [-2.5, -1.5, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.5, 2.5]
    assert ft.quantize(xs).tolist() == expected


def test_overflow_modes() -> None:
    xs = [-300.0, -129.0, -128.0, -127.0, 127.0, 128.0, 300.0]
    assert FixedType(8, 8).quantize(xs).tolist() == [-44, 127, -128, -127, 127, -128, 44]
    assert FixedType(8, 8, overflow="SAT").quantize(xs).tolist() == [
        -128, -128, -128, -127, 127, 127, 127]
    assert FixedType(8, 8, overflow="SAT_ZERO").quantize(xs).tolist() == [
        0, 0, -128, -127, 127, 0, 0]
    assert FixedType(8, 8, overflow="SAT_SYM").quantize(xs).tolist() == [
        -127, -127, -127, -127, 127, 127, 127]
    # A 1-bit signed format keeps -1 under AP_SAT_SYM (the headers set MSB | 1 = -1).
    assert FixedType(1, 1, overflow="SAT_SYM").quantize([-3.0, 0.0, 5.0]).tolist() == [-1, 0, 0]


def test_rounding_carry_then_saturation() -> None:
    # 7.5 rounds to 8, which overflows ap_fixed<4,4>: SAT clamps to 7, WRAP gives -8.
    assert FixedType(4, 4, quant="RND", overflow="SAT").quantize(7.5) == 7
    assert FixedType(4, 4, quant="RND").quantize(7.5) == -8
    assert FixedType(4, 4, quant="RND", overflow="SAT_SYM").quantize(-8.4) == -7


def test_unsigned_formats() -> None:
    ft = P("ap_ufixed<8,0>")
    assert ft.quantize([0.5, -0.5, 1.0, 0.99999]).tolist() == [128, 128, 0, 255]
    sat = P("ap_ufixed<8,0,AP_RND,AP_SAT>")
    assert sat.quantize([-0.5, 1.0, 0.998, 0.001]).tolist() == [0, 255, 255, 0]


def test_int_bits_negative_and_beyond_width() -> None:
    neg = P("ap_fixed<8,-3>")  # frac 11: values in [-1/16, 1/16)
    assert (neg.frac_bits, neg.quantize(0.01), neg.max_value) == (11, 20, 127 / 2048)
    big = P("ap_fixed<8,12>")  # frac -4: steps of 16
    assert (big.frac_bits, big.quantize(100.0), big.lsb) == (-4, 6, 16.0)
    assert big.to_float(big.quantize(-100.0)) == -112.0


def test_from_raw_shifts_beyond_62_keep_sticky_bits() -> None:
    # 0.5 + 2**-63 is above the tie: RND_MIN_INF must round up.
    assert FixedType(8, 8, quant="RND_MIN_INF").from_raw(2**62 + 1, 63) == 1
    assert FixedType(8, 8, quant="RND_MIN_INF").from_raw(2**62, 63) == 0
    tie = -(2**63)  # -0.5 at frac 64
    got = {q: int(FixedType(8, 8, quant=q).from_raw(tie, 64)) for q in QUANT_MODES}
    assert got == {"TRN": -1, "TRN_ZERO": 0, "RND": 0, "RND_ZERO": 0,
                   "RND_MIN_INF": -1, "RND_INF": -1, "RND_CONV": 0}
    assert FixedType(8, 8).from_raw(-1, 1000) == -1
    assert FixedType(8, 8, quant="TRN_ZERO").from_raw(-1, 1000) == 0


def test_from_raw_left_shifts_and_width_64() -> None:
    assert FixedType(16, 6).from_raw(3, -70) == 0
    assert FixedType(16, 6, overflow="SAT").from_raw(3, -70) == 2**15 - 1
    w64 = FixedType(64, 64)
    assert w64.from_raw(-1, -3) == -8
    assert w64.from_raw(2**62, -1) == -(2**63)  # wraps
    sat64 = FixedType(64, 64, overflow="SAT")
    assert sat64.from_raw(-(2**62), -1) == -(2**63)
    assert sat64.from_raw(-(2**62) - 1, -1) == -(2**63)
    assert sat64.from_raw(2**62, -1) == 2**63 - 1
    assert sat64.from_raw(-1, -63) == -(2**63) and sat64.from_raw(1, -63) == 2**63 - 1
    assert FixedType(64, 0).quantize(-0.5) == -(2**63)
    big = np.array([2**64 + 5, 2**63, -(2**63) - 1], dtype=object)  # Python-int path
    assert w64.from_raw(big, 0).tolist() == [5, -(2**63), 2**63 - 1]


def test_add_and_mul_are_exact_then_cast() -> None:
    a = P("ap_fixed<8,4>")
    assert a.add(120, 120) == -16  # 7.5 + 7.5 = 15 wraps to -1.0
    assert P("ap_fixed<8,4,AP_TRN,AP_SAT>").add(120, 120, a_type=a, b_type=a) == 127
    u = P("ap_ufixed<8,0>")
    assert P("ap_fixed<16,8>").add(-16, 128, u, a_type=a) == -128  # -1 + 0.5
    x, y = a.quantize(1.5), a.quantize(-2.25)
    assert P("ap_fixed<8,4>").mul(x, y) == -54  # -3.375 exactly
    assert P("ap_fixed<6,4,AP_RND>").mul(x, y, a, a_type=a) == -13  # -13.5 rounds up
    u63, s64 = P("ap_ufixed<63,63,AP_TRN,AP_SAT>"), P("ap_fixed<64,64,AP_TRN,AP_SAT>")
    assert u63.add(u63.raw_max, u63.raw_max) == u63.raw_max  # 2**64 - 2 needs 65 bits
    assert s64.add(s64.raw_min, s64.raw_min) == s64.raw_min
    u32 = P("ap_ufixed<32,32>")
    assert s64.mul(u32.raw_max, u32.raw_max, a_type=u32) == s64.raw_max  # (2**32-1)**2
    wide = P("ap_fixed<48,24>")
    big = np.array([2**47 - 1, -(2**47), 12345678901], dtype=np.int64)
    got = wide.mul(big, big)
    want = [_ref(Fraction(int(v) * int(v), 2**48), wide) for v in big]
    assert got.tolist() == want


# ------------------------------------------------------ independent exact oracle
def _ref(value: Fraction, ft: FixedType) -> int:
    """ap_fixed semantics from their definitions, on exact rationals."""
    y = value * Fraction(2) ** ft.frac_bits
    fl, ce = math.floor(y), math.ceil(y)
    half_up = math.floor(y + Fraction(1, 2))
    half_down = math.ceil(y - Fraction(1, 2))
    q = {
        "TRN": fl,
        "TRN_ZERO": fl if y >= 0 else ce,
        "RND": half_up,
        "RND_ZERO": half_down if y >= 0 else half_up,
        "RND_MIN_INF": half_down,
        "RND_INF": half_up if y >= 0 else half_down,
        "RND_CONV": round(y),  # Fraction rounds half to even
    }[ft.quant]
    lo, hi = ft.raw_min, ft.raw_max
    if ft.overflow == "SAT_SYM" and ft.signed and ft.width > 1:
        lo = -hi
    if ft.overflow == "WRAP":
        m = 1 << ft.width
        return q % m if not ft.signed else (q + m // 2) % m - m // 2
    if lo <= q <= hi:
        return q
    if ft.overflow == "SAT_ZERO":
        return 0
    return hi if q > hi else lo


@st.composite
def formats(draw) -> FixedType:
    signed = draw(st.booleans())
    width = draw(st.integers(1, 64 if signed else 63))
    int_bits = draw(st.integers(-20, width + 20))
    return FixedType(width, int_bits, signed, draw(st.sampled_from(QUANT_MODES)),
                     draw(st.sampled_from(OVERFLOW_MODES)))


@settings(max_examples=300, deadline=None)
@given(ft=formats(), raws=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8),
       frac=st.integers(-80, 140))
def test_from_raw_matches_rational_oracle(ft: FixedType, raws: list[int], frac: int) -> None:
    got = ft.from_raw(np.array(raws, dtype=np.int64), frac)
    assert got.dtype == np.int64
    assert got.tolist() == [_ref(Fraction(r) / Fraction(2) ** frac, ft) for r in raws]


@settings(max_examples=150, deadline=None)
@given(ft=formats(), raws=st.lists(st.integers(-(2**100), 2**100), min_size=1, max_size=4),
       frac=st.integers(-20, 140))
def test_from_raw_python_ints_beyond_int64(ft: FixedType, raws: list[int], frac: int) -> None:
    got = ft.from_raw(np.array(raws, dtype=object), frac)
    assert got.tolist() == [_ref(Fraction(r) / Fraction(2) ** frac, ft) for r in raws]


@settings(max_examples=300, deadline=None)
@given(ft=formats(), xs=st.lists(st.floats(allow_nan=False, allow_infinity=False),
                                 min_size=1, max_size=8))
def test_quantize_matches_rational_oracle(ft: FixedType, xs: list[float]) -> None:
    assert ft.quantize(np.array(xs)).tolist() == [_ref(Fraction(x), ft) for x in xs]


@settings(max_examples=200, deadline=None)
@given(dst=formats(), a_t=formats(), b_t=formats(), data=st.data())
def test_add_mul_match_rational_oracle(dst, a_t, b_t, data) -> None:
    a = data.draw(st.integers(a_t.raw_min, a_t.raw_max))
    b = data.draw(st.integers(b_t.raw_min, b_t.raw_max))
    av = Fraction(a) / Fraction(2) ** a_t.frac_bits
    bv = Fraction(b) / Fraction(2) ** b_t.frac_bits
    assert dst.add(a, b, b_t, a_type=a_t) == _ref(av + bv, dst)
    assert dst.mul(a, b, b_t, a_type=a_t) == _ref(av * bv, dst)


# ---------------------------------------------------------------- array behaviour
def test_shapes_and_dtypes_are_preserved() -> None:
    ft = P("ap_fixed<32,10>")
    x = np.linspace(-600, 600, 12).reshape(3, 4)
    q = ft.quantize(x)
    assert q.shape == (3, 4) and q.dtype == np.int64
    assert ft.from_raw(q, ft.frac_bits).tolist() == q.tolist()
    assert ft.quantize(1.0).shape == () and ft.from_raw(5, 3).shape == ()
    assert ft.add(np.ones((2, 1), np.int64), np.arange(3)).shape == (2, 3)
    assert np.array_equal(ft.cast(q, ft), q)


def test_wrap_saturate_handle_overflow() -> None:
    ft = FixedType(8, 4, overflow="SAT_SYM")
    raw = np.array([-300, -128, -5, 127, 128, 300])
    assert ft.wrap(raw).tolist() == [-44, -128, -5, 127, -128, 44]
    assert ft.saturate(raw).tolist() == [-128, -128, -5, 127, 127, 127]
    assert ft.handle_overflow(raw).tolist() == [-127, -127, -5, 127, 127, 127]
    assert FixedType(6, 0, signed=False).wrap([-1, 64, 65]).tolist() == [63, 0, 1]


def test_to_float_and_count_saturated() -> None:
    ft = P("ap_fixed<16,6>")
    assert ft.to_float(np.array([-32768, 1, 32767])).tolist() == [-32.0, 2**-10, 32 - 2**-10]
    assert ft.count_saturated(np.array([-40.0, -32.0, 31.9990234375, 32.0, 0.0])) == 2


def test_quantize_rejects_nan_and_inf() -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        FixedType(8, 4).quantize([1.0, float("nan")])
    with pytest.raises(ValueError, match="NaN or infinity"):
        FixedType(8, 4).quantize(float("inf"))
    with pytest.raises(TypeError, match="quantize"):
        FixedType(8, 4).from_raw(np.array([1.5]), 0)


# ----------------------------------------------------------------------- packing
@pytest.mark.parametrize(
    ("text", "dtype"),
    [("ap_fixed<1,1>", "i1"), ("ap_fixed<8,0>", "i1"), ("ap_fixed<9,3>", "i2"),
     ("ap_ufixed<16,0>", "u2"), ("ap_fixed<17,5>", "i4"), ("ap_fixed<32,10>", "i4"),
     ("ap_ufixed<33,1>", "u8"), ("ap_fixed<64,20>", "i8")],
)
def test_storage_dtype_and_bytes_round_trip(text: str, dtype: str) -> None:
    ft = P(text)
    assert ft.storage_dtype == np.dtype(dtype)
    raw = np.array([ft.raw_min, ft.raw_max, 0, ft.raw_max // 3], dtype=np.int64)
    buf = ft.to_bytes(raw)
    assert len(buf) == 4 * np.dtype(dtype).itemsize
    assert ft.from_bytes(buf, 4).tolist() == raw.tolist()


def test_bytes_layout_and_errors() -> None:
    ft = P("ap_fixed<16,2>")
    assert ft.to_bytes(np.array([-2, 258])) == b"\xfe\xff\x02\x01"
    assert P("ap_fixed<12,4>").from_bytes(b"\xff\x0f", 1).tolist() == [-1]  # low 12 bits
    with pytest.raises(ValueError, match="outside"):
        P("ap_fixed<12,4>").to_bytes(np.array([2048]))
    with pytest.raises(ValueError, match="need 3 x 2 bytes"):
        ft.from_bytes(b"\x00" * 5, 3)


# ----------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("text", "expected", "short"),
    [
        ("ap_fixed<32,10>", FixedType(32, 10), "ap_fixed<32,10>"),
        ("ap_ufixed<8,0>", FixedType(8, 0, False), "ap_ufixed<8,0>"),
        ("ap_fixed<16,2,AP_RND,AP_SAT>", FixedType(16, 2, True, "RND", "SAT"),
         "ap_fixed<16,2,AP_RND,AP_SAT>"),
        (" ap_fixed < 16 , -2 , AP_RND_CONV > ", FixedType(16, -2, True, "RND_CONV"),
         "ap_fixed<16,-2,AP_RND_CONV>"),
        ("ap_fixed<8,3,AP_TRN,AP_SAT_SYM,0>", FixedType(8, 3, True, "TRN", "SAT_SYM"),
         "ap_fixed<8,3,AP_TRN,AP_SAT_SYM>"),
        ("ap_int<8>", FixedType(8, 8, True, "TRN_ZERO"), "ap_fixed<8,8,AP_TRN_ZERO>"),
        ("ap_uint<12>", FixedType(12, 12, False, "TRN_ZERO"), "ap_ufixed<12,12,AP_TRN_ZERO>"),
    ],
)
def test_parse_and_spellings(text: str, expected: FixedType, short: str) -> None:
    ft = P(text)
    assert ft == expected and str(ft) == short
    assert P(str(ft)) == ft and P(ft.cpp()) == ft
    assert ft.cpp() == f"{short.split(',AP_')[0].rstrip('>')},AP_{ft.quant},AP_{ft.overflow}>"


def test_mode_names_accept_ap_prefix() -> None:
    assert FixedType(8, 4, quant="AP_RND", overflow="AP_SAT") == FixedType(8, 4, True, "RND", "SAT")
    assert P("ap_fixed<32,10>").cpp() == "ap_fixed<32,10,AP_TRN,AP_WRAP>"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ap_fixed<16>", "cannot parse"),
        ("fixed<16,2>", "cannot parse"),
        ("ap_fixed<16,2,AP_FOO>", "unknown quantization mode 'AP_FOO'"),
        ("ap_fixed<16,2,AP_RND,AP_WRAP_SM>", "unknown overflow mode"),
        ("ap_fixed<16,2,AP_RND,AP_SAT,3>", "saturation bits N=3"),
        ("ap_fixed<0,0>", "width 0 unsupported"),
        ("ap_fixed<65,1>", "width 65 unsupported for signed"),
        ("ap_ufixed<64,0>", "width 64 unsupported for unsigned"),
        ("ap_fixed<8,600>", "int_bits 600 out of range"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    with pytest.raises(FixedFormatError, match=match):
        P(text)


def test_constructor_type_errors() -> None:
    with pytest.raises(FixedFormatError, match="width must be an int"):
        FixedType(True, 3)
    with pytest.raises(FixedFormatError, match="int_bits must be an int"):
        FixedType(8, 2.0)  # type: ignore[arg-type]
    assert issubclass(FixedFormatError, ValueError)
