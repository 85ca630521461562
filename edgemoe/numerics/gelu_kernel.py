"""``gelu``: GELU(x) = ReLU(x) - delta(|x|) with a 177-entry interpolated ROM.

``delta(a) = a * Phi(-a)`` (Phi = standard normal CDF) is even in x, at most 0.16997
(at a = 0.75) and below 1.1e-7 for a >= 5.5, where GELU is taken as ReLU.

Integer steps (``F`` = ``act.frac_bits`` >= 5, ``sh = F - 5``)::

    a     = |x|                                       # raw, F fraction bits
    idx   = a >> sh                                   # floor(32 |x|)
    t     = a & (2**sh - 1)                           # frac(32 |x|), sh bits
    delta = T[idx] + (((T[idx+1] - T[idx]) * t) >> sh)   if idx < 176 else 0   # Q0.22
    g     = max(x, 0) * 2**(G - F) - delta * 2**(G - 22)  # exact, G = max(F, 22)
    result = act.from_raw(g, G)                        # act's quant/overflow, once

ROM: ``GELU_TABLE_SIZE`` = 177 entries, step 1/32 over [0, 5.5], ``ap_ufixed<22,0>``.
The entries are not samples of delta: they are the node values of the piecewise
linear function that (nearly) minimises the maximum interpolation error, found by
an iterative equal-ripple fit in float64 at first use, then rounded to 22 bits.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .common import as_raw, check_in_type
from .errors import NumericsError

if TYPE_CHECKING:
    from edgemoe.params.fixed import FixedType

#: Number of ROM entries (nodes 0, 1/32, ..., 5.5).
GELU_TABLE_SIZE = 177
#: log2 of the node spacing inverse (step 1/32).
GELU_STEP_BITS = 5
#: Fraction bits of the ROM entries (ap_ufixed<22,0>).
GELU_TABLE_FRAC = 22
#: First index with delta = 0 (|x| >= 5.5 -> ReLU).
GELU_LIMIT_INDEX = GELU_TABLE_SIZE - 1
#: Sample points per interval used to fit the table.
_FIT_POINTS = 129
_FIT_ITERATIONS = 400


def gelu_delta(a: np.ndarray) -> np.ndarray:
    """Float64 reference ``delta(a) = a * Phi(-a)`` (used to build the ROM and in tests)."""
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    a = np.asarray(a, dtype=np.float64)
    return a * 0.5 * erfc(a / math.sqrt(2.0))


@lru_cache(maxsize=1)
def _fitted_nodes() -> np.ndarray:
    """Float64 node values of the near-minimax piecewise linear fit of delta on [0, 5.5]."""
    n = GELU_TABLE_SIZE - 1
    h = 1.0 / (1 << GELU_STEP_BITS)
    t = np.linspace(0.0, 1.0, _FIT_POINTS)
    f = gelu_delta((np.arange(n)[:, None] + t[None, :]) * h)
    v = gelu_delta(np.arange(GELU_TABLE_SIZE) * h)
    count = np.full(GELU_TABLE_SIZE, 2.0)
    count[[0, -1]] = 1.0
    for _ in range(_FIT_ITERATIONS):
        err = f - (v[:-1, None] * (1.0 - t) + v[1:, None] * t)
        centre = 0.5 * (err.max(axis=1) + err.min(axis=1))
        adj = np.zeros(GELU_TABLE_SIZE)
        adj[:-1] += centre
        adj[1:] += centre
        v = v + 0.5 * adj / count
    return v


def gelu_delta_table(act: FixedType | None = None) -> np.ndarray:
    """The GELU delta ROM: 177 int64 entries, ``ap_ufixed<22,0>`` raw codes (Q0.22).

    The same table serves every activation type; ``act``, when given, is checked to
    have the at least 5 fraction bits that the index extraction needs.

    Args:
        act: the activation type the table will be used with (optional).

    Returns:
        Read-only int64 array of shape (177,), entries in [0, 2**22).
    """
    if act is not None:
        _check_act(act)
    return _delta_table()


@lru_cache(maxsize=1)
def _delta_table() -> np.ndarray:
    raw = np.rint(_fitted_nodes() * (1 << GELU_TABLE_FRAC)).astype(np.int64)
    raw = np.clip(raw, 0, (1 << GELU_TABLE_FRAC) - 1)
    raw.setflags(write=False)
    return raw


def _check_act(act: FixedType) -> None:
    if act.frac_bits < GELU_STEP_BITS:
        raise NumericsError(
            f"gelu needs an activation type with at least {GELU_STEP_BITS} fraction bits "
            f"to index its 1/32-step table; {act} has {act.frac_bits}"
        )
    check_in_type(act, "gelu activation", max_width=40)


def gelu(x_raw: np.ndarray | int, act: FixedType) -> np.ndarray:
    """GELU(x) = x * Phi(x) = ReLU(x) - delta(|x|), in and out of ``act``.

    See the module docstring for the integer steps: one ROM pair read, one multiply
    (``(T[idx+1] - T[idx]) * t``, floor shift), one exact subtraction, and a single
    quantization into ``act`` (its quant and overflow modes).

    ROM: 177 entries of 22 bits (:func:`gelu_delta_table`).

    Error bound (against the exact erf-GELU in float64, every code of ap_fixed<32,10>
    in [-8, 8], TRN): max abs error <= 5.5e-5, measured 4.90e-5 (a table of samples of
    delta, as in Edge-MoE, gives 9.8e-5); other act types add 1 LSB. |x| >= 5.5
    returns ReLU(x) exactly (true delta < 1.1e-7 there).

    Args:
        x_raw: int64 raw codes of ``act``.
        act: activation FixedType (at least 5 fraction bits, at most 40 bits wide).

    Returns:
        int64 raw codes of ``act``, same shape as ``x_raw``.
    """
    g, g_frac = _gelu_exact(x_raw, act)
    return np.asarray(act.from_raw(g, g_frac), dtype=np.int64)


def gelu_counted(x_raw: np.ndarray | int, act: FixedType) -> tuple[np.ndarray, int]:
    """:func:`gelu` plus how many results wrapped or saturated in the quantization into
    ``act``: zero for inputs inside act's range (``|GELU(x)| <= |x|`` and the ROM error is
    far below ``|x| * Phi(-|x|)``); counted like every other activation quantization."""
    g, g_frac = _gelu_exact(x_raw, act)
    y, count = act.from_raw_counted(g, g_frac)
    return np.asarray(y, dtype=np.int64), count


def _gelu_exact(x_raw: np.ndarray | int, act: FixedType) -> tuple[np.ndarray, int]:
    """The exact ``ReLU(x) - delta`` before its one quantization: (raw values, frac bits)."""
    _check_act(act)
    table = _delta_table()
    f = act.frac_bits
    sh = f - GELU_STEP_BITS
    x = as_raw(x_raw)
    a = np.abs(x)
    idx = a >> sh
    inside = idx < GELU_LIMIT_INDEX
    i = np.where(inside, idx, 0)
    lo = table[i]
    delta = lo + (((table[i + 1] - lo) * (a & ((1 << sh) - 1))) >> sh)
    delta = np.where(inside, delta, 0)
    g_frac = max(f, GELU_TABLE_FRAC)
    return (np.maximum(x, 0) << (g_frac - f)) - (delta << (g_frac - GELU_TABLE_FRAC)), g_frac
