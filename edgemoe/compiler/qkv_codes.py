"""An attention's qkv LINEAR writing q, k and v as int8 codes (W8A8 codes out).

The int8 ATTENTION (numerics.attn_q8) only ever uses the int8 codes of q, k and v: step 1,
``numerics.int8.input_codes`` with ``q_mul``, ``k_mul`` or ``v_mul``.  A W8A8 qkv LINEAR
can write exactly those codes (isa.pack_linear_q8 ``codes_out``): its ``code_muls``
vector (layout.code_muls_offset) holds q_mul over columns [0, D), k_mul over [D, 2D) and
v_mul over [2D, 3D) (D = heads x head_dim), so its dst holds one byte an element, and
the ATTENTION reads them (``q8_codes`` codes in, compiler.attn_q8.attn_codes_in_allowed):
:func:`lower_qkv_attention` lowers the pair, with the attention's output rows as proj's
int8 input codes too where proj runs W8A8 (compiler.attn_q8.attn_codes_out_mul).
"""

from __future__ import annotations

import numpy as np

from ..isa import Op
from ..numerics import attn_q8
from .attn_q8 import attn_codes_in_allowed, attn_codes_out_mul
from .builder import Ref
from .calibrate import attn_q8_names

#: The qkv LINEAR's column parts, in order.
QKV_PARTS = ("q_mul", "k_mul", "v_mul")


def qkv_code_muls(dim: int, q_mul: int, k_mul: int, v_mul: int) -> np.ndarray:
    """``code_muls`` of a qkv LINEAR with ``3 * dim`` outputs: one multiplier per part."""
    return np.repeat(np.array([q_mul, k_mul, v_mul], np.int64), dim)


def qkv_muls(low, block: int) -> tuple[int, int, int]:
    """(q_mul, k_mul, v_mul) of block ``block``'s int8 attention on lowering ``low``: the
    words its parameter block holds (compiler.attn_q8.attn_q8_fields, same inputs)."""
    q_max, k_max, v_max = (low.int8[n] for n in attn_q8_names(block))
    fields = attn_q8.choose_params(q_max, k_max, v_max, low.m.head_dim ** -0.5, low.f.act)
    return tuple(fields[k] for k in QKV_PARTS)


def lower_qkv_codes(low, prefix: str, src: Ref, dst: Ref, tokens: int,
                    muls: tuple[int, int, int]) -> None:
    """The qkv LINEAR ``prefix`` (e.g. ``blocks.3.attn.qkv``, W8A8) from ``src`` into
    ``dst`` as int8 codes, part p of its columns with ``muls[p]``: ``dst`` needs
    ``tokens * 3 * D`` bytes (numerics.int8.HIDDEN_CODE_BYTES an element)."""
    if prefix not in low.int8 or prefix in low.mixed:
        raise ValueError(f"{prefix} writes int8 codes only as a W8A8 LINEAR (not int4/int8 "
                         "mixed, not W16): add it to the int8 layers")
    parts = low.packed[f"{prefix}.bias"].size
    if parts % len(QKV_PARTS):
        raise ValueError(f"{prefix} has {parts} outputs: not three equal parts")
    low.linear(prefix, src, dst, tokens, bias_attn=True,
               code_muls=qkv_code_muls(parts // len(QKV_PARTS), *muls))


def lower_qkv_attention(low, block: int, src: Ref) -> tuple[Ref, bool]:
    """Block ``block``'s qkv LINEAR from ``src`` (its norm1 rows) and its ATTENTION on
    lowering ``low``, the q/k/v rows as int8 codes where the attention may read them.

    Returns:
        The attention's output rows and whether they are proj's int8 input codes.
    """
    m, t, d, p = low.m, low.m.num_tokens, low.m.dim, f"blocks.{block}"
    codes_in = attn_codes_in_allowed(low, block)
    out_x_mul = attn_codes_out_mul(low, block)  # nonzero: proj's input codes
    code = attn_q8.Q8_CODE_BYTES
    qkv = low.b.tensor(f"{p}.qkv", t * 3 * d * (code if codes_in else low.act_bytes))
    att = low.b.tensor(f"{p}.attn", t * d * (code if out_x_mul else low.act_bytes))
    if codes_in:
        lower_qkv_codes(low, f"{p}.attn.qkv", src, Ref(qkv), t, qkv_muls(low, block))
    else:
        low.linear(f"{p}.attn.qkv", src, Ref(qkv), t, bias_attn=True)
    low.tap(f"{p}.qkv", Ref(qkv), t, 3 * d)  # (not with codes: attn_codes_in_allowed)
    scale = int(low.f.act.quantize(np.array([m.head_dim ** -0.5]))[0])
    low.b.emit(Op.ATTENTION, comment=f"{p}.attn", tokens=t, heads=m.heads,
               head_dim=m.head_dim, qkv=Ref(qkv), dst=Ref(att), scale=scale,
               **low.attn_fields(block, out_x_mul, codes_in))
    low.tap(f"{p}.attn", Ref(att), t, d)  # (not with codes: attn_codes_out_mul)
    return Ref(att), out_x_mul != 0
