"""Int8 attention (ATTENTION with ``Flag.WFMT_Q8``), defined once.

Golden (:mod:`edgemoe.golden.attn_q8`), HLS (``em_attention.hpp``) and SV
(``edgemoe_attn.sv``) implement exactly these integer steps.  ``qkv`` is in the act format
in memory (unless ``q8_codes`` says codes, below); the engine quantizes each row as it
loads it, so its on-chip K, V and Q rows hold one byte an element and a lane's beat covers
four times the elements of an act beat (the speed-up), with int8 x int8 products for QK^T
and act x int8 for AV.

1. **Codes**: q, k and v become symmetric int8 codes with W8A8's input step
   (:func:`edgemoe.numerics.int8.input_codes`), each with its own per-tensor multiplier
   (``q_mul``, ``k_mul``, ``v_mul``: one for all heads); every clamped element counts once.
2. **Scores**: ``acc = sum_d qc * kc`` (exact: ``|acc| <= 127**2 * head_dim``), then
   ``s = act.from_raw(acc * s_mul, s_shift)``: the product in 64-bit wrap-around, one
   quantization into act with act's own modes (counted).  ``s_mul`` carries the softmax
   scale and both code steps, so the instruction's ``scale`` is unused.
3. **Softmax**: Edge-MoE's single-pass softmax on ``s`` in the reordered key order,
   unchanged (:mod:`edgemoe.numerics.softmax`): probabilities ``p`` in act.
4. **AV**: ``acc = sum_j p_j * vc_j`` (exact), then ``out = act.from_raw(acc * o_mul,
   o_shift)``, 64-bit wrap-around, counted.

Why per tensor: the codes are made as rows stream in, before any row maximum is known (as
W8A8's inputs).  Why a parameter block (``q8_params``, :data:`Q8_PARAM_WORDS` int32 words,
one read per instruction) and not instruction words: five multipliers and two shifts do not
fit the fields ATTENTION leaves free.  A shift word's low 6 bits are the shift (0..63); its
other bits are ignored.

**Codes in memory** (the instruction's ``q8_codes``, d3: :data:`Q8_CODES_IN`,
:data:`Q8_CODES_OUT`; other bits refused; with ATTN_TOPK, which owns d3, never):

- *codes in*: the qkv rows are already step 1's codes, one byte an element in the same
  ``[T][3][heads][head_dim]`` layout (a row of ``3 * heads * head_dim`` bytes), made by
  their producer (the qkv LINEAR) with this block's ``q_mul``, ``k_mul``, ``v_mul``; the
  engine reads them as they are, so step 1's clamps are counted by the producer, not here
  (the program's overflow total is unchanged).
- *codes out*: the output rows are written as the consumer's input codes
  (:func:`edgemoe.numerics.int8.input_codes` of step 4's act values with ``out_x_mul``, the
  block's last word: proj's ``x_mul``), one byte an element, their clamps counted here (the
  same total as when the consumer quantized act rows).  ``out_x_mul`` is any int32, as a
  LINEAR's ``x_mul``; it is read only with codes out (0 otherwise, by convention).
"""

from __future__ import annotations

import numpy as np

from .errors import NumericsError
from .int8 import M_MAX, input_multiplier, input_scale

#: The parameter block, in word order (little-endian int32 words).
Q8_PARAM_WORDS = ("q_mul", "k_mul", "v_mul", "s_mul", "s_shift", "o_mul", "o_shift", "out_x_mul")
#: Bytes of the parameter block (one 256-bit beat).
Q8_PARAM_BYTES = 4 * len(Q8_PARAM_WORDS)
#: Bits of a shift word that hold the shift.
SHIFT_BITS = 6
#: Largest shift.
SHIFT_MAX = (1 << SHIFT_BITS) - 1
#: ``q8_codes`` bits: the qkv rows are int8 codes (one byte an element) ...
Q8_CODES_IN = 1
#: ... the output rows are written as int8 codes made with ``out_x_mul``.
Q8_CODES_OUT = 2
#: Largest ``q8_codes`` (the other bits are refused).
Q8_CODES_MAX = Q8_CODES_IN | Q8_CODES_OUT
#: Bytes of one element of a row held as int8 codes.
Q8_CODE_BYTES = 1


