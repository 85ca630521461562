"""Expression building blocks of the op table (:mod:`edgemoe.ops`): the design point's
parameters, the element formats flags choose, and the byte sizes of packed operands."""

from __future__ import annotations

from .isa import Flag
from .numerics.int4 import (
    GROUP_PARAM_BYTES,
    MAX_Q4_TERMS,
    MOE_CODE_SHIFT,
    MOE_GROUP_SIZES,
    MOE_HIGH_BITS,
)
from .numerics.int8 import Q8_PAIR
from .opexpr import (
    Add,
    Align,
    Bits,
    Case,
    CeilDiv,
    Const,
    Derived,
    Expr,
    Field,
    Fmt,
    Max,
    Mul,
    Param,
    Sel,
    Sub,
)
from .opspec_types import Limit

# design-point constants (one name per concept in C++ and SV: see codegen.constants)
P_IN = Param("P_IN", "linear_p_in")
P_OUT = Param("P_OUT", "linear_p_out")
ATTN_LANES = Param("ATTN_LANES", "attn_lanes")
VEC_LANES = Param("VEC_LANES", "vector_lanes")
MAX_TOKENS = Param("MAX_TOKENS", "max_tokens")
MAX_IN = Param("MAX_IN_FEATURES", "max_in_features")
MAX_OUT = Param("MAX_OUT_FEATURES", "max_out_features")
MAX_HEADS = Param("MAX_HEADS", "max_heads")
MAX_HEAD_DIM = Param("MAX_HEAD_DIM", "max_head_dim")
MAX_EXPERTS = Param("MAX_EXPERTS", "max_experts")
MAX_TOP_K = Param("MAX_TOP_K", "max_top_k")
MAX_TIMESTEPS = Param("MAX_TIMESTEPS", "max_timesteps")

#: Element formats chosen by flags (WFMT_Q8: int8 codes, edgemoe.numerics.int8; WFMT_Q4:
#: int8 and int4 codes in bytes, edgemoe.numerics.int4).
WEIGHT_FMT = Sel(Flag.WFMT_Q8 | Flag.WFMT_Q4, Fmt("u8"), Sel(Flag.WFMT_PATCH, Fmt("patch_weight"),
                 Sel(Flag.WFMT_CONV, Fmt("conv_weight"), Fmt("linear_weight"))))
BIAS_FMT = Sel(Flag.BFMT_ATTN, Fmt("attn_bias"), Fmt("bias"))
ACT, NORM, U32, U8 = Fmt("act"), Fmt("norm"), Fmt("u32"), Fmt("u8")


def weight_block(rows: Expr, cols: Expr, elem: Expr) -> Expr:
    """layout.weight_block_bytes: a P_OUT x P_IN tile-packed matrix padded to 64 bytes."""
    return Align(Mul(CeilDiv(rows, P_OUT), P_OUT, CeilDiv(cols, P_IN), P_IN, elem))


def bias_block(rows: Expr, elem: Expr) -> Expr:
    """layout.bias_block_bytes: a bias vector padded to P_OUT words and 64 bytes."""
    return Align(Mul(CeilDiv(rows, P_OUT), P_OUT, elem))


def tile_map_block(rows: Expr, cols: Expr) -> Expr:
    """layout.tile_map_bytes: one bit per P_OUT x P_IN tile, padded to 64 bytes."""
    return Align(CeilDiv(Mul(CeilDiv(rows, P_OUT), CeilDiv(cols, P_IN)), Const(8)))


def q8_beats(n: Expr, k: Expr) -> Expr:
    """W8A8 MAC beats of one token (edgemoe.numerics.int8.q8_mac_beats): tile pairs."""
    return Mul(CeilDiv(CeilDiv(n, P_OUT), Const(Q8_PAIR)), Max(CeilDiv(k, P_IN), Const(Q8_PAIR)))


def queue_bytes(experts: Expr, tokens: Expr) -> Expr:
    """layout.queue_layout total: counts, then index and score lists per expert."""
    return Add(Align(Mul(4, experts)), Mul(2, experts, Align(Mul(4, tokens))))


