"""Fixed-point formats with the exact semantics of Vitis ``ap_fixed`` / ``ap_ufixed``.

A :class:`FixedType` describes a format; values live as numpy ``int64`` *raw* integers
(``raw = value * 2**frac_bits``). Every conversion first rounds the exact source value
with the quantization mode, then applies the overflow mode to the rounded integer, which
is what the ``ap_fixed`` headers compute (checked bit for bit against g++ in
``tests/test_fixed_aptypes.py``).

Supported range: signed widths 1..64, unsigned widths 1..63 (raw values must fit int64),
``-512 <= int_bits <= 512`` (negative and larger than the width, as ``ap_fixed`` allows).
Only plain ``AP_WRAP`` (saturation bits ``N = 0``) is modelled; ``AP_WRAP_SM`` is not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

QUANT_MODES: tuple[str, ...] = (
    "TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV",
)
OVERFLOW_MODES: tuple[str, ...] = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
MAX_SIGNED_WIDTH = 64
MAX_UNSIGNED_WIDTH = 63
INT_BITS_LIMIT = 512

_U64 = np.uint64
_FIXED_RE = re.compile(
    r"^\s*ap_(u?)fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*"
    r"(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*(-?\d+)\s*)?>\s*$"
)
_INT_RE = re.compile(r"^\s*ap_(u?)int\s*<\s*(\d+)\s*>\s*$")
_SYNTAX = "ap_fixed<W,I[,AP_<quant>[,AP_<overflow>[,0]]]>, ap_ufixed<...>, ap_int<W> or ap_uint<W>"


class FixedFormatError(ValueError):
    """A fixed-point format is malformed or outside the supported range."""


def _mode(value: object, allowed: tuple[str, ...], what: str) -> str:
    name = value[3:] if isinstance(value, str) and value.startswith("AP_") else value
    if name not in allowed:
        raise FixedFormatError(
            f"unknown {what} mode {value!r}; use one of {', '.join(allowed)} (AP_ prefix optional)"
        )
    return str(name)


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed<width, int_bits, quant, overflow>`` (or ``ap_ufixed``) format.

    Args:
        width: Total bits W (1..64 signed, 1..63 unsigned).
        int_bits: Integer bits I including the sign bit; may be negative or exceed W.
        signed: ``ap_fixed`` when True, ``ap_ufixed`` when False.
        quant: Quantization mode, one of :data:`QUANT_MODES` (``AP_`` prefix accepted).
        overflow: Overflow mode, one of :data:`OVERFLOW_MODES` (``AP_`` prefix accepted).
    """

    width: int
    int_bits: int
    signed: bool = True
    quant: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self) -> None:
        for name in ("width", "int_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise FixedFormatError(f"FixedType.{name} must be an int, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "signed", bool(self.signed))
        limit = MAX_SIGNED_WIDTH if self.signed else MAX_UNSIGNED_WIDTH
        if not 1 <= self.width <= limit:
            kind = "signed" if self.signed else "unsigned"
            raise FixedFormatError(
                f"width {self.width} unsupported for {kind} formats: use 1..{limit} "
                "(raw values are held in int64)"
            )
        if not -INT_BITS_LIMIT <= self.int_bits <= INT_BITS_LIMIT:
            raise FixedFormatError(
                f"int_bits {self.int_bits} out of range: use {-INT_BITS_LIMIT}..{INT_BITS_LIMIT}"
            )
        object.__setattr__(self, "quant", _mode(self.quant, QUANT_MODES, "quantization"))
        object.__setattr__(self, "overflow", _mode(self.overflow, OVERFLOW_MODES, "overflow"))

    # ------------------------------------------------------------------ spelling
    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse a C++ spelling such as ``ap_fixed<16,2,AP_RND,AP_SAT>``.

        ``ap_int<W>`` / ``ap_uint<W>`` parse as ``ap_fixed<W,W,AP_TRN_ZERO,AP_WRAP>``:
        storing a fixed-point value into an ``ap_int`` truncates toward zero and wraps.
        (The ap_types ``ap_int`` constructor from ``double`` has its own quirks and is
        not modelled; quantize floats into integer formats through ``ap_fixed``.)

        Raises:
            FixedFormatError: The text is not one of the accepted spellings.
        """
        m = _INT_RE.match(text)
        if m:
            width = int(m.group(2))
            return cls(width, width, m.group(1) == "", "TRN_ZERO", "WRAP")
        m = _FIXED_RE.match(text)
        if not m:
            raise FixedFormatError(f"cannot parse fixed-point type {text!r}; expected {_SYNTAX}")
        unsigned, width, int_bits, quant, overflow, n_bits = m.groups()
        if n_bits is not None and int(n_bits) != 0:
            raise FixedFormatError(
                f"{text!r}: saturation bits N={n_bits} are not supported; drop N or use 0"
            )
        return cls(int(width), int(int_bits), unsigned == "", quant or "TRN", overflow or "WRAP")

    def cpp(self) -> str:
        """Full C++ spelling with both modes, e.g. ``ap_fixed<32,10,AP_TRN,AP_WRAP>``."""
        return f"{self._base()},AP_{self.quant},AP_{self.overflow}>"

    def _base(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.int_bits}"

    def __str__(self) -> str:
        if self.overflow != "WRAP":
            return self.cpp()
        if self.quant != "TRN":
            return f"{self._base()},AP_{self.quant}>"
        return f"{self._base()}>"

    # ---------------------------------------------------------------- properties
    @property
    def frac_bits(self) -> int:
        """Fractional bits F = width - int_bits (negative when int_bits > width)."""
        return self.width - self.int_bits

    @property
    def lsb(self) -> float:
        """Value of one raw step, 2**-frac_bits."""
        return math.ldexp(1.0, -self.frac_bits)

    @property
    def raw_min(self) -> int:
        """Smallest raw value the format holds (-2**(W-1), or 0 when unsigned)."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self) -> int:
        """Largest raw value the format holds (2**(W-1)-1, or 2**W-1 when unsigned)."""
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min_value(self) -> float:
        """Smallest representable value (exact)."""
        return math.ldexp(float(self.raw_min), -self.frac_bits)

    @property
    def max_value(self) -> float:
        """Largest representable value (nearest float when width > 53)."""
        return math.ldexp(float(self.raw_max), -self.frac_bits)

    @property
    def _sat_min(self) -> int:
        # AP_SAT_SYM clamps to -raw_max; a 1-bit signed format keeps -1 (as the headers do).
        if self.overflow == "SAT_SYM" and self.signed and self.width > 1:
            return self.raw_min + 1
        return self.raw_min

    @property
    def storage_dtype(self) -> np.dtype:
        """Smallest numpy integer dtype holding the raw value (int8..int64 / uint8..uint64)."""
        bits = next(b for b in (8, 16, 32, 64) if self.width <= b)
        return np.dtype(f"{'i' if self.signed else 'u'}{bits // 8}")

    # ---------------------------------------------------------------- conversion
    def from_raw(self, raw: np.ndarray | int, frac_bits: int) -> np.ndarray:
        """Quantize the exact values ``raw * 2**-frac_bits`` into this format.

        This is ``ft x = y;`` in C++: round with ``quant``, then apply ``overflow``.
        Exact for every int64 input and any ``frac_bits`` (shifts beyond 62 keep a sticky
        bit); Python ints wider than int64 (object arrays) take a slower exact path.

        Args:
            raw: Integer raw values (any integer dtype, Python ints or object array).
            frac_bits: Fractional bits of ``raw``.

        Returns:
            int64 array of raw values in this format, same shape as ``raw``.
        """
        arr = _as_int_array(raw)
        shift = int(frac_bits) - self.frac_bits
        if shift > 0:
            v = self._round_shift(arr, shift)
        elif shift < 0:
            return self._shift_left(arr, -shift)
        else:
            v = arr
        return self.handle_overflow(v)

    def cast(self, raw: np.ndarray | int, src: FixedType) -> np.ndarray:
        """Convert raw values of format ``src`` into this format (``ft x = src_value;``)."""
        return self.from_raw(raw, src.frac_bits)

    def quantize(self, x: float | np.ndarray) -> np.ndarray:
        """Quantize float64 values (their exact binary value) into raw integers.

        Matches the ``ap_fixed(double)`` constructor. Raises ValueError on NaN/inf.
        """
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"cannot quantize NaN or infinity into {self}; clean the input first")
        f = self.frac_bits
        y = np.ldexp(x, f)  # exact unless it under/overflows, fixed up below
        if f < 0:  # ldexp may round into subnormals; any |y| in (0, 0.5) rounds alike
            y = np.where((np.abs(y) < 0.25) & (x != 0), np.copysign(0.125, x), y)
        elif f > 0 and np.isinf(y).any():  # 2**1000 behaves like the true value (0 mod 2**64)
            y = np.where(np.isinf(y), np.copysign(2.0**1000, x), y)
        fl = np.floor(y)
        q = fl if self.quant == "TRN" else fl + _increment(self.quant, y - fl, 0.5, y < 0, fl)
        if self.overflow == "WRAP":
            mod = min(self.width, 62)
            r = np.fmod(q, 2.0**mod) if mod < 62 else _fmod64(q)
            return self.wrap(r.astype(np.int64))
        top = float(self.raw_max + 1)  # a power of two, exact
        over = q >= top
        under = q <= float(self.raw_min) if self._sat_min > self.raw_min else q < self.raw_min
        v = np.clip(q, float(self.raw_min), np.nextafter(top, 0.0)).astype(np.int64)
        return self._apply_flags(v, over, under)

    def to_float(self, raw: np.ndarray | int) -> np.ndarray:
        """Raw values to float64 (exact while |raw| < 2**53)."""
        return np.ldexp(np.asarray(raw).astype(np.float64), -self.frac_bits)

    def count_saturated(self, x_float: np.ndarray | float) -> int:
        """Number of float values outside ``[min_value, max_value]``."""
        x = np.asarray(x_float, dtype=np.float64)
        return int(np.count_nonzero((x < self.min_value) | (x > self.max_value)))

    # --------------------------------------------------------------- overflow only
    def wrap(self, raw: np.ndarray | int) -> np.ndarray:
        """Keep the low ``width`` bits (two's complement when signed), i.e. AP_WRAP."""
        v = _as_int_array(raw)
        if v.dtype == object:
            v = v & ((1 << self.width) - 1)
            if self.signed:
                half = 1 << (self.width - 1)
                v = (v ^ half) - half
            return v.astype(np.int64)
        if not self.signed:
            return v & ((1 << self.width) - 1)
        if self.width == 64:
            return v.copy()
        sh = 64 - self.width
        return np.asarray((v.view(_U64) << _U64(sh))).view(np.int64) >> np.int64(sh)

    def saturate(self, raw: np.ndarray | int) -> np.ndarray:
        """Clamp to ``[raw_min, raw_max]`` (plain AP_SAT, whatever ``overflow`` says)."""
        return np.clip(_as_int_array(raw), self.raw_min, self.raw_max).astype(np.int64)

    def handle_overflow(self, raw: np.ndarray | int) -> np.ndarray:
        """Apply this format's own overflow mode to integers already at its frac_bits."""
        v = _as_int_array(raw)
        if self.overflow == "WRAP":
            return self.wrap(v)
        lo, hi = self._sat_min, self.raw_max
        if self.overflow == "SAT_ZERO":
            return np.where((v < lo) | (v > hi), 0, v).astype(np.int64)
        return np.clip(v, lo, hi).astype(np.int64)

    # --------------------------------------------------------------- arithmetic
    def add(
        self,
        a_raw: np.ndarray | int,
        b_raw: np.ndarray | int,
        b_type: FixedType | None = None,
        *,
        a_type: FixedType | None = None,
    ) -> np.ndarray:
        """``ft x = a + b;``: the exact ap_fixed sum, then quantized into this format.

        The C++ sum has the full-precision type ``ap_fixed<max(Ia,Ib)+1+max(Fa,Fb), ...>``
        and never rounds; the only rounding/overflow is the cast into ``self``.

        Args:
            a_raw: Raw values of ``a`` (format ``a_type``, default ``self``).
            b_raw: Raw values of ``b`` (format ``b_type``, default ``a_type``).
            b_type: Format of ``b``.
            a_type: Format of ``a``.

        Returns:
            int64 raw values in this format.
        """
        at = a_type or self
        bt = b_type or at
        f = max(at.frac_bits, bt.frac_bits)
        wide = max(at.int_bits, bt.int_bits) + 2 + f > 63
        a = _as_int_array(a_raw, wide) << (f - at.frac_bits)
        b = _as_int_array(b_raw, wide) << (f - bt.frac_bits)
        return self.from_raw(a + b, f)

    def mul(
        self,
        a_raw: np.ndarray | int,
        b_raw: np.ndarray | int,
        b_type: FixedType | None = None,
        *,
        a_type: FixedType | None = None,
    ) -> np.ndarray:
        """``ft x = a * b;``: the exact product (``ap_fixed<Wa+Wb, Ia+Ib>``) cast into ``self``.

        Products wider than 63 bits use exact Python integers (slower).

        Args:
            a_raw: Raw values of ``a`` (format ``a_type``, default ``self``).
            b_raw: Raw values of ``b`` (format ``b_type``, default ``a_type``).
            b_type: Format of ``b``.
            a_type: Format of ``a``.

        Returns:
            int64 raw values in this format.
        """
        at = a_type or self
        bt = b_type or at
        wide = at.width + bt.width > 63
        prod = _as_int_array(a_raw, wide) * _as_int_array(b_raw, wide)
        return self.from_raw(prod, at.frac_bits + bt.frac_bits)

    # ---------------------------------------------------------------- packing
    def to_bytes(self, raw: np.ndarray | int) -> bytes:
        """Pack raw values little-endian in :attr:`storage_dtype` (sign-extended).

        Raises:
            ValueError: A value lies outside ``[raw_min, raw_max]``.
        """
        v = _as_int_array(raw)
        if v.size and (v.min() < self.raw_min or v.max() > self.raw_max):
            raise ValueError(
                f"raw values outside [{self.raw_min}, {self.raw_max}] cannot be packed as {self}; "
                "convert them with from_raw/wrap/saturate first"
            )
        return v.astype(self.storage_dtype.newbyteorder("<")).tobytes()

    def from_bytes(self, buf: bytes | bytearray | memoryview, count: int) -> np.ndarray:
        """Unpack ``count`` little-endian values; only the low ``width`` bits of each count.

        Raises:
            ValueError: ``buf`` holds fewer than ``count`` values.
        """
        dt = self.storage_dtype.newbyteorder("<")
        if count < 0 or len(buf) < count * dt.itemsize:
            raise ValueError(
                f"need {count} x {dt.itemsize} bytes for {count} values of {self}, "
                f"got {len(buf)} bytes"
            )
        return self.wrap(np.frombuffer(buf, dtype=dt, count=count).astype(np.int64))

    # ---------------------------------------------------------------- kernels
    def _round_shift(self, v: np.ndarray, s: int) -> np.ndarray:
        """Divide by 2**s (s >= 1) and round with ``quant``; exact integer arithmetic."""
        if v.dtype != object and s > 62:  # jam the dropped bits into a sticky LSB
            k = s - 62
            if k >= 64:
                hi, sticky = v >> 63, v != 0
            else:
                hi, sticky = v >> k, (v & ((1 << k) - 1)) != 0
            v, s = hi | sticky, 62
        if self.quant == "TRN":
            return v >> s
        if self.quant == "RND":
            return ((v >> (s - 1)) + 1) >> 1 if s > 1 else (v >> 1) + (v & 1)
        q = v >> s
        return q + _increment(self.quant, v & ((1 << s) - 1), 1 << (s - 1), v < 0, q)

    def _shift_left(self, v: np.ndarray, k: int) -> np.ndarray:
        """Multiply by 2**k (k >= 1) and apply the overflow mode, without int64 overflow."""
        if self.overflow == "WRAP":
            if k >= self.width:
                return np.zeros(v.shape, np.int64)
            low = v & ((1 << (self.width - k)) - 1)
            if v.dtype == object:
                return self.wrap(low << k)
            return self.wrap((low.astype(_U64) << _U64(k)).view(np.int64))
        lo, hi = self._sat_min, self.raw_max
        lo_k, hi_k = -((-lo) >> k), hi >> k  # ceil(lo / 2**k), floor(hi / 2**k)
        inside = np.clip(v, lo_k, hi_k).astype(np.int64)
        shifted = inside << k if k < 64 else np.zeros(v.shape, np.int64)
        return self._apply_flags(shifted, v > hi_k, v < lo_k)

    def _apply_flags(self, v: np.ndarray, over: np.ndarray, under: np.ndarray) -> np.ndarray:
        if self.overflow == "SAT_ZERO":
            return np.where(over | under, 0, v)
        return np.where(over, self.raw_max, np.where(under, self._sat_min, v))


