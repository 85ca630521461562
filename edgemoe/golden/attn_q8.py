"""Golden int8 ATTENTION (``Flag.WFMT_Q8``): the integer definition is
:mod:`edgemoe.numerics.attn_q8`; this module reads and writes the memory image."""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..isa import Instr
from ..numerics import attn_q8
from ..numerics.int8 import quantize_input
from . import memory as mem
from .linear_ops import Q8_CODE, online_softmax


def read_params(image: np.ndarray, ins: Instr) -> dict[str, int]:
    """The instruction's parameter block, named (numerics.attn_q8.param_words)."""
    return attn_q8.param_words(mem.read_u32(image, ins.get("q8_params"),
                                            len(attn_q8.Q8_PARAM_WORDS)))


def read_codes(image: np.ndarray, ins: Instr, accel, prm: dict, prof: dict) -> list[np.ndarray]:
    """Step 1: the int8 codes of q, k and v ((T, heads, head_dim) each): read as they are
    (codes in: their producer counted the clamps) or made from the act rows (counted)."""
    g, act = ins.get, accel.formats.act
    t, nh, hd = g("tokens"), g("heads"), g("head_dim")
    codes_in = g("q8_codes") & attn_q8.Q8_CODES_IN
    qkv = mem.read(image, g("qkv"), 3 * t * nh * hd, Q8_CODE if codes_in else act)
    qkv = qkv.reshape(t, 3, nh, hd)
    if codes_in:
        return [qkv[:, part] for part in range(3)]
    codes = []
    for part, name in enumerate(("q_mul", "k_mul", "v_mul")):
        c, clamped = quantize_input(qkv[:, part], prm[name], act)
        codes.append(c)
        prof["overflows"] += clamped
    return codes


def op_attention_q8(image: np.ndarray, ins: Instr, accel, prof: dict, order: np.ndarray) -> None:
    """ATTENTION on int8 codes of q, k and v; ``order`` (T, T) the key order of the lanes'
    schedule.  With codes out the output rows are the consumer's int8 input codes."""
    g, act = ins.get, accel.formats.act
    t, nh, hd = g("tokens"), g("heads"), g("head_dim")
    prm = read_params(image, ins)
    qc, kc, vc = read_codes(image, ins, accel, prm, prof)
    out = np.empty((t, nh, hd), np.int64)
    for h in range(nh):
        s, wrapped = attn_q8.scores(qc[:, h], kc[:, h], prm["s_mul"], prm["s_shift"], act)
        bias, recip = online_softmax(s, act, order)
        p = numerics.softmax_probs(s, bias[:, None], recip[:, None], act)
        out[:, h], wrapped_out = attn_q8.outputs(p, vc[:, h], prm["o_mul"], prm["o_shift"], act)
        prof["overflows"] += wrapped + wrapped_out
    if g("q8_codes") & attn_q8.Q8_CODES_OUT:  # the consumer's input codes, clamps counted here
        out, clamped = quantize_input(out, prm["out_x_mul"], act)
        prof["overflows"] += clamped
        mem.write(image, g("dst"), out, Q8_CODE)
    else:
        mem.write(image, g("dst"), out, act)
    prof["macs"] += 2 * nh * t * t * hd
    prof["weight_bytes"] += attn_q8.Q8_PARAM_BYTES
