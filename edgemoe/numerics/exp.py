"""``exp_neg``: e**x for x <= 0 with three 256-entry ROMs and two multiplies.

Algorithm (all integer; ``F`` = input fraction bits)::

    u  = max(-x, 0)                                  # x > 0 is clamped to 0 -> 1.0
    u  = min(u * 2**(24 - F), 2**29 - 1)             # Q5.24 (floor if F > 24), u < 32
    v  = (u * LOG2E_Q30) >> 30                       # v = u*log2(e), Q6.24, < 2**30
    n  = v >> 24                                     # integer part, 0..46
    r  = v & 0xFFFFFF                                # fraction, 24 bits = a:8 | b:8 | c:8
    m  = EXP_T0[a]                                   # 2**(-a/2**8)   Q.30
    m  = (m * EXP_T1[b]) >> 30                       # 2**(-b/2**16)  Q.30
    m  = (m * EXP_T2[c]) >> 30                       # 2**(-c/2**24)  Q.30, m in (2**29, 2**30]
    result = emit_scaled(m, -n, out_type)            # m * 2**(-n - 30) into out_type

Tables: three ROMs of 256 unsigned 31-bit entries,
``EXP_Tj[k] = round(2**30 * 2**(-k / 2**(8 * (j + 1))))`` for j = 0, 1, 2.
Widths: ``u`` 29 bits, ``u * LOG2E_Q30`` < 2**60, table products < 2**61.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .common import MANT_FRAC, as_raw, check_in_type, check_out_type, emit_scaled, shift

if TYPE_CHECKING:
    from edgemoe.params.fixed import FixedType

#: Fraction bits of the internal argument ``u = -x``.
EXP_U_FRAC = 24
#: Largest internal argument (``u < 32``; e**-32 = 1.3e-14 is below every output LSB used).
EXP_U_MAX = (1 << (EXP_U_FRAC + 5)) - 1
#: log2(e) in Q1.30.
LOG2E_Q30 = round(math.log2(math.e) * (1 << 30))
#: Index bits of each of the three exp ROMs.
EXP_TABLE_BITS = 8


@lru_cache(maxsize=1)
def exp_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three exp ROMs ``EXP_T0, EXP_T1, EXP_T2`` (256 int64 entries each, Q.30).

    ``EXP_Tj[k] = round(2**30 * 2**(-k / 2**(8 * (j + 1))))``; entries lie in
    (2**29, 2**30]. The arrays are read-only.

    Returns:
        Tuple of three int64 arrays of shape (256,).
    """
    k = np.arange(1 << EXP_TABLE_BITS, dtype=np.float64)
    out = []
    for j in range(3):
        scale = float(1 << (EXP_TABLE_BITS * (j + 1)))
        t = np.rint(np.exp2(-k / scale) * (1 << MANT_FRAC)).astype(np.int64)
        t.setflags(write=False)
        out.append(t)
    return out[0], out[1], out[2]


def exp_neg(x_raw: np.ndarray | int, x_type: FixedType, out_type: FixedType) -> np.ndarray:
    """e**x for x <= 0, quantized into ``out_type``.

    Formula: ``e**x = 2**(-n) * 2**(-r)`` with ``n + r = -x * log2(e)``, ``2**(-r)``
    as the product of three ROM values indexed by the 24 fraction bits of ``r``
    (8 bits each). See the module docstring for the exact integer steps.

    ``x_raw`` is read as ``x_raw * 2**-x_type.frac_bits``; only ``x_type``'s fraction
    bits matter, so an exact difference of two values of a type (one bit wider than
    the type) may be passed with that type. ``x > 0`` is clamped to 0 (result 1.0),
    ``x < -32`` to -32. Input fraction bits above 24 are truncated (floor of -x).

    Tables: 3 x 256 entries, 31-bit unsigned (Q.30).

    Error bound (against float64, every code of ap_fixed<32,10> in [-16, 0]): the
    kernel before output quantization is within 5e-8 (measured 4.19e-8, mostly the
    24-bit truncation of ``v``); end to end into ``out_type`` (TRN) within
    1 LSB + 5e-8, i.e. 2.40e-7 measured for ap_fixed<32,10> (LSB 2.38e-7).
    Results below the output LSB are 0 (TRN).

    Args:
        x_raw: int64 raw codes.
        x_type: FixedType giving the scaling of ``x_raw``.
        out_type: FixedType of the result (quant mode applied once; saturates, never wraps).

    Returns:
        int64 raw codes of ``out_type``, same shape as ``x_raw``.
    """
    check_in_type(x_type, "exp_neg input")
    check_out_type(out_type, "exp_neg output")
    t0, t1, t2 = exp_tables()
    f = x_type.frac_bits
    # Clamping at 32 before aligning only keeps the shift in range; same result.
    u = np.clip(-as_raw(x_raw), 0, 1 << max(min(f + 5, 62), 0))
    u = np.minimum(shift(u, EXP_U_FRAC - f), EXP_U_MAX)
    v = (u * LOG2E_Q30) >> MANT_FRAC
    n = v >> EXP_U_FRAC
    m = t0[(v >> 16) & 0xFF]
    m = (m * t1[(v >> 8) & 0xFF]) >> MANT_FRAC
    m = (m * t2[v & 0xFF]) >> MANT_FRAC
    return emit_scaled(m, -n, out_type)
