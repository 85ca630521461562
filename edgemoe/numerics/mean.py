"""Means without a divider: a sum times a rounded reciprocal, one rounding (POOL).

The mean of ``n`` raw values is ``sum * mean_recip(n) >> (POOL_RECIP_BITS + clog2(n))``:
the reciprocal keeps POOL_RECIP_BITS significant bits whatever ``n`` is, and the product is
quantized once into the activation format.  GLOBAL_AVG carries ``mean_recip(H*W)`` in its
instruction; the windowed average looks the window's count up in :func:`window_recip_table`
(a clipped k x k window holds 1 .. POOL_MAX_KERNEL**2 values).
"""

from __future__ import annotations

import numpy as np

#: Significant bits of every mean reciprocal (so recip < 2**31: a signed 32-bit operand).
POOL_RECIP_BITS = 30
#: Largest window side of the windowed mean (VoVNet's 3x3 pools): bounds the table.
POOL_MAX_KERNEL = 3


def clog2(n: int) -> int:
    """Smallest e with 2**e >= n (n >= 1)."""
    return (int(n) - 1).bit_length()


def mean_recip(count: int) -> int:
    """round(2**(POOL_RECIP_BITS + clog2(count)) / count): the mean's multiplier (< 2**31)."""
    shift = POOL_RECIP_BITS + clog2(count)
    return ((1 << shift) + count // 2) // count


def window_recip_table() -> np.ndarray:
    """``mean_recip(n)`` for n = 0 .. POOL_MAX_KERNEL**2 (entry 0 unused, 0), int64."""
    size = POOL_MAX_KERNEL * POOL_MAX_KERNEL
    table = np.array([0] + [mean_recip(n) for n in range(1, size + 1)], dtype=np.int64)
    table.flags.writeable = False
    return table