def _increment(quant: str, rem, half, neg, q):
    """0/1 to add to the floor ``q`` given remainder ``rem`` in [0, 2*half)."""
    if quant == "TRN_ZERO":
        return (rem != 0) & neg
    above, tie = rem > half, rem == half
    if quant == "RND":
        return rem >= half
    if quant == "RND_ZERO":
        return above | (tie & neg)
    if quant == "RND_MIN_INF":
        return above
    if quant == "RND_INF":
        return above | (tie & ~neg)
    return above | (tie & (q % 2 != 0))  # RND_CONV: ties to even


def _fmod64(q: np.ndarray) -> np.ndarray:
    """Integer-valued floats reduced exactly into [-2**63, 2**63) modulo 2**64."""
    r = np.fmod(q, 2.0**64)
    r = np.where(r >= 2.0**63, r - 2.0**64, r)
    return np.where(r < -(2.0**63), r + 2.0**64, r)


def _as_int_array(raw: np.ndarray | int, wide: bool = False) -> np.ndarray:
    """int64 array, or an object array of Python ints when ``wide`` or out of int64 range."""
    arr = np.asarray(raw)
    if arr.dtype.kind in "ib" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind == "u" or arr.dtype == object:
        arr = np.asarray(arr.astype(object), dtype=object)
        if not all(isinstance(e, (int, np.integer)) for e in arr.flat):
            raise TypeError("raw values must be integers; use quantize() for floats")
        arr = np.vectorize(int, otypes=[object])(arr) if arr.size else arr
        if arr.size and min(arr.flat) >= -(2**63) and max(arr.flat) < 2**63 and not wide:
            arr = arr.astype(np.int64)
    else:
        raise TypeError(f"raw values must be integers, got dtype {arr.dtype}; use quantize()")
    return arr.astype(object) if wide and arr.dtype != object else arr
