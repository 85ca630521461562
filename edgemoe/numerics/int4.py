"""Mixed int4/int8 weights per output channel (LINEAR with ``Flag.WFMT_Q4``), defined once.

A mixed layer keeps a few *high* output channels in int8 and the rest *low* in int4, as
MixLLM does.  The compiler reorders the channels so each precision is one contiguous
sub-matrix: part row ``r < high_out`` is an int8 row, every later one an int4 row, and the
``channel_index`` list gives the output channel each part row is written to (a scatter
back to the original order).  Golden (:mod:`edgemoe.golden.linear_q4`) and HLS
(``em_int4.hpp``) implement exactly these integer steps:

1. **Input**: int8 codes with one per-tensor multiplier ``x_mul``, exactly step 1 of
   :mod:`edgemoe.numerics.int8` (per tensor: a per-token scale needs the row's maximum
   before its first MAC).
2. **High rows**: ``t = sum_k q[k] * w[r, k]`` over symmetric int8 codes, exact (the W8A8
   sum, one scale per channel, no groups).
3. **Low rows**: unsigned codes ``u in [0, Q4_MAX]`` with a zero point ``z[r, g]`` and an
   unsigned scale code ``e[r, g] in [0, E_MAX]`` per group of inputs along K.  The op
   field is the group count ``q4_groups`` (the checks then need no divider); a group is
   ``ceil(K / q4_groups)`` inputs, the last one shorter, and the compiler takes
   ``q4_groups = ceil(K / size)`` for the precision map's size, which gives that size
   whenever it divides K.  Step (a) of the
   two-step dequantization is per group, in int32:
   ``s_g = sum_{k in g} q[k] * (u[r, k] - z[r, g])`` (``|s_g| <= 127 * 15 * K``);
   step (b) weighs the groups by their scale codes and sums them exactly in 64 bits:
   ``t = sum_g s_g * e[r, g]``.  The float weight is ``S[r] * e[r, g] / E_MAX * (u - z)``
   with one channel scale ``S[r]``, the largest group step of the row.
4. **Output**: every row then runs the W8A8 step 3: ``t * m[r]`` plus the aligned bias,
   quantized once into act (counted), with the int32 multiplier ``m[r]`` and the
   instruction's one ``dq_shift``.  Part row ``r`` goes to output channel
   ``channel_index[r]``.  Everything runs in 64-bit wrap-around.

Bytes of the ``weights`` operand, each block 64-byte aligned: the high rows' int8 codes
tile-packed like a W8A8 matrix; the low rows' codes tile-packed the same way, two per
byte (even element in the low nibble); then per low row (padded to P_OUT rows) and group
two bytes ``e, z``.  ``bias``, ``scales`` (int32 ``m``) and ``channel_index`` (u32) are in
part-row order.
"""

from __future__ import annotations

import numpy as np

from ..layout import align, ceil_div, pack_tiled, tiled_words, unpack_tiled
from .errors import NumericsError

#: Largest unsigned int4 code (asymmetric: the zero point is a code too).
Q4_MAX = 15
#: Largest group scale code: a group's step is ``S * e / E_MAX``.
E_MAX = 255
#: Bytes per (low row, group): the scale code and the zero point.
GROUP_PARAM_BYTES = 2
#: Largest group count (the field's upper 16 bits).
MAX_Q4_GROUPS = (1 << 16) - 1
#: Dot-product length for which a row's ``t`` provably fits int32 (``127 * 15 * E_MAX * K <
#: 2**31``), so ``t * m`` is the W8A8 step 3's 32 x 32 product.  Since
#: ``sum_g e_g * s_g = sum_k q[k] * ((u[k] - z) * e_g)``, an engine may also expand the
#: int4 rows into 13-bit weights ``(u - z) * e`` at load time and run the int8 sum: same bits.
MAX_Q4_TERMS = 4096
#: LINEAR's ``q4_split`` field: ``high_out | q4_groups << Q4_GROUPS_SHIFT``.
Q4_GROUPS_SHIFT = 16


