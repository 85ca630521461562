"""Integer building blocks shared by the transcendental kernels.

Every kernel in :mod:`edgemoe.numerics` ends the same way: it holds a positive
mantissa ``y`` in Q.30 (``MANT_FRAC`` fraction bits, ``2**28 <= y < 2**31``) and a
per-element power of two ``e``, so the result is ``y * 2**(e - 30)``.
:func:`emit_scaled` turns that pair into a raw value of the output type in two steps:

1. shift ``y`` to ``rf = out.frac_bits + GUARD_BITS`` fraction bits (left shifts are
   exact, right shifts floor), clamped to ``out.raw_max << GUARD_BITS``, i.e. a
   positive result never wraps, it saturates at the largest value of the type;
2. ``out.from_raw(v, rf)``: the output type's own quantization mode (and overflow
   mode, which the clamp makes irrelevant).

All shifts of negative numbers are arithmetic (floor), as ``>>`` on a signed
``ap_int`` in C++ and ``>>>`` on a ``logic signed`` in SystemVerilog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .errors import NumericsError

if TYPE_CHECKING:
    from edgemoe.params.fixed import FixedType

#: Fraction bits of every normalised mantissa (values in [0.25, 2) as Q.30).
MANT_FRAC = 30
#: Extra fraction bits kept below the output LSB before the output quantization.
GUARD_BITS = 8
#: Largest left shift applied to a Q.30 mantissa (keeps every value below 2**62).
MAX_LEFT_SHIFT = 31
#: Largest ``width - signed + GUARD_BITS`` an output type may have.
MAX_OUT_BITS = 60


def as_raw(x: np.ndarray | int) -> np.ndarray:
    """Return ``x`` as an int64 array (raw fixed-point codes)."""
    return np.asarray(x, dtype=np.int64)


def shift(x: np.ndarray, s: np.ndarray | int) -> np.ndarray:
    """``x * 2**s`` for integer ``s``: left shift for ``s >= 0``, floor right shift else.

    Args:
        x: int64 array.
        s: int or int64 array broadcastable to ``x`` (left shifts must not overflow).

    Returns:
        int64 array.
    """
    if np.ndim(s) == 0:
        s = int(s)
        return x << s if s >= 0 else x >> min(-s, 63)
    s = np.asarray(s, dtype=np.int64)
    left = x << np.clip(s, 0, 62)
    right = x >> np.clip(-s, 0, 63)
    return np.where(s >= 0, left, right)


def floor_log2(x: np.ndarray) -> np.ndarray:
    """Position of the leading one bit of each positive element (a priority encoder).

    Six compare-and-shift steps (32, 16, 8, 4, 2, 1), so ``floor_log2(1) == 0`` and
    ``floor_log2(2**40 + 5) == 40``. Elements ``<= 0`` give 0.

    Args:
        x: int64 array.

    Returns:
        int64 array of bit positions in [0, 62].
    """
    v = np.asarray(x, dtype=np.int64)
    p = np.zeros(v.shape, dtype=np.int64)
    for k in (32, 16, 8, 4, 2, 1):
        hi = v >= (1 << k)
        v = np.where(hi, v >> k, v)
        p += np.where(hi, k, 0)
    return p


def check_out_type(out_type: FixedType, role: str) -> None:
    """Raise NumericsError if ``out_type`` is too wide for the kernel's int64 datapath."""
    need = out_type.width - int(out_type.signed) + GUARD_BITS
    if need > MAX_OUT_BITS:
        raise NumericsError(
            f"{role} type {out_type} is too wide for the numerics kernels: "
            f"width - signed + {GUARD_BITS} guard bits = {need} > {MAX_OUT_BITS}; "
            f"use an output type of at most {MAX_OUT_BITS - GUARD_BITS + 1} bits"
        )


def check_in_type(x_type: FixedType, role: str, max_width: int = 62) -> None:
    """Raise NumericsError if raw codes of ``x_type`` may not fit the int64 datapath."""
    if x_type.width > max_width:
        raise NumericsError(
            f"{role} type {x_type} is {x_type.width} bits wide; the numerics kernels "
            f"accept at most {max_width} bits here: use a narrower input type"
        )


def emit_scaled(y: np.ndarray, e: np.ndarray | int, out_type: FixedType) -> np.ndarray:
    """Quantize the positive value ``y * 2**(e - MANT_FRAC)`` into ``out_type``.

    Integer steps: ``rf = out.frac_bits + GUARD_BITS``; ``s = rf - 30 + e``;
    ``v = y << s`` (``s >= 0``) or ``y >> -s`` (floor); ``s > 31`` or
    ``v > out.raw_max << GUARD_BITS`` give ``v = out.raw_max << GUARD_BITS``
    (saturation); result ``out.from_raw(v, rf)``.

    Args:
        y: int64 mantissas with ``2**28 <= y < 2**31``.
        e: int or int64 array of exponents.
        out_type: the FixedType the result is stored into.

    Returns:
        int64 raw codes of ``out_type``.
    """
    rf = out_type.frac_bits + GUARD_BITS
    s = np.asarray(rf - MANT_FRAC + np.asarray(e, dtype=np.int64), dtype=np.int64)
    sat = np.int64(int(out_type.raw_max) << GUARD_BITS)
    v = shift(y, np.minimum(s, MAX_LEFT_SHIFT))
    v = np.where(s > MAX_LEFT_SHIFT, sat, np.minimum(v, sat))
    return np.asarray(out_type.from_raw(v, rf), dtype=np.int64)
