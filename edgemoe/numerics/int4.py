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
byte (even element in the low nibble); then the group parameters of the low rows (padded
to P_OUT rows).  With several groups a row (``q4_groups > 1``) they are two bytes ``e, z``
per row and group.  With **one group per row** (``q4_groups == 1``) the row's channel
scale ``S[r]`` is its only group's step, so ``e == E_MAX`` by definition and is not
stored: the block holds only the zero points, two a byte (even row in the low nibble,
like the codes), :func:`zero_point_nibbles`.  :func:`group_param_span` gives where a row's
parameters are.  ``bias``, ``scales`` (int32 ``m``) and ``channel_index`` (u32) are in
part-row order.

MOE_EXPERTS with ``Flag.WFMT_Q4`` runs every expert's fc1 and fc2 as such a layer.  All
experts of a layer keep the same int8 row count (the compiler promotes rows to even them
out), so the experts' weight blocks have one stride; d4 (``q4_split``,
:func:`pack_moe_split`) holds fc1's and fc2's int8 row counts and one group-size code
(:data:`MOE_GROUP_SIZES`: a power of two, no divider in the checks, or the whole row).  Each
b operand holds every expert's bias block, then every expert's multiplier block (as
W8A8), then every expert's ``channel_index`` block (:func:`moe_index_offset`); b1 ends with
one 64-byte block whose first word is W8A8's d4 (``dq_shift | hidden_x_mul << 5``,
:func:`moe_q8_word_offset`), since d4 now holds the shapes.
"""

from __future__ import annotations

import numpy as np

from ..layout import align, bias_block_bytes, ceil_div, pack_tiled, tiled_words, unpack_tiled
from .errors import NumericsError

#: Largest unsigned int4 code (asymmetric: the zero point is a code too).
Q4_MAX = 15
#: Largest group scale code: a group's step is ``S * e / E_MAX``.
E_MAX = 255
#: Bytes per (low row, group) with several groups a row: the scale code and the zero point
#: (one group per row: half a byte, the zero point; :func:`zero_point_nibbles`).
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


#: A group size at least every K (the largest LINEAR K is 4096): one group per row.
ROW_GROUP = 1 << 16
#: MOE_EXPERTS' q4_split: fc1's int8 rows, fc2's from this bit, the group code from the next.
MOE_HIGH_BITS = 13
MOE_CODE_SHIFT = 2 * MOE_HIGH_BITS
#: Group size of each code of MOE_EXPERTS' q4_split: MOE_MIN_GROUP << code, the last code
#: (None) one group per row.
MOE_MIN_GROUP = 16
MOE_GROUP_SIZES = tuple(MOE_MIN_GROUP << c for c in range(7)) + (None,)


def pack_moe_split(high1: int, high2: int, code: int) -> int:
    """MOE_EXPERTS' ``q4_split`` (d4): fc1's and fc2's int8 row counts, the group code."""
    top = (1 << MOE_HIGH_BITS) - 1
    if not (0 <= high1 <= top and 0 <= high2 <= top and 0 <= code < len(MOE_GROUP_SIZES)):
        raise NumericsError(f"mixed experts high rows {high1}, {high2} must be in [0, {top}] "
                            f"and the group code {code} in [0, {len(MOE_GROUP_SIZES) - 1}]")
    return high1 | high2 << MOE_HIGH_BITS | code << MOE_CODE_SHIFT


def unpack_moe_split(d4: int) -> tuple[int, int, int]:
    """Inverse of :func:`pack_moe_split`: (fc1 int8 rows, fc2 int8 rows, group code)."""
    top = (1 << MOE_HIGH_BITS) - 1
    return d4 & top, d4 >> MOE_HIGH_BITS & top, d4 >> MOE_CODE_SHIFT & 7


def moe_group_code(size: int, ks: tuple[int, ...]) -> int:
    """The code of groups of ``size`` inputs for layers of inputs ``ks``.

    Raises:
        NumericsError: ``size`` is neither a listed power of two nor >= every K.
    """
    if size in MOE_GROUP_SIZES:
        return MOE_GROUP_SIZES.index(size)
    if size >= max(ks):
        return len(MOE_GROUP_SIZES) - 1
    sizes = ", ".join(str(v) for v in MOE_GROUP_SIZES[:-1])
    raise NumericsError(f"mixed experts need a group size of {sizes} or >= {max(ks)} (one "
                        f"group per row), not {size}: rerun `edgemoe quantize --group` with one")


def moe_groups(k: int, code: int) -> int:
    """``q4_groups`` of an expert layer with ``k`` inputs for a group code."""
    size = MOE_GROUP_SIZES[code]
    return 1 if size is None else group_count(k, size)


