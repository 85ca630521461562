"""W8A8 arithmetic of the linear engine (LINEAR with ``Flag.WFMT_Q8``), defined once.

Golden (:mod:`edgemoe.golden.linear_ops`), HLS (``em_linear*.hpp``) and SV
(``edgemoe_lin.sv``) implement exactly these integer steps:

1. **Input**: each act-format raw input ``x`` (taken as int32: unchanged for act formats
   of at most 32 bits, the only ones the compiler uses) becomes a symmetric int8 code
   ``q = clamp((x * x_mul + 2**(s - 1)) >> s, -Q8_MAX, Q8_MAX)`` with
   ``s = act.frac_bits + XQ_GUARD`` (round half up; a clamped value counts as an
   overflow).  ``x_mul`` (the instruction's ``imm``) is one per-tensor multiplier chosen
   at compile time from calibration: a per-token scale would need each row's maximum
   before its first MAC, i.e. a second pass over the row.  The code's scale is
   ``2**XQ_GUARD / x_mul``.  Any int32 ``x_mul`` is well defined (``|x * x_mul| < 2**62``);
   the compiler chooses one in [1, X_MUL_MAX].
2. **MACs**: ``acc = sum_k q[k] * w[c, k]`` over int8 weight codes, exact; with
   ``|q|, |w| <= 127`` and ``K <= MAX_Q8_TERMS`` it fits int32.
3. **Dequantization, two steps**: (a) the channel scale, ``acc * m[c]`` with the int32
   multiplier ``m[c] = round(s_x * s_w[c] * 2**(act.frac_bits + dq_shift))`` stored
   beside the bias; (b) the bias, aligned to ``act.frac_bits + dq_shift`` fraction bits
   (floor), is added and the sum is quantized once into act by the act format's own
   quantization and overflow modes (counted).  Everything runs in 64-bit wrap-around.
"""

from __future__ import annotations

import numpy as np

from .errors import NumericsError

#: Largest magnitude of an int8 code: symmetric, so -128 is never produced.
Q8_MAX = 127
#: Fraction bits of ``x_mul`` beyond the act format's (the input multiplier's precision).
XQ_GUARD = 16
#: Largest input multiplier the compiler chooses (a positive int32).
X_MUL_MAX = (1 << 31) - 1
#: Largest dequantization shift (keeps the aligned bias and ``acc * m`` inside 64 bits).
DQ_SHIFT_MAX = 24
#: Largest channel multiplier (an int32 word).
M_MAX = (1 << 31) - 1
#: Dot-product length whose int8 x int8 sum provably fits int32.
MAX_Q8_TERMS = 1 << 17
#: Widest act format the int8 input step accepts (``x * x_mul`` stays inside int64).
MAX_ACT_WIDTH = 32


def x_shift(act) -> int:
    """Right shift of ``x * x_mul`` in step 1 for activation format ``act``."""
    return act.frac_bits + XQ_GUARD


def check_act(act) -> None:
    """Raise NumericsError when ``act`` cannot feed the int8 input step."""
    if act.width > MAX_ACT_WIDTH or not 1 <= x_shift(act) <= 62:
        raise NumericsError(
            f"act format {act} cannot be quantized to int8 by the W8A8 linear mode: it needs "
            f"width <= {MAX_ACT_WIDTH} and 1 <= frac_bits + {XQ_GUARD} <= 62; "
            "use a narrower act format or build without int8 layers")


