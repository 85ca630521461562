"""ATTENTION's op spec and its modes (dense, top-k, int8): part of :mod:`edgemoe.ops`, kept
in its own module because its modes bring most of its terms."""

from __future__ import annotations

from .isa import Flag, Op
from .numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_MAX, Q8_CODES_OUT, Q8_PARAM_BYTES
from .numerics.attn_topk import ATTN_MAX_CODEBOOK
from .op_terms import ACT, ATTN_LANES, MAX_HEAD_DIM, MAX_HEADS, MAX_TOKENS, U8, U32
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
    Max,
    Min,
    Mul,
    Sel,
    Sub,
)
from .opspec_types import Limit, Operand, OpSpec

__all__ = ["ATTN_MACS_PER_LANE", "ATTN_Q8_MACS_PER_LANE", "attention_spec"]

#: Multiply-accumulates per attention lane per cycle (the HLS kernel's head-dim beat).
ATTN_MACS_PER_LANE = 8
#: The same in the int8 mode: a beat of one-byte codes holds four times the elements.
ATTN_Q8_MACS_PER_LANE = 4 * ATTN_MACS_PER_LANE

_ONE, _ZERO = Const(1), Const(0)
_T, _H, _HD = Field("tokens"), Field("heads"), Field("head_dim")
# Top-k mode (Flag.ATTN_TOPK, edgemoe.numerics.attn_topk): C = codebook_size, k' = min(k, T).
_CB, _TOPK = Field("codebook_size"), Field("top_k")
# Int8 mode (Flag.WFMT_Q8): qkv / dst rows held as int8 codes (numerics.attn_q8, q8_codes)
_CODES = Field("q8_codes")
_CODES_IN, _CODES_OUT = Derived("codes_in", 1), Derived("codes_out", 1)


def attention_spec(ports: tuple[str, ...]) -> OpSpec:
    """ATTENTION; ``ports`` are its HLS kernel arguments."""
    t, h, hd = _T, _H, _HD
    # bytes of a qkv / dst element: int8 codes (one byte) where q8_codes says so, else act
    x_elem = Sel(Flag.WFMT_Q8, Case(_CODES_IN, (ACT, U8)), ACT)
    y_elem = Sel(Flag.WFMT_Q8, Case(_CODES_OUT, (ACT, U8)), ACT)
    return OpSpec(
        Op.ATTENTION, "attn", "op_attention", ports,
        derived=(("codes_in", Bits(_CODES, Q8_CODES_IN.bit_length() - 1, 1)),
                 ("codes_out", Bits(_CODES, Q8_CODES_OUT.bit_length() - 1, 1))),
        limits=(Limit("tokens", t, MAX_TOKENS), Limit("heads", h, MAX_HEADS),
                Limit("head_dim", hd, MAX_HEAD_DIM), *_topk_limits(),
                Limit("ATTN_TOPK (not with WFMT_Q8)", Sel(Flag.ATTN_TOPK, Const(2), _ONE), _ONE,
                      Flag.WFMT_Q8),
                Limit("q8_codes + 1", Add(_CODES, _ONE), Const(Q8_CODES_MAX + 1), Flag.WFMT_Q8)),
        operands=(Operand("qkv", "read", x_elem, Mul(3, t, h, hd, x_elem)),
                  Operand("dst", "write", y_elem, Mul(t, h, hd, y_elem)), *_topk_operands(),
                  Operand("q8_params", "weight", U32, Const(Q8_PARAM_BYTES), Flag.WFMT_Q8)),
        cycles=Sel(Flag.ATTN_TOPK, _topk_cycles(),
                   Sel(Flag.WFMT_Q8,
                       _dense_cycles(ATTN_Q8_MACS_PER_LANE,
                                     Case(_CODES_IN, (ATTN_MACS_PER_LANE, ATTN_Q8_MACS_PER_LANE))),
                       _dense_cycles(ATTN_MACS_PER_LANE, Const(ATTN_MACS_PER_LANE)))),
        job=(("t", t), ("nh", h), ("hd", hd), ("qkv", Field("qkv")), ("dst", Field("dst")),
             ("scale", Field("scale")), ("topk", Sel(Flag.ATTN_TOPK, _ONE, _ZERO)), ("cb", _CB),
             ("k", _TOPK), ("book", Field("codebook")), ("codes", Field("codes")),
             ("picks", Field("picks")), ("q8", Sel(Flag.WFMT_Q8, _ONE, _ZERO)),
             ("q8p", Field("q8_params")), ("q8c", Sel(Flag.WFMT_Q8, _CODES, _ZERO))),
        # QK^T and AV; top-k: key coding and score table (C) and QK^T and AV on k' keys
        macs=Mul(t, h, hd, Sel(Flag.ATTN_TOPK, Add(_CB, Min(_TOPK, t)), t), 2))


def _dense_cycles(macs_per_lane: int, load_elems: Expr) -> Expr:
    """Per head: K, V and Q rows loaded once (3T rows of beats of ``load_elems`` elements:
    ATTN_MACS_PER_LANE act elements, or an int8 code row's ATTN_Q8_MACS_PER_LANE), then
    ceil(T/p) + 1 phases of (T + p - 1) key steps on chip (QK^T of block b beside AV of
    block b - 1) of ``macs_per_lane``-element beats."""
    steps = Mul(Add(CeilDiv(_T, ATTN_LANES), _ONE), Sub(Add(_T, ATTN_LANES), _ONE))
    loads = Mul(3, _T, CeilDiv(_HD, load_elems))
    return Mul(_H, Add(Mul(steps, CeilDiv(_HD, Const(macs_per_lane))), loads))


def _topk_limits() -> tuple[Limit, ...]:
    return (Limit("codebook_size", _CB, Const(ATTN_MAX_CODEBOOK), Flag.ATTN_TOPK),
            Limit("top_k", _TOPK, Const(1 << 24), Flag.ATTN_TOPK))


def _topk_operands() -> tuple[Operand, ...]:
    table = Align(Mul(_CB, _HD, ACT))  # numerics.attn_topk.codebook_head_bytes
    per_head = Add(Mul(2, table), Align(Mul(_CB, 2, U32)))
    return (Operand("codebook", "weight", ACT, Mul(_H, per_head), Flag.ATTN_TOPK),
            Operand("codes", "write", U32, Mul(_H, _T, U32), Flag.ATTN_TOPK),
            Operand("picks", "write", U32, Mul(_H, _T, Min(_TOPK, _T), U32), Flag.ATTN_TOPK))


def _topk_cycles() -> Expr:
    """Per head (edgemoe_attn_topk.sv): 3T K/V/Q and 2C codebook row loads; key coding (each
    key against ceil(C/p) code groups, p codes at a time) and its T code words; per query
    group the score table (C rows) and one key a cycle into the top-k units; ceil(T/p) + 1
    phases of k' exact key steps per lane (QK^T of a group beside AV of the previous one),
    the group's p x (k' + 1) pick words written beside them."""
    t = _T
    beats = CeilDiv(_HD, Const(ATTN_MACS_PER_LANE))
    groups = CeilDiv(t, ATTN_LANES)
    kept = Min(_TOPK, t)
    loads = Mul(Add(Mul(3, t), Mul(2, _CB)), beats)
    coding = Add(Mul(t, CeilDiv(_CB, ATTN_LANES), beats), t)
    select = Add(Mul(_CB, beats), t)
    steps = Add(Mul(groups, Max(Mul(kept, beats), Mul(ATTN_LANES, Add(kept, _ONE)))),
                Mul(kept, beats))
    return Mul(_H, Add(Add(loads, coding), Add(Mul(groups, select), steps)))
