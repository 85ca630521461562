"""``reciprocal`` and ``rsqrt``: normalise, interpolate a small ROM, one Newton step.

Both kernels normalise the positive raw input ``X`` (``F`` fraction bits) by its
leading-one position ``p = floor_log2(X)`` to a Q.30 mantissa ``M``, seed from a ROM
with linear interpolation (one multiply), refine with one Newton step, and hand the
Q.30 result and its power of two to :func:`emit_scaled` (quantize into ``out_type``,
saturating at its maximum).

Non-positive inputs (1/0 -> +inf) give ``out_type.raw_max``: the kernels saturate
instead of raising, as the hardware does. The golden executor never passes them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .common import (
    MANT_FRAC,
    as_raw,
    check_in_type,
    check_out_type,
    emit_scaled,
    floor_log2,
    shift,
)

if TYPE_CHECKING:
    from edgemoe.params.fixed import FixedType

#: Interpolation intervals of the reciprocal ROM over [1, 2) (index = 6 mantissa bits).
RECIP_INDEX_BITS = 6
#: Interpolation intervals of the rsqrt ROM over [1, 4) (step 1/64).
RSQRT_INTERVALS = 192
#: Mantissa bits below the ROM index (interpolation weight ``t``).
INTERP_BITS = MANT_FRAC - 6


@lru_cache(maxsize=1)
def reciprocal_table() -> np.ndarray:
    """Reciprocal ROM: 65 entries ``round(2**30 / (1 + i/64))``, i = 0..64 (Q.30, read-only)."""
    i = np.arange((1 << RECIP_INDEX_BITS) + 1, dtype=np.float64)
    t = np.rint((1 << MANT_FRAC) / (1.0 + i / (1 << RECIP_INDEX_BITS))).astype(np.int64)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=1)
def rsqrt_table() -> np.ndarray:
    """Rsqrt ROM: 193 entries ``round(2**30 / sqrt(1 + j/64))``, j = 0..192 (Q.30, read-only)."""
    j = np.arange(RSQRT_INTERVALS + 1, dtype=np.float64)
    t = np.rint((1 << MANT_FRAC) / np.sqrt(1.0 + j / 64.0)).astype(np.int64)
    t.setflags(write=False)
    return t


def _interp(table: np.ndarray, j: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``T[j] - (((T[j] - T[j+1]) * t) >> INTERP_BITS)`` (one multiply, 24-bit weight)."""
    a = table[j]
    return a - (((a - table[j + 1]) * t) >> INTERP_BITS)


def reciprocal(x_raw: np.ndarray | int, x_type: FixedType, out_type: FixedType) -> np.ndarray:
    """1/x for x > 0, quantized into ``out_type``.

    Formula: ``x = m * 2**(p - F)`` with ``m`` in [1, 2), ``1/x = (1/m) * 2**(F - p)``;
    ``1/m`` by ROM interpolation then one Newton step ``y1 = y0 * (2 - m * y0)``.

    Integer steps (``X`` = raw input, ``F`` = ``x_type.frac_bits``)::

        p  = floor_log2(X)                          # leading-one position
        M  = X << (30 - p)  (or >> (p - 30), floor) # Q1.30 in [2**30, 2**31)
        i  = (M >> 24) & 63;  t = M & 0xFFFFFF      # 6-bit index, 24-bit weight
        y0 = R[i] - (((R[i] - R[i+1]) * t) >> 24)   # R = reciprocal_table(), 65 entries
        d  = (2 << 30) - ((M * y0) >> 30)
        y1 = (y0 * d) >> 30                         # Q.30, ~2**30 / m
        result = emit_scaled(y1, F - p, out_type)

    Table: 65 entries, 31-bit unsigned. Widths: products < 2**61.

    Error bound (against float64): relative error of the kernel before the output
    quantization <= 1e-8 (measured 4.5e-9 over every mantissa at 22-bit resolution);
    end to end |error| <= 1 LSB of ``out_type`` + 1e-8 / x (TRN), e.g. 2.42e-7 measured
    for x in [1, 256] in ap_fixed<32,10>. ``x <= 0`` gives
    ``out_type.raw_max``; results above the type's range saturate (never wrap).

    Args:
        x_raw: int64 raw codes of ``x_type``.
        x_type: FixedType of the input (at most 62 bits).
        out_type: FixedType of the result.

    Returns:
        int64 raw codes of ``out_type``, same shape as ``x_raw``.
    """
    check_in_type(x_type, "reciprocal input")
    check_out_type(out_type, "reciprocal output")
    x = as_raw(x_raw)
    pos = x > 0
    xs = np.where(pos, x, 1)
    p = floor_log2(xs)
    m = shift(xs, MANT_FRAC - p)
    y0 = _interp(reciprocal_table(), (m >> INTERP_BITS) & 63, m & ((1 << INTERP_BITS) - 1))
    d = (2 << MANT_FRAC) - ((m * y0) >> MANT_FRAC)
    y1 = (y0 * d) >> MANT_FRAC
    out = emit_scaled(y1, x_type.frac_bits - p, out_type)
    return np.where(pos, out, np.int64(out_type.raw_max))