def input_codes(x: np.ndarray, x_mul: int, act) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: act raw codes -> int8 codes.

    Returns:
        (int64 codes in [-Q8_MAX, Q8_MAX], where they were clamped).
    """
    s = x_shift(act)
    x32 = np.asarray(x, np.int64).astype(np.int32).astype(np.int64)  # a 32 x 32 product
    v = (x32 * np.int64(x_mul) + np.int64(1 << (s - 1))) >> s
    return np.clip(v, -Q8_MAX, Q8_MAX), (v > Q8_MAX) | (v < -Q8_MAX)


def quantize_input(x: np.ndarray, x_mul: int, act) -> tuple[np.ndarray, int]:
    """Step 1 (:func:`input_codes`), returning how many inputs were clamped."""
    codes, clamped = input_codes(x, x_mul, act)
    return codes, int(np.count_nonzero(clamped))


def dequantize(acc: np.ndarray, m: np.ndarray, bias_aligned: np.ndarray, dq_shift: int,
               act) -> tuple[np.ndarray, int]:
    """Step 3: exact int sums (T, N) -> act raw codes, counting overflows of act.

    Args:
        acc: int64 sums of int8 products.
        m: int64 channel multipliers (N,).
        bias_aligned: bias at ``act.frac_bits + dq_shift`` fraction bits (N,).
        dq_shift: the instruction's dequantization shift.
        act: activation FixedType.
    """
    with np.errstate(over="ignore"):  # 64-bit wrap-around, as the hardware registers
        v = acc.astype(np.int64) * m[None, :].astype(np.int64) + bias_aligned[None, :]
    return act.from_raw_counted(v, act.frac_bits + dq_shift)


# ------------------------------------------------------------------ compile-time choices
def weight_codes(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes per output channel (rows of ``w``) and their float scales.

    A channel of zeros gets scale 0 and codes 0.
    """
    w = np.asarray(w, np.float64)
    amax = np.abs(w).max(axis=1, initial=0.0)
    scale = amax / Q8_MAX
    safe = np.where(scale > 0, scale, 1.0)
    codes = np.clip(np.rint(w / safe[:, None]), -Q8_MAX, Q8_MAX).astype(np.int64)
    return codes, scale


def input_multiplier(absmax: float, limit: int = X_MUL_MAX) -> int:
    """``x_mul`` that maps a calibrated ``|x| <= absmax`` onto [-Q8_MAX, Q8_MAX].

    ``limit`` caps it where the instruction field is narrower (MOE_EXPERTS' fc2 input: a
    range below ``Q8_MAX * 2**XQ_GUARD / limit`` then uses fewer than the 255 codes).
    """
    if not absmax > 0 or not np.isfinite(absmax):
        raise NumericsError(f"calibration range {absmax!r} must be a positive finite number: "
                            "calibrate on inputs that are not all zero")
    return int(np.clip(round(Q8_MAX * 2.0 ** XQ_GUARD / absmax), 1, limit))


def input_scale(x_mul: int) -> float:
    """Float value of one int8 input step for multiplier ``x_mul``."""
    return 2.0 ** XQ_GUARD / x_mul


def channel_multipliers(x_mul: int, w_scale: np.ndarray, act,
                        dq_max: int = DQ_SHIFT_MAX) -> tuple[np.ndarray, int]:
    """(int32 multipliers ``m``, ``dq_shift``): the largest shift up to ``dq_max`` whose
    ``m`` fit int32 (a layer sharing one shift with others passes their smallest)."""
    real = input_scale(x_mul) * np.asarray(w_scale, np.float64)
    for dq in range(dq_max, -1, -1):
        m = np.rint(real * 2.0 ** (act.frac_bits + dq))
        if m.max(initial=0.0) <= M_MAX:
            return m.astype(np.int64), dq
    raise NumericsError(f"channel scales up to {real.max():g} do not fit an int32 multiplier "
                        f"at {act}: calibrate a smaller input range or use a wider act format")


# ------------------------------------------------------------------ DSP packing
#: Offset of the upper weight in a packed multiplier operand ``a * 2**PACK_SHIFT + b``:
#: one 27 x 18 DSP48E2 product ``x * (a * 2**18 + b)`` carries both int8 products, since
#: ``|b * x| <= 127 * 128 < 2**17`` fits the low 18 bits (Xilinx WP486).
PACK_SHIFT = 18