def pack_split(high_out: int, groups: int) -> int:
    """LINEAR's ``q4_split`` (d3): the int8 row count and the group count."""
    if not 0 <= high_out < 1 << Q4_GROUPS_SHIFT or not 1 <= groups <= MAX_Q4_GROUPS:
        raise NumericsError(f"mixed layer high_out={high_out} must be in [0, "
                            f"{(1 << Q4_GROUPS_SHIFT) - 1}] and groups={groups} in "
                            f"[1, {MAX_Q4_GROUPS}]")
    return high_out | groups << Q4_GROUPS_SHIFT


def unpack_split(d3: int) -> tuple[int, int]:
    """Inverse of :func:`pack_split`: (high_out, q4_groups)."""
    return d3 & ((1 << Q4_GROUPS_SHIFT) - 1), d3 >> Q4_GROUPS_SHIFT


def group_count(k: int, size: int) -> int:
    """``q4_groups`` for groups of ``size`` inputs (at most) along ``k``."""
    return max(1, ceil_div(k, size))


def group_size(k: int, groups: int) -> int:
    """Inputs per group (the last one may be shorter)."""
    return max(1, ceil_div(k, groups))


# ------------------------------------------------------------------ layout
def high_bytes(high: int, k: int, p_out: int, p_in: int) -> int:
    """Bytes of the int8 sub-matrix (64-byte aligned)."""
    return align(tiled_words(high, k, p_out, p_in))


def low_code_bytes(low: int, k: int, p_out: int, p_in: int) -> int:
    """Bytes of the int4 sub-matrix, two codes a byte (64-byte aligned)."""
    return align(ceil_div(tiled_words(low, k, p_out, p_in), 2))


def group_param_bytes(low: int, groups: int, p_out: int) -> int:
    """Bytes of the low rows' (scale code, zero point) pairs (64-byte aligned)."""
    return align(ceil_div(low, p_out) * p_out * groups * GROUP_PARAM_BYTES)


def weight_bytes(n: int, high: int, k: int, groups: int, p_out: int, p_in: int) -> int:
    """Bytes of a mixed layer's ``weights`` operand (ops.py's expression, evaluated)."""
    low = n - high
    return (high_bytes(high, k, p_out, p_in) + low_code_bytes(low, k, p_out, p_in)
            + group_param_bytes(low, groups, p_out))


def pack_weights(high_codes: np.ndarray, low_codes: np.ndarray, e: np.ndarray, z: np.ndarray,
                 p_out: int, p_in: int) -> bytes:
    """The ``weights`` operand of a mixed layer.

    Args:
        high_codes: int8 codes (H, K).
        low_codes: uint4 codes (L, K).
        e, z: scale codes and zero points (L, groups).
        p_out, p_in: the design point's tile.
    """
    hi = pack_tiled(np.asarray(high_codes, np.int64), p_out, p_in).astype("i1").tobytes()
    flat = pack_tiled(np.asarray(low_codes, np.int64), p_out, p_in).astype(np.uint8)
    flat = np.pad(flat, (0, flat.size % 2))
    lo = (flat[0::2] | flat[1::2] << 4).astype(np.uint8).tobytes()
    rows = ceil_div(len(e), p_out) * p_out
    params = np.zeros((rows, e.shape[1], GROUP_PARAM_BYTES), np.uint8)
    params[:len(e), :, 0], params[:len(e), :, 1] = e, z
    return b"".join(_pad64(b) for b in (hi, lo, params.tobytes()))