def q4_weight_block(n: Expr, k: Expr, high: Expr, groups: Expr) -> Expr:
    """numerics.int4.weight_bytes: int8 rows, int4 rows (two a byte), group parameters
    (one group per row: zero points two a byte, numerics.int4.group_param_bytes)."""
    low = Sub(n, high)
    codes = Align(CeilDiv(Mul(CeilDiv(low, P_OUT), P_OUT, CeilDiv(k, P_IN), P_IN), Const(2)))
    pairs = Align(Mul(CeilDiv(low, P_OUT), P_OUT, groups, Const(GROUP_PARAM_BYTES)))
    nibbles = Align(CeilDiv(Mul(CeilDiv(low, P_OUT), P_OUT), Const(2)))
    params = Case(groups, (pairs, nibbles, pairs))  # 0 groups: no bytes
    return Add(Add(weight_block(high, k, U8), codes), params)


def moe_q4_groups(k: Expr, code: Expr) -> Expr:
    """numerics.int4.moe_groups: a power-of-two group size (no divider) or the whole row."""
    return Case(code, tuple(Const(1) if size is None else CeilDiv(k, Const(size))
                            for size in MOE_GROUP_SIZES))


#: WFMT_Q4: the engine's weight buffer holds the expanded (u - z) * e (13 bits).
WBUF_BYTES = Max(Max(Fmt("linear_weight"), Fmt("conv_weight")), Fmt("patch_weight"))


def moe_q4_terms(d: Expr, h: Expr, e: Expr, lw: Expr) -> tuple[tuple, tuple, Expr, Expr, Expr]:
    """MOE_EXPERTS' WFMT_Q4 terms: derived values of ``q4_split`` (numerics.int4
    pack_moe_split), limits, the w1 and w2 sizes (``lw``: the other modes' element format)
    and the 64-byte block of W8A8's d4 word that ends b1.

    The sizes keep the SV checker's form (codegen.check_table: the last term ``experts x
    one expert's block`` gives the per-expert stride the RTL steps by); the mixed layout, a
    sum of three blocks with no such form, is an added term with that product zero, and the
    RTL takes its stride from edgemoe_moe_q4.sv instead.
    """
    q4, one = Field("q4_split"), Const(1)
    derived = (("fc1_high", Bits(q4, 0, MOE_HIGH_BITS)),
               ("fc2_high", Bits(q4, MOE_HIGH_BITS, MOE_HIGH_BITS)),
               ("q4_code", Bits(q4, MOE_CODE_SHIFT, 3)))
    hi1, hi2, code = (Derived(n, MOE_HIGH_BITS) for n, _ in derived)
    q4f = Flag.WFMT_Q4
    limits = (Limit("dim, hidden (mixed int4/int8)", Max(d, h), Const(MAX_Q4_TERMS), q4f),
              Limit("fc1_high + 1", Add(hi1, one), Add(h, one), q4f),
              Limit("fc2_high + 1", Add(hi2, one), Add(d, one), q4f),
              Limit("WFMT_Q8/WSKIP (not with WFMT_Q4)",
                    Sel(Flag.WFMT_Q8 | Flag.WSKIP, Const(2), one), one, q4f),
              Limit("weight buffer bytes >= 2 (WFMT_Q4)", Const(2), WBUF_BYTES, q4f))
    dense_e = Sel(q4f, Const(0), e)
    w1 = Add(Sel(q4f, Mul(e, q4_weight_block(h, d, hi1, moe_q4_groups(d, code))), Const(0)),
             Mul(dense_e, weight_block(h, d, lw)))
    w2 = Add(Sel(q4f, Mul(e, q4_weight_block(d, h, hi2, moe_q4_groups(h, code))), Const(0)),
             Mul(dense_e, weight_block(d, h, lw)))
    return derived, limits, w1, w2, Sel(q4f, Const(64), Const(0))