def packed_products(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a * x, b * x)`` of int8 values through one multiply, split as the hardware does.

    The low PACK_SHIFT bits, sign-extended, are ``b * x``; the rest, plus the borrow the
    low product's sign took from it (bit PACK_SHIFT - 1), is ``a * x``.
    """
    x, a, b = (np.asarray(v, np.int64) for v in (x, a, b))
    p = x * ((a << PACK_SHIFT) + b)
    half = 1 << (PACK_SHIFT - 1)
    low = ((p & ((1 << PACK_SHIFT) - 1)) ^ half) - half
    high = (p >> PACK_SHIFT) + ((p >> (PACK_SHIFT - 1)) & 1)
    return high, low


# ------------------------------------------------------------------ the paired MAC array
#: Output tiles one MAC beat serves in the W8A8 mode: each multiplier slot holds a weight
#: of tile 2j and one of tile 2j + 1 and multiplies both by the shared int8 input at once
#: (:func:`packed_products`; edgemoe_lin_dot.sv, edgemoe_lin_pair.sv, em_int8.hpp).
Q8_PAIR = 2


def q8_mac_beats(tiles_out: int, tiles_in: int) -> int:
    """MAC beats of one token over ``tiles_out`` x ``tiles_in`` W8A8 weight tiles.

    Pairs of output tiles run together; a pair takes at least ``Q8_PAIR`` beats because
    one epilogue finishes its two tiles in turn (one beat each).
    """
    return -(-tiles_out // Q8_PAIR) * max(tiles_in, Q8_PAIR)


# ------------------------------------------------------------------ an MLP's hidden rows
#: Bytes of one element of a W8A8 MOE_EXPERTS hidden row in ``scratch`` (or of a W8A8 dense
#: MLP's hidden tensor): fc2 only ever uses the int8 code of fc1's GELU output, so fc1
#: stores that code (a two's-complement byte) instead of the act word, and the row crosses
#: the port twice at a byte an element.
HIDDEN_CODE_BYTES = 1


def hidden_codes(hidden: np.ndarray, hidden_x_mul, act) -> tuple[np.ndarray, int]:
    """The scratch bytes of a W8A8 MOE_EXPERTS (``Flag.WFMT_Q8`` or ``WFMT_Q4``), defined once.

    Expert e with c > 0 queued tokens, after its fc1 + GELU (act raw ``hidden``, (c, H)),
    writes row r < c at byte ``scratch + r * H`` (:func:`hidden_row_offset`): H int8 codes,
    step 1 of fc2's input with ``hidden_x_mul``.  Experts run in index order, so a later
    expert overwrites the rows an earlier one wrote; every other byte of ``scratch`` (rows
    at or past the largest queue, the allocation's act-sized rest) keeps its content.  fc2
    reads those bytes as its input codes unchanged, so its sums, dst and the profile are
    those of quantizing the act rows at fc2 (as before); the clamps are counted here, once
    per element, in the same instruction.

    A W8A8 LINEAR with ``codes_out`` (isa.pack_linear_q8) does the same with a multiplier
    per output column: ``hidden_x_mul`` is then its ``code_muls`` vector (N,)
    (layout.code_muls_offset), column c coded with ``code_muls[c]``.  It writes row r of
    its dst at ``dst + r * out_features`` as these codes of its final values (after GELU /
    ReLU) and counts their clamps in its own profile entry.  A dense MLP's fc1 carries
    fc2's input multiplier in every column (fc2, ``codes_in``, reads the codes: its dst
    and the two entries' summed overflows are those of act rows); an attention's qkv
    LINEAR carries q_mul, k_mul and v_mul over its three column parts (numerics.attn_q8
    step 1).

    Returns:
        (int64 codes (c, H), how many were clamped).
    """
    return quantize_input(hidden, hidden_x_mul, act)


def hidden_row_offset(scratch: int, row: int, hidden: int) -> int:
    """Byte address of hidden row ``row`` (:func:`hidden_codes`)."""
    return scratch + row * hidden * HIDDEN_CODE_BYTES
