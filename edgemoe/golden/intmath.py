"""Exact integer arithmetic for the golden executor.

The hardware accumulates products exactly in a 64-bit two's-complement register and
quantizes once per output.  numpy has no fast int64 matmul, so operands are split into
16-bit limbs (top limb signed, lower limbs unsigned); every limb product is < 2**32 and a
dot product of up to 2**21 terms stays below 2**53, so float64 BLAS computes each partial
sum exactly.  The partial sums are recombined in int64 with wrap-around, which equals the
hardware accumulator modulo 2**64.
"""

from __future__ import annotations

import numpy as np

LIMB_BITS = 16
MAX_EXACT_TERMS = 1 << 21
_CHUNK_ELEMENTS = 1 << 22  # rows per BLAS call are capped to bound peak memory


def limbs(x: np.ndarray, width: int) -> list[np.ndarray]:
    """Split int64 values of a ``width``-bit signed range into float64 16-bit limbs."""
    n = max(1, -(-width // LIMB_BITS))
    out = []
    rest = x.astype(np.int64, copy=False)
    for i in range(n):
        if i == n - 1:
            out.append(rest.astype(np.float64))
        else:
            out.append((rest & 0xFFFF).astype(np.float64))
            rest = rest >> LIMB_BITS
    return out


def bits_needed(x: np.ndarray) -> int:
    """Signed bit width that holds every value of ``x`` (at least 1)."""
    if x.size == 0:
        return 1
    lo, hi = int(x.min()), int(x.max())
    return max(lo.bit_length() if lo >= 0 else (-lo - 1).bit_length(), hi.bit_length()) + 1


def matmul_exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` exactly modulo 2**64 for integer-valued ``x`` (T, K) and ``w`` (N, K).

    ``x`` may be int64 or float64 holding integers (as im2col produces, to skip a copy).
    """
    t, k = x.shape
    if k > MAX_EXACT_TERMS:
        raise ValueError(f"dot products of {k} terms exceed the exact float64 range")
    if x.size and w.size:
        bound = k * max(abs(int(x.min())), abs(int(x.max()))) * \
            max(abs(int(w.min())), abs(int(w.max())))
        if bound < 1 << 53:  # every partial sum is exact in one float64 product
            return (x.astype(np.float64, copy=False) @ w.T.astype(np.float64)).astype(np.int64)
    x = x.astype(np.int64, copy=False)
    wl = [limb.T.copy() for limb in limbs(w, bits_needed(w))]
    xw = bits_needed(x)
    out = np.empty((t, w.shape[0]), dtype=np.int64)
    rows = max(1, _CHUNK_ELEMENTS // max(k, 1))
    for start in range(0, t, rows):
        xl = limbs(x[start:start + rows], xw)
        acc = np.zeros((len(xl[0]), w.shape[0]), dtype=np.int64)
        for i, a in enumerate(xl):
            for j, b in enumerate(wl):
                part = (a @ b).astype(np.int64)
                acc += part << (LIMB_BITS * (i + j)) if i + j else part
        out[start:start + rows] = acc
    return out


def floor_div(a: np.ndarray, d: int) -> np.ndarray:
    """Floor division by a positive constant (hardware: divide with sign fix-up)."""
    return np.floor_divide(a, d)


def shift_frac(raw: np.ndarray, from_frac: int, to_frac: int) -> np.ndarray:
    """Re-express raw values at another number of fraction bits (floor when narrowing)."""
    if to_frac >= from_frac:
        return raw << (to_frac - from_frac)
    return raw >> (from_frac - to_frac)