def rsqrt(x_raw: np.ndarray | int, x_type: FixedType, out_type: FixedType) -> np.ndarray:
    """1/sqrt(x) for x > 0, quantized into ``out_type``.

    Formula: ``x = m * 2**(2k)`` with ``m`` in [1, 4) (even-shift normalisation),
    ``1/sqrt(x) = (1/sqrt(m)) * 2**-k``; ``1/sqrt(m)`` by ROM interpolation then one
    Newton step ``y1 = y0 * (3 - m * y0**2) / 2``.

    Integer steps (``X`` = raw input, ``F`` = ``x_type.frac_bits``)::

        p  = floor_log2(X);  E = p - F;  q = E & 1;  k = (E - q) >> 1
        M  = X << (30 - p + q)  (or >> ..., floor)  # Q2.30 in [2**30, 2**32)
        j  = (M >> 24) - 64;  t = M & 0xFFFFFF      # j in 0..191 (step 1/64 over [1, 4))
        y0 = S[j] - (((S[j] - S[j+1]) * t) >> 24)   # S = rsqrt_table(), 193 entries
        a  = (y0 * y0) >> 30
        b  = (M * a) >> 30
        y1 = (y0 * ((3 << 30) - b)) >> 31           # Q.30, ~2**30 / sqrt(m)
        result = emit_scaled(y1, -k, out_type)

    Table: 193 entries, 31-bit unsigned. Widths: products < 2**62.

    Error bound (against float64 over [1e-6, 1e4] and every mantissa in [1, 4) at
    24-bit resolution): relative error of the kernel before the output quantization
    <= 1e-8 (measured 2.3e-9); end to end |error| <= 1 LSB of ``out_type`` +
    1e-8 / sqrt(x) (TRN). ``x <= 0`` gives ``out_type.raw_max``.

    Args:
        x_raw: int64 raw codes of ``x_type`` (layernorm: var + eps, e.g. ap_ufixed<48,16>).
        x_type: FixedType of the input (at most 62 bits).
        out_type: FixedType of the result (e.g. ap_ufixed<32,12>).

    Returns:
        int64 raw codes of ``out_type``, same shape as ``x_raw``.
    """
    check_in_type(x_type, "rsqrt input")
    check_out_type(out_type, "rsqrt output")
    x = as_raw(x_raw)
    pos = x > 0
    xs = np.where(pos, x, 1)
    p = floor_log2(xs)
    e = p - x_type.frac_bits
    q = e & 1
    k = (e - q) >> 1
    m = shift(xs, MANT_FRAC - p + q)
    y0 = _interp(rsqrt_table(), (m >> INTERP_BITS) - 64, m & ((1 << INTERP_BITS) - 1))
    a = (y0 * y0) >> MANT_FRAC
    b = (m * a) >> MANT_FRAC
    y1 = (y0 * ((3 << MANT_FRAC) - b)) >> (MANT_FRAC + 1)
    out = emit_scaled(y1, -k, out_type)
    return np.where(pos, out, np.int64(out_type.raw_max))
