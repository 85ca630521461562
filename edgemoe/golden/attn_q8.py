"""Golden int8 ATTENTION (``Flag.WFMT_Q8``): the integer definition is
:mod:`edgemoe.numerics.attn_q8`; this module reads and writes the memory image."""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..isa import Instr
from ..numerics import attn_q8
from ..numerics.int8 import quantize_input
from . import memory as mem
from .linear_ops import online_softmax


def read_params(image: np.ndarray, ins: Instr) -> dict[str, int]:
    """The instruction's parameter block, named (numerics.attn_q8.param_words)."""
    return attn_q8.param_words(mem.read_u32(image, ins.get("q8_params"),
                                            len(attn_q8.Q8_PARAM_WORDS)))


def op_attention_q8(image: np.ndarray, ins: Instr, accel, prof: dict, qkv: np.ndarray,
                    order: np.ndarray) -> None:
    """ATTENTION on int8 codes of q, k and v; ``qkv`` (T, 3, heads, head_dim) raw act,
    ``order`` (T, T) the key order of the lanes' schedule."""
    g, act = ins.get, accel.formats.act
    t, nh, hd = g("tokens"), g("heads"), g("head_dim")
    prm = read_params(image, ins)
    codes = []
    for part, name in enumerate(("q_mul", "k_mul", "v_mul")):
        c, clamped = quantize_input(qkv[:, part], prm[name], act)
        codes.append(c)
        prof["overflows"] += clamped
    qc, kc, vc = codes
    out = np.empty((t, nh, hd), np.int64)
    for h in range(nh):
        s, wrapped = attn_q8.scores(qc[:, h], kc[:, h], prm["s_mul"], prm["s_shift"], act)
        bias, recip = online_softmax(s, act, order)
        p = numerics.softmax_probs(s, bias[:, None], recip[:, None], act)
        out[:, h], wrapped_out = attn_q8.outputs(p, vc[:, h], prm["o_mul"], prm["o_shift"], act)
        prof["overflows"] += wrapped + wrapped_out
    mem.write(image, g("dst"), out, act)
    prof["macs"] += 2 * nh * t * t * hd
    prof["weight_bytes"] += attn_q8.Q8_PARAM_BYTES
