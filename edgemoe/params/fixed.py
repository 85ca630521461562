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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QUANT_MODES: tuple[str, ...] = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF",
                                "RND_INF", "RND_CONV")
OVERFLOW_MODES: tuple[str, ...] = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
MAX_SIGNED_WIDTH = 64
MAX_UNSIGNED_WIDTH = 63
INT_BITS_LIMIT = 512

_U64 = np.uint64
RawLike = np.ndarray | int | Sequence[int]
_FIXED_RE = re.compile(r"^\s*ap_(u?)fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*"
                       r"(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*(-?\d+)\s*)?>\s*$")
_INT_RE = re.compile(r"^\s*ap_(u?)int\s*<\s*(\d+)\s*>\s*$")
_SYNTAX = "ap_fixed<W,I[,AP_<quant>[,AP_<overflow>[,0]]]>, ap_ufixed<...>, ap_int<W> or ap_uint<W>"


class FixedFormatError(ValueError):
    """A fixed-point format is malformed or outside the supported range."""


def _mode(value: object, allowed: tuple[str, ...], what: str) -> str:
    name = value[3:] if isinstance(value, str) and value.startswith("AP_") else value
    if name not in allowed:
        raise FixedFormatError(f"unknown {what} mode {value!r}; use one of "
                               f"{', '.join(allowed)} (AP_ prefix optional)")
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
            raise FixedFormatError(f"width {self.width} unsupported for {'un' * (not self.signed)}"
                                   f"signed formats: use 1..{limit} (raw values are int64)")
        if not -INT_BITS_LIMIT <= self.int_bits <= INT_BITS_LIMIT:
            raise FixedFormatError(f"int_bits {self.int_bits} out of range: use "
                                   f"{-INT_BITS_LIMIT}..{INT_BITS_LIMIT}")
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
            raise FixedFormatError(f"{text!r}: saturation bits N={n_bits} are not supported; "
                                   "drop N or use 0")
        return cls(int(width), int(int_bits), unsigned == "", quant or "TRN", overflow or "WRAP")

    def cpp(self) -> str:
        """Full C++ spelling with both modes, e.g. ``ap_fixed<32,10,AP_TRN,AP_WRAP>``."""
        return f"{str(self).split(',AP_')[0].rstrip('>')},AP_{self.quant},AP_{self.overflow}>"

    def __str__(self) -> str:
        """Short C++ spelling that omits default modes, e.g. ``ap_fixed<32,10>``."""
        modes = (f",AP_{self.quant},AP_{self.overflow}" if self.overflow != "WRAP"
                 else f",AP_{self.quant}" if self.quant != "TRN" else "")
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.int_bits}{modes}>"

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
    def _sat_min(self) -> int:  # AP_SAT_SYM clamps to -raw_max, except 1-bit (headers keep -1)
        return self.raw_min + (self.overflow == "SAT_SYM" and self.signed and self.width > 1)

    @property
    def storage_dtype(self) -> np.dtype:
        """Smallest numpy integer dtype holding the raw value (int8..int64 / uint8..uint64)."""
        bits = next(b for b in (8, 16, 32, 64) if self.width <= b)
        return np.dtype(f"{'i' if self.signed else 'u'}{bits // 8}")

    # ---------------------------------------------------------------- conversion
    def from_raw(self, raw: RawLike, frac_bits: int) -> np.ndarray:
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
            v = self._overflow_owned(self._round_shift(arr, shift))
        elif shift < 0:
            v = self._shift_left(arr, -shift)
        else:
            v = self._overflow_owned(arr.copy())
        return v.reshape(np.shape(raw))

    def from_raw_counted(self, raw: RawLike, frac_bits: int) -> tuple[np.ndarray, int]:
        """:meth:`from_raw` plus how many values wrapped or saturated on the way.

        A value counts when its rounded value lies outside the format's range (for
        AP_SAT_SYM, below -raw_max), i.e. exactly when the overflow mode changes it.
        """
        arr = _as_int_array(raw)
        shift = int(frac_bits) - self.frac_bits
        if shift < 0:  # left shifts: out of range before the shift <=> after it
            lo, hi = -((-self._sat_min) >> -shift), self.raw_max >> -shift
            return self.from_raw(raw, frac_bits), int(np.count_nonzero((arr < lo) | (arr > hi)))
        rounded = self._round_shift(arr, shift) if shift > 0 else arr.copy()
        count = int(np.count_nonzero((rounded < self._sat_min) | (rounded > self.raw_max)))
        return self._overflow_owned(rounded).reshape(np.shape(raw)), count

    def cast(self, raw: RawLike, src: FixedType) -> np.ndarray:
        """Convert raw values of format ``src`` into this format (``ft x = src_value;``)."""
        return self.from_raw(raw, src.frac_bits)

    def quantize(self, x: float | np.ndarray) -> np.ndarray:
        """``ft x = d;`` for doubles: quantize their exact binary values into raw integers.

        Args:
            x: Float values (converted to float64).

        Returns:
            int64 raw values, same shape as ``x``.

        Raises:
            ValueError: ``x`` holds NaN or infinity.
        """
        x = np.asarray(x, dtype=np.float64)
        return self._quantize(x.reshape(-1)).reshape(x.shape)

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        if not np.isfinite(x).all():
            raise ValueError(f"cannot quantize NaN or infinity into {self}; clean the input first")
        f = self.frac_bits
        with np.errstate(over="ignore", under="ignore"):
            y = np.ldexp(x, f)  # exact unless it under/overflows, fixed up below
        if f < 0:  # ldexp may round into subnormals; any |y| in (0, 0.5) rounds alike
            y = np.where((np.abs(y) < 0.25) & (x != 0), np.copysign(0.125, x), y)
        elif f > 0 and np.isinf(y).any():  # 2**1000 behaves like the true value (0 mod 2**64)
            y = np.where(np.isinf(y), np.copysign(2.0**1000, x), y)
        q = np.floor(y)
        if self.quant != "TRN":
            odd = np.fmod(q, 2.0) != 0 if self.quant == "RND_CONV" else None
            q = q + _increment(self.quant, y - q, 0.5, y < 0, odd)
        if self.overflow == "WRAP":
            mod = min(self.width, 62)
            r = np.fmod(q, 2.0**mod) if mod < 62 else _fmod64(q)
            return self._wrap_owned(r.astype(np.int64))
        top = float(self.raw_max + 1)  # a power of two, exact
        over = q >= top
        under = q <= float(self.raw_min) if self._sat_min > self.raw_min else q < self.raw_min
        v = np.clip(q, float(self.raw_min), np.nextafter(top, 0.0)).astype(np.int64)
        return self._apply_flags(v, over, under)

    def to_float(self, raw: RawLike) -> np.ndarray:
        """Raw values to float64 (exact while |raw| < 2**53)."""
        return np.ldexp(np.asarray(raw).astype(np.float64), -self.frac_bits)

    def count_saturated(self, x_float: np.ndarray | float) -> int:
        """Number of float values outside ``[min_value, max_value]``."""
        x = np.asarray(x_float, dtype=np.float64)
        return int(np.count_nonzero((x < self.min_value) | (x > self.max_value)))

    # --------------------------------------------------------------- overflow only
    def wrap(self, raw: RawLike) -> np.ndarray:
        """Keep the low ``width`` bits (two's complement when signed), i.e. AP_WRAP."""
        return self._wrap_owned(_as_int_array(raw).copy()).reshape(np.shape(raw))

    def saturate(self, raw: RawLike) -> np.ndarray:
        """Clamp to ``[raw_min, raw_max]`` (plain AP_SAT, whatever ``overflow`` says)."""
        v = np.clip(_as_int_array(raw), self.raw_min, self.raw_max).astype(np.int64)
        return v.reshape(np.shape(raw))

    def handle_overflow(self, raw: RawLike) -> np.ndarray:
        """Apply this format's own overflow mode to integers already at its frac_bits."""
        return self._overflow_owned(_as_int_array(raw).copy()).reshape(np.shape(raw))

    # --------------------------------------------------------------- arithmetic
    def add(self, a_raw: RawLike, b_raw: RawLike, b_type: FixedType | None = None, *,
            a_type: FixedType | None = None) -> np.ndarray:
        """``ft x = a + b;``: the exact sum, cast into this format.

        The C++ sum type ``ap_fixed<max(Ia,Ib)+1+max(Fa,Fb), max(Ia,Ib)+1>`` (one more
        integer bit for mixed signedness) never rounds, so the only quantization and
        overflow is the cast into ``self``. Sums wider than 63 bits use Python ints.

        Args:
            a_raw: Raw values of ``a``, in format ``a_type`` (default: this format).
            b_raw: Raw values of ``b``, in format ``b_type`` (default: ``a_type``).
            b_type: Format of ``b``.
            a_type: Format of ``a``.

        Returns:
            int64 raw values in this format (operands broadcast).
        """
        at = a_type or self
        bt = b_type or at
        f = max(at.frac_bits, bt.frac_bits)
        wide = max(at.int_bits, bt.int_bits) + 2 + f > 63
        a = _as_int_array(a_raw, wide) << (f - at.frac_bits)
        b = _as_int_array(b_raw, wide) << (f - bt.frac_bits)
        shape = np.broadcast_shapes(np.shape(a_raw), np.shape(b_raw))
        return self.from_raw(a + b, f).reshape(shape)

    def mul(self, a_raw: RawLike, b_raw: RawLike, b_type: FixedType | None = None, *,
            a_type: FixedType | None = None) -> np.ndarray:
        """``ft x = a * b;``: the exact product ``ap_fixed<Wa+Wb, Ia+Ib>``, cast into this format.

        Arguments and result as in :meth:`add`. Products wider than 63 bits use Python ints.
        """
        at = a_type or self
        bt = b_type or at
        wide = at.width + bt.width > 63
        prod = _as_int_array(a_raw, wide) * _as_int_array(b_raw, wide)
        shape = np.broadcast_shapes(np.shape(a_raw), np.shape(b_raw))
        return self.from_raw(prod, at.frac_bits + bt.frac_bits).reshape(shape)

    # ---------------------------------------------------------------- packing
    def to_bytes(self, raw: RawLike) -> bytes:
        """Pack raw values little-endian in :attr:`storage_dtype` (sign-extended).

        Raises:
            ValueError: A value lies outside ``[raw_min, raw_max]``.
        """
        v = _as_int_array(raw)
        if v.size and (v.min() < self.raw_min or v.max() > self.raw_max):
            raise ValueError(f"raw values outside [{self.raw_min}, {self.raw_max}] cannot be "
                             f"packed as {self}; convert them with from_raw/wrap/saturate first")
        return v.astype(self.storage_dtype.newbyteorder("<")).tobytes()

    def from_bytes(self, buf: bytes | bytearray | memoryview, count: int) -> np.ndarray:
        """Unpack ``count`` little-endian values; only the low ``width`` bits of each count.

        Raises:
            ValueError: ``buf`` holds fewer than ``count`` values.
        """
        dt = self.storage_dtype.newbyteorder("<")
        if count < 0 or len(buf) < count * dt.itemsize:
            raise ValueError(f"need {count} x {dt.itemsize} bytes for {count} values of {self}, "
                             f"got {len(buf)} bytes")
        return self.wrap(np.frombuffer(buf, dtype=dt, count=count).astype(np.int64))

    # ---------------------------------------------------------------- kernels
    # ``*_owned`` kernels may overwrite their int64 argument (fewer passes and allocations).
    def _wrap_owned(self, v: np.ndarray) -> np.ndarray:
        mask = (1 << self.width) - 1
        half = 1 << (self.width - 1)
        if v.dtype == object:
            v = v & mask
            return ((v ^ half) - half if self.signed else v).astype(np.int64)
        if self.width < 64:  # low bits, then sign-extend as (u ^ h) - h; u < 2**63: no overflow
            v &= mask
            if self.signed:
                v ^= half
                v -= half
        return v

    def _overflow_owned(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self._sat_min, self.raw_max
        if self.overflow == "WRAP":
            return self._wrap_owned(v)
        if self.overflow == "SAT_ZERO":
            return np.where((v < lo) | (v > hi), 0, v).astype(np.int64)
        return np.clip(v, lo, hi).astype(np.int64) if v.dtype == object else np.clip(v, lo, hi, out=v)

    def _round_shift(self, v: np.ndarray, s: int) -> np.ndarray:
        """Divide by 2**s (s >= 1) and round with ``quant``; exact integer arithmetic."""
        if v.dtype != object and s > 62:  # jam the dropped bits into a sticky LSB
            k = s - 62
            sticky = v != 0 if k >= 64 else (v & ((1 << k) - 1)) != 0
            v, s = (v >> min(k, 63)) | sticky, 62
        if self.quant == "TRN":
            return v >> s
        if self.quant == "RND" and s > 1:  # floor((v + half) / 2**s) without overflow
            q = v >> (s - 1)
            q += 1
            q >>= 1
            return q
        q = v >> s
        odd = (q & 1) != 0 if self.quant == "RND_CONV" else None
        q += _increment(self.quant, v & ((1 << s) - 1), 1 << (s - 1), v < 0, odd)
        return q

    def _shift_left(self, v: np.ndarray, k: int) -> np.ndarray:
        """Multiply by 2**k (k >= 1) and apply the overflow mode, without int64 overflow."""
        if self.overflow == "WRAP":
            if k >= self.width:
                return np.zeros(v.shape, np.int64)
            low = v & ((1 << (self.width - k)) - 1)  # low << k < 2**W: fits unless W = 64
            if v.dtype == object or self.width < 64:
                low <<= k
                return self._wrap_owned(low)
            return (low.astype(_U64) << _U64(k)).view(np.int64)
        lo, hi = self._sat_min, self.raw_max
        lo_k, hi_k = -((-lo) >> k), hi >> k  # ceil(lo / 2**k), floor(hi / 2**k)
        inside = np.clip(v, lo_k, hi_k).astype(np.int64)
        shifted = inside << k if k < 64 else np.zeros(v.shape, np.int64)
        return self._apply_flags(shifted, v > hi_k, v < lo_k)

    def _apply_flags(self, v: np.ndarray, over: np.ndarray, under: np.ndarray) -> np.ndarray:
        if self.overflow == "SAT_ZERO":
            return np.where(over | under, 0, v)
        return np.where(over, self.raw_max, np.where(under, self._sat_min, v))


def _increment(quant: str, rem, half, neg, odd):
    """0/1 to add to the floor ``q`` given remainder ``rem`` in [0, 2*half), ``odd`` = q odd."""
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
    return above | (tie & odd)  # RND_CONV: ties to even


def _fmod64(q: np.ndarray) -> np.ndarray:
    """Integer-valued floats reduced exactly into [-2**63, 2**63) modulo 2**64."""
    r = np.fmod(q, 2.0**64)
    r = np.where(r >= 2.0**63, r - 2.0**64, r)
    return np.where(r < -(2.0**63), r + 2.0**64, r)


def _as_int_array(raw: RawLike, wide: bool = False) -> np.ndarray:
    """At least 1-d int64 array, or object array of Python ints (``wide`` or beyond int64)."""
    arr = np.atleast_1d(np.asarray(raw))
    if arr.dtype.kind in "ib" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind == "u" or arr.dtype == object:
        if not all(isinstance(e, (int, np.integer)) for e in arr.flat):
            raise TypeError("raw values must be integers; use quantize() for floats")
        arr = np.array([int(e) for e in arr.flat], dtype=object).reshape(arr.shape)
        if not wide and all(-(2**63) <= e < 2**63 for e in arr.flat):
            arr = arr.astype(np.int64)
    else:
        raise TypeError(f"raw values must be integers, got dtype {arr.dtype}; use quantize()")
    return arr.astype(object) if wide and arr.dtype != object else arr
