"""Every ROM and constant of the numerics kernels, for code generation and manifests.

Codegen renders :func:`numerics_tables` and :func:`numerics_constants` into the C++
params header and the SystemVerilog package; :func:`numerics_digest` identifies them,
so a deploy package built elsewhere can be checked against the local golden tables.
"""

from __future__ import annotations

import hashlib

import numpy as np

from . import common, exp, gelu_kernel, int8, mean, recip


def numerics_constants() -> dict[str, int]:
    """Integer constants of the kernels, keyed by their C++/SV name (UPPER_CASE).

    Returns:
        Dict name -> int (widths, shifts, fixed-point constants, table sizes).
    """
    return {
        "MANT_FRAC": common.MANT_FRAC,
        "GUARD_BITS": common.GUARD_BITS,
        "MAX_LEFT_SHIFT": common.MAX_LEFT_SHIFT,
        "EXP_U_FRAC": exp.EXP_U_FRAC,
        "EXP_U_MAX": exp.EXP_U_MAX,
        "EXP_LOG2E_Q30": exp.LOG2E_Q30,
        "EXP_TABLE_BITS": exp.EXP_TABLE_BITS,
        "EXP_TABLE_SIZE": 1 << exp.EXP_TABLE_BITS,
        "RECIP_INDEX_BITS": recip.RECIP_INDEX_BITS,
        "RECIP_TABLE_SIZE": (1 << recip.RECIP_INDEX_BITS) + 1,
        "RSQRT_TABLE_SIZE": recip.RSQRT_INTERVALS + 1,
        "INTERP_BITS": recip.INTERP_BITS,
        "GELU_TABLE_SIZE": gelu_kernel.GELU_TABLE_SIZE,
        "GELU_STEP_BITS": gelu_kernel.GELU_STEP_BITS,
        "GELU_TABLE_FRAC": gelu_kernel.GELU_TABLE_FRAC,
        "GELU_LIMIT_INDEX": gelu_kernel.GELU_LIMIT_INDEX,
        "Q8_MAX": int8.Q8_MAX,
        "XQ_GUARD": int8.XQ_GUARD,
        "PACK_SHIFT": int8.PACK_SHIFT,
    }


def numerics_tables() -> dict[str, np.ndarray]:
    """Every ROM, keyed by its C++/SV name; int64 arrays (read-only).

    Returns:
        Dict with EXP_T0, EXP_T1, EXP_T2 (256 x Q.30), RECIP_TABLE (65 x Q.30),
        RSQRT_TABLE (193 x Q.30), GELU_DELTA_TABLE (177 x Q0.22), POOL_WINDOW_RECIP
        (10 mean reciprocals: POOL AVG's divisor of a clipped 3x3 window).
    """
    t0, t1, t2 = exp.exp_tables()
    return {
        "EXP_T0": t0,
        "EXP_T1": t1,
        "EXP_T2": t2,
        "RECIP_TABLE": recip.reciprocal_table(),
        "RSQRT_TABLE": recip.rsqrt_table(),
        "GELU_DELTA_TABLE": gelu_kernel.gelu_delta_table(),
        "POOL_WINDOW_RECIP": mean.window_recip_table(),
    }


def numerics_digest() -> str:
    """16 hex digits of SHA-256 over every constant and table (names, values in order).

    Returns:
        Hex string; equal on two machines iff their kernels compute the same bits.
    """
    h = hashlib.sha256()
    for name, value in sorted(numerics_constants().items()):
        h.update(f"{name}={value};".encode())
    for name, table in sorted(numerics_tables().items()):
        h.update(f"{name}:{table.size}:".encode())
        h.update(np.ascontiguousarray(table, dtype="<i8").tobytes())
    return h.hexdigest()[:16]