def param_words(block: np.ndarray) -> dict[str, int]:
    """The named fields of a parameter block (its words as int64 or uint32 values):
    multipliers as signed int32, shifts as their low :data:`SHIFT_BITS` bits."""
    words = [int(w) & 0xFFFFFFFF for w in np.asarray(block).reshape(-1)[:len(Q8_PARAM_WORDS)]]
    named = dict(zip(Q8_PARAM_WORDS, words, strict=True))
    out = {k: v - (1 << 32) if v >> 31 else v for k, v in named.items() if k.endswith("_mul")}
    out.update({k: named[k] & SHIFT_MAX for k in ("s_shift", "o_shift")})
    return out


def _rescale(acc: np.ndarray, mul: int, shift: int, act) -> tuple[np.ndarray, int]:
    """``act.from_raw(acc * mul, shift)`` with the product in 64-bit wrap-around."""
    with np.errstate(over="ignore"):
        v = np.asarray(acc, np.int64) * np.int64(mul)
    return act.from_raw_counted(v, shift)


def scores(qc: np.ndarray, kc: np.ndarray, s_mul: int, s_shift: int, act):
    """Step 2 for one head: int8 codes ``qc`` (T, D) and ``kc`` (T, D) -> raw act scores
    (T queries, T keys) and how many wrapped or saturated."""
    acc = np.asarray(qc, np.int64) @ np.asarray(kc, np.int64).T
    return _rescale(acc, s_mul, s_shift, act)


def outputs(p: np.ndarray, vc: np.ndarray, o_mul: int, o_shift: int, act):
    """Step 4 for one head: raw act probabilities ``p`` (T, T) and int8 codes ``vc`` (T, D)
    -> raw act outputs (T, D) and how many wrapped or saturated.  ``p <= 1`` and sums to
    about 1, so ``|acc| < 2**(act.frac_bits + 8)`` for any in-range ``p``."""
    acc = np.asarray(p, np.int64) @ np.asarray(vc, np.int64)
    return _rescale(acc, o_mul, o_shift, act)


# ------------------------------------------------------------------ compile-time choices
def _fixed_multiplier(real: float, what: str) -> tuple[int, int]:
    """(mul, shift): the largest shift <= SHIFT_MAX whose ``round(real * 2**shift)`` fits
    int32, so ``x * mul >> shift`` is ``x * real`` to 31 significant bits."""
    if not real > 0 or not np.isfinite(real):
        raise NumericsError(f"int8 attention {what} {real!r} must be a positive finite number: "
                            "calibrate q, k and v on inputs that are not all zero")
    for shift in range(SHIFT_MAX, -1, -1):
        mul = round(real * 2.0 ** shift)
        if mul <= M_MAX:
            return max(mul, 1), shift
    raise NumericsError(f"int8 attention {what} {real:g} does not fit an int32 multiplier: "
                        "calibrate smaller q, k or v ranges")


def choose_params(q_max: float, k_max: float, v_max: float, scale: float, act,
                  out_x_mul: int = 0) -> dict[str, int]:
    """The parameter block's fields for calibrated ranges ``|q| <= q_max`` (and k, v) and
    the softmax scale ``scale`` (1/sqrt(head_dim)); ``act`` is the activation format;
    ``out_x_mul``: the consumer's input multiplier when the output rows are codes."""
    q_mul, k_mul, v_mul = (input_multiplier(m) for m in (q_max, k_max, v_max))
    # s = scale * acc * step_q * step_k; out = acc * step_v / 2**F (p has F fraction bits)
    s_mul, s_shift = _fixed_multiplier(scale * input_scale(q_mul) * input_scale(k_mul),
                                       "score scale")
    o_mul, o_shift = _fixed_multiplier(input_scale(v_mul) / 2.0 ** act.frac_bits,
                                       "output scale")
    return {"q_mul": q_mul, "k_mul": k_mul, "v_mul": v_mul, "s_mul": s_mul,
            "s_shift": s_shift, "o_mul": o_mul, "o_shift": o_shift, "out_x_mul": out_x_mul}


def param_block(fields: dict[str, int]) -> np.ndarray:
    """The parameter block's words (uint32) from named fields (:func:`choose_params`)."""
    return np.array([fields[k] & 0xFFFFFFFF for k in Q8_PARAM_WORDS], np.uint32)