def unpack_weights(blob: np.ndarray, n: int, high: int, k: int, groups: int, p_out: int,
                   p_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_weights`: (int8 codes, uint4 codes, e, z) as int64 arrays."""
    low = n - high
    blob = np.asarray(blob, np.uint8)
    hb, lb = high_bytes(high, k, p_out, p_in), low_code_bytes(low, k, p_out, p_in)
    words = tiled_words(high, k, p_out, p_in)
    hi = unpack_tiled(blob[:words].view(np.int8).astype(np.int64), high, k, p_out, p_in)
    words = tiled_words(low, k, p_out, p_in)
    nib = blob[hb:hb + ceil_div(words, 2)]
    flat = np.stack([nib & 0xF, nib >> 4], axis=1).reshape(-1)[:words].astype(np.int64)
    lo = unpack_tiled(flat, low, k, p_out, p_in)
    rows = ceil_div(low, p_out) * p_out
    params = blob[hb + lb:hb + lb + rows * groups * GROUP_PARAM_BYTES]
    params = params.reshape(rows, groups, GROUP_PARAM_BYTES)[:low].astype(np.int64)
    return hi, lo, params[:, :, 0], params[:, :, 1]


def _pad64(b: bytes) -> bytes:
    return b + bytes(-len(b) % 64)


# ------------------------------------------------------------------ arithmetic
def low_sums(xq: np.ndarray, u: np.ndarray, e: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Steps 3a-3b: int8 inputs (T, K) x int4 rows (L, K) -> exact ``t`` (T, L), int64.

    Each group sum is an int32 value; the scale-weighted sum of the groups is exact.
    """
    xq = np.asarray(xq, np.int64)
    group = group_size(u.shape[1], e.shape[1])
    t = np.zeros((xq.shape[0], u.shape[0]), np.int64)
    for g in range(e.shape[1]):
        cols = slice(g * group, (g + 1) * group)
        w = u[:, cols] - z[:, g:g + 1]  # |w| <= 15: float64 products and sums stay exact
        s = np.rint(xq[:, cols].astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
        t += s * e[:, g][None, :]
    return t


# ------------------------------------------------------------------ compile-time choices
def low_codes(w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric int4 codes of rows ``w`` (L, K) with a step and zero point per group
    (``groups`` groups of :func:`group_size` inputs; a group past K is empty: e = z = 0).

    Returns:
        (codes u (L, K), scale codes e (L, groups), zero points z (L, groups),
        channel scales S (L,)): the float weight is ``S * e / E_MAX * (u - z)``.
        A row of zeros gets S = 0 and codes equal to its zero points.
    """
    w = np.asarray(w, np.float64)
    rows, k = w.shape
    group = group_size(k, groups)
    pad = np.zeros((rows, groups * group))
    pad[:, :k] = w
    valid = np.zeros(groups * group, bool)
    valid[:k] = True
    blocks = pad.reshape(rows, groups, group)
    vmask = valid.reshape(groups, group)[None]
    lo = np.minimum(np.where(vmask, blocks, np.inf).min(axis=2), 0.0)
    hi = np.maximum(np.where(vmask, blocks, -np.inf).max(axis=2), 0.0)
    step = (hi - lo) / Q4_MAX
    s = step.max(axis=1, initial=0.0)
    safe_s = np.where(s > 0, s, 1.0)
    e = np.clip(np.ceil(step / safe_s[:, None] * E_MAX - 1e-9), 0, E_MAX).astype(np.int64)
    real = safe_s[:, None] * e / E_MAX  # the step the device applies (>= the wanted one)
    safe = np.where(real > 0, real, 1.0)
    z = np.clip(np.rint(-lo / safe), 0, Q4_MAX).astype(np.int64)
    u = np.clip(np.rint(blocks / safe[:, :, None]) + z[:, :, None], 0, Q4_MAX).astype(np.int64)
    u = u.reshape(rows, groups * group)[:, :k]
    return u, e, z, s


def low_dequantized(u: np.ndarray, e: np.ndarray, z: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The float weights the device holds for :func:`low_codes`' output."""
    k = u.shape[1]
    group = group_size(k, e.shape[1])
    step = np.repeat(s[:, None] * e / E_MAX, group, axis=1)[:, :k]
    zr = np.repeat(z, group, axis=1)[:, :k]
    return step * (u - zr)
