"""Expression building blocks of the op table (:mod:`edgemoe.ops`): the design point's
parameters, the element formats flags choose, and the byte sizes of packed operands."""

from __future__ import annotations

from .isa import Flag
from .opexpr import Add, Align, CeilDiv, Const, Expr, Fmt, Mul, Param, Sel

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


def queue_bytes(experts: Expr, tokens: Expr) -> Expr:
    """layout.queue_layout total: counts, then index and score lists per expert."""
    return Add(Align(Mul(4, experts)), Mul(2, experts, Align(Mul(4, tokens))))