def moe_index_offset(b_off: int, expert: int, experts: int, n: int, p_out: int,
                     bias_bytes: int) -> int:
    """Mixed MOE_EXPERTS: ``expert``'s channel_index block in a b1/b2 operand (after every
    expert's bias block and multiplier block)."""
    return (b_off + experts * bias_block_bytes(n, p_out, bias_bytes)
            + (experts + expert) * bias_block_bytes(n, p_out, 4))


def moe_q8_word_offset(b1: int, experts: int, hidden: int, p_out: int, bias_bytes: int) -> int:
    """Mixed MOE_EXPERTS: the word ``dq_shift | hidden_x_mul << 5`` at the end of b1."""
    return moe_index_offset(b1, experts, experts, hidden, p_out, bias_bytes)


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


def zero_point_nibbles(groups: int) -> bool:
    """Whether the group parameters are zero points only, two a byte (one group per row:
    ``e`` is ``E_MAX`` by definition)."""
    return groups == 1


def group_param_bytes(low: int, groups: int, p_out: int) -> int:
    """Bytes of the low rows' group parameters, rows padded to P_OUT (64-byte aligned)."""
    rows = ceil_div(low, p_out) * p_out
    if zero_point_nibbles(groups):
        return align(ceil_div(rows, 2))
    return align(rows * groups * GROUP_PARAM_BYTES)


def group_param_span(row: int, groups: int) -> tuple[int, int]:
    """Where low row ``row``'s parameters are in their block: (byte offset, bytes); one group
    per row: the byte holding its zero point (nibble ``row & 1``)."""
    if zero_point_nibbles(groups):
        return row // 2, 1
    return row * groups * GROUP_PARAM_BYTES, groups * GROUP_PARAM_BYTES


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

    Raises:
        NumericsError: one group per row with a scale code other than ``E_MAX`` (the format
            does not store it).
    """
    e, z = np.asarray(e, np.int64), np.asarray(z, np.int64)
    hi = pack_tiled(np.asarray(high_codes, np.int64), p_out, p_in).astype("i1").tobytes()
    lo = _nibbles(pack_tiled(np.asarray(low_codes, np.int64), p_out, p_in))
    rows = ceil_div(len(e), p_out) * p_out
    if zero_point_nibbles(e.shape[1]):
        if np.any(e != E_MAX):
            raise NumericsError(f"one group per row stores no scale code: every e must be "
                                f"{E_MAX} (int4.low_codes gives that)")
        params = _nibbles(np.pad(z[:, 0], (0, rows - len(z))))
    else:
        grid = np.zeros((rows, e.shape[1], GROUP_PARAM_BYTES), np.uint8)
        grid[:len(e), :, 0], grid[:len(e), :, 1] = e, z
        params = grid.tobytes()
    return b"".join(_pad64(b) for b in (hi, lo, params))


def _nibbles(values: np.ndarray) -> bytes:
    """Values in [0, 15] two a byte, the even one in the low nibble."""
    flat = np.asarray(values, np.int64).astype(np.uint8)
    flat = np.pad(flat, (0, flat.size % 2))
    return (flat[0::2] | flat[1::2] << 4).astype(np.uint8).tobytes()


def _from_nibbles(blob: np.ndarray, count: int) -> np.ndarray:
    """Inverse of :func:`_nibbles`: the first ``count`` values as int64."""
    return np.stack([blob & 0xF, blob >> 4], axis=1).reshape(-1)[:count].astype(np.int64)


def unpack_weights(blob: np.ndarray, n: int, high: int, k: int, groups: int, p_out: int,
                   p_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_weights`: (int8 codes, uint4 codes, e, z) as int64 arrays."""
    low = n - high
    blob = np.asarray(blob, np.uint8)
    hb, lb = high_bytes(high, k, p_out, p_in), low_code_bytes(low, k, p_out, p_in)
    words = tiled_words(high, k, p_out, p_in)
    hi = unpack_tiled(blob[:words].view(np.int8).astype(np.int64), high, k, p_out, p_in)
    words = tiled_words(low, k, p_out, p_in)
    lo = unpack_tiled(_from_nibbles(blob[hb:hb + ceil_div(words, 2)], words), low, k, p_out,
                      p_in)
    par = blob[hb + lb:hb + lb + group_param_bytes(low, groups, p_out)]
    if zero_point_nibbles(groups):
        z = _from_nibbles(par, low)[:, None]
        return hi, lo, np.full_like(z, E_MAX), z
    rows = ceil_div(low, p_out) * p_out
    params = par[:rows * groups * GROUP_PARAM_BYTES]
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
        A row of zeros gets S = 0 and codes equal to its zero points; with one group per
        row every e is ``E_MAX`` (the format stores none).
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
    if zero_point_nibbles(groups):
        e[:] = E_MAX  # the row's only step is S itself; a zero row stays zero (u == z)
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
