"""What each opcode means, as data: the one op spec every executor and generator reads.

:mod:`edgemoe.isa` says how an instruction is encoded (opcode, flag bits, which word holds
which named field); this module says what it means: the flags it accepts, its memory
operands (field, enabling flag, role, element format, byte size as an expression over its
fields and the design point's tiles), the shape limits against the design point, the
operand pairs that may alias exactly, the ideal cycle count, and the engine that runs it.

Read by :mod:`edgemoe.validate` (checks, operand extents), :mod:`edgemoe.golden.cycles`,
:mod:`edgemoe.params` (``KNOWN_OPS``, the fit check), and rendered into the C++ checks
(``hls_templates/edgemoe_isa.hpp.j2``) and the SystemVerilog package.  The expressions
are :mod:`edgemoe.opexpr` nodes, so the same arithmetic is printed in every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .isa import (
    LIF_LEAK_FRAC,
    LIF_LEAK_SHIFT,
    LIF_MODES,
    LINEAR_CODES_IN_BIT,
    LINEAR_CODES_OUT_BIT,
    LINEAR_Q8_WORD_BITS,
    MOE_DQ_BITS,
    MOE_HIDDEN_X_MUL_BITS,
    Flag,
    Instr,
    Op,
    PoolMode,
    unpack_linear_q8,
)
from .layout import code_muls_offset
from .numerics.int4 import (
    MAX_Q4_GROUPS,
    MAX_Q4_TERMS,
    Q4_GROUPS_SHIFT,
)
from .numerics.int8 import DQ_SHIFT_MAX, MAX_Q8_TERMS
from .numerics.mean import POOL_MAX_KERNEL
from .op_terms import (
    ACT,
    BIAS_FMT,
    MAX_EXPERTS,
    MAX_IN,
    MAX_OUT,
    MAX_TIMESTEPS,
    MAX_TOKENS,
    MAX_TOP_K,
    NORM,
    P_IN,
    P_OUT,
    U8,
    U32,
    VEC_LANES,
    WBUF_BYTES,
    WEIGHT_FMT,
    bias_block,
    moe_q4_terms,
    q4_weight_block,
    q8_beats,
    queue_bytes,
    tile_map_block,
    weight_block,
)
from .opexpr import (
    Add,
    Bits,
    Case,
    CeilDiv,
    Const,
    ConvOut,
    Derived,
    Expr,
    Field,
    Flags,
    FloorDiv,
    Fmt,
    Max,
    Min,
    Mul,
    Prof,
    Sel,
    Sub,
)
from .ops_attention import ATTN_MACS_PER_LANE, attention_spec
from .opspec_types import ENGINE_JOBS, ENGINES, ROLES, Limit, Operand, OpSpec

__all__ = ["ATTN_MACS_PER_LANE", "ENGINES", "ENGINE_JOBS", "OP_SPECS", "ROLES", "Limit", "OpEnv", "OpSpec", "Operand", "code_muls_at", "elem_bytes", "engines_built",
           "op_names", "spec_of"]

_ONE = Const(1)


def _f(*names: str) -> tuple[Field, ...]:
    return tuple(Field(n) for n in names)


def _addrs(*names: str) -> tuple[tuple[str, Expr], ...]:
    """Job fields named like the op's address fields, each given that operand's address."""
    return tuple((n, Field(n)) for n in names)


# HLS kernel arguments: m_axi ports by traffic class (edgemoe/params/ports.py): ``mem``
# control (instructions, status, index lists, queues), ``wmem`` weights, ``xmem``
# activations in, ``ymem`` activations out; a kernel given only ``mem`` still works (every
# port points into the one memory image) but moves its traffic over the control port.
_ACT = ("xmem", "ymem", "ins", "prof")
_NORM = ("xmem", "wmem", "ymem", "ins", "prof")
_LB = ("mem", "wmem", "xmem", "ymem", "lb", "ins", "prof")
_LB_TASK = ("mem", "wmem", "xmem", "ymem", "lb", "ins", "task", "prof")
_T, _N, _K, _ROWS = _f("tokens", "out_features", "in_features", "rows")
_KSP = Field("kernel_stride_pad")
_LIN_SRC_ROWS, _LIN_DST_ROWS = Sel(Flag.GATHER, _ROWS, _T), Sel(Flag.SCATTER, _ROWS, _T)
_BIG, _HUGE = Const(1 << 16), Const(1 << 24)


def _q4_weights() -> Expr:
    """numerics.int4.weight_bytes of the LINEAR."""
    return q4_weight_block(_N, _K, Derived("high_out", Q4_GROUPS_SHIFT), Derived("q4_groups", 16))


#: LINEAR flags that use the fields WFMT_Q4 shares (d3, a5) or another weight format.
_NOT_WITH_Q4 = Flag.GATHER | Flag.SCATTER | Flag.WFMT_Q8 | Flag.WFMT_CONV | Flag.WSKIP


#: LINEAR flags a W8A8 LINEAR that writes hidden codes does not take: their base rows
#: (RESIDUAL, SCORE_ACC) are act, and a scattered code row has no use.
_NOT_WITH_CODES_OUT = Flag.RESIDUAL | Flag.SCORE_ACC | Flag.SCATTER


def _linear() -> OpSpec:
    # W8A8 hidden codes (isa.pack_linear_q8): src / dst rows of one byte an element
    q8w, codes_in, codes_out = Field("q8_shift_codes"), Derived("codes_in", 1), Derived("codes_out", 1)
    x_elem = Sel(Flag.WFMT_Q8, Case(codes_in, (ACT, U8)), ACT)
    y_elem = Sel(Flag.WFMT_Q8, Case(codes_out, (ACT, U8)), ACT)
    dst = Mul(_LIN_DST_ROWS, _N, y_elem)
    tiles = Mul(CeilDiv(_N, P_OUT), CeilDiv(_K, P_IN))
    split = Field("q4_split")
    return OpSpec(
        Op.LINEAR, "lin", "op_linear", _LB,
        derived=(("high_out", Bits(split, 0, Q4_GROUPS_SHIFT)),
                 ("q4_groups", Bits(split, Q4_GROUPS_SHIFT, 32 - Q4_GROUPS_SHIFT)),
                 ("dq_shift", Bits(q8w, 0, MOE_DQ_BITS)),
                 ("codes_in", Bits(q8w, LINEAR_CODES_IN_BIT, 1)),
                 ("codes_out", Bits(q8w, LINEAR_CODES_OUT_BIT, 1))),
        limits=(Limit("tokens", _T, _HUGE), Limit("in_features", _K, MAX_IN),
                Limit("out_features", _N, MAX_OUT),
                Limit("rows", _ROWS, _HUGE, Flag.GATHER | Flag.SCATTER),
                Limit("in_features (int8)", _K, Const(MAX_Q8_TERMS), Flag.WFMT_Q8),
                Limit("dq_shift + 1", Add(Derived("dq_shift", MOE_DQ_BITS), _ONE),
                      Const(DQ_SHIFT_MAX + 1), Flag.WFMT_Q8),
                Limit("hidden codes out (not with RESIDUAL/SCORE_ACC/SCATTER)",
                      Add(Mul(codes_out, Sel(_NOT_WITH_CODES_OUT, _ONE, Const(0))), _ONE), _ONE,
                      Flag.WFMT_Q8),
                Limit("q8_shift_codes bits 7-31 (zero)",
                      Add(Bits(q8w, LINEAR_Q8_WORD_BITS, 32 - LINEAR_Q8_WORD_BITS), _ONE), _ONE,
                      Flag.WFMT_Q8),
                Limit("WFMT_CONV (not with WFMT_Q8)", Sel(Flag.WFMT_CONV, Const(2), _ONE), _ONE,
                      Flag.WFMT_Q8),
                Limit("WSKIP (not with WFMT_Q8)", Sel(Flag.WSKIP, Const(2), _ONE), _ONE,
                      Flag.WFMT_Q8),
                Limit("tiles_run", Field("tiles_run"), tiles, Flag.WSKIP),
                Limit("in_features (mixed int4/int8)", _K, Const(MAX_Q4_TERMS), Flag.WFMT_Q4),
                Limit("dq_shift + 1 (mixed)", Add(Derived("dq_shift", MOE_DQ_BITS), _ONE),
                      Const(DQ_SHIFT_MAX + 1), Flag.WFMT_Q4),
                Limit("hidden codes (not with WFMT_Q4)",
                      Add(Bits(q8w, LINEAR_CODES_IN_BIT, 32 - LINEAR_CODES_IN_BIT), _ONE), _ONE,
                      Flag.WFMT_Q4),
                Limit("high_out + 1", Add(Derived("high_out", Q4_GROUPS_SHIFT), _ONE),
                      Add(_N, _ONE), Flag.WFMT_Q4),
                Limit("q4_groups", Derived("q4_groups", 16), Min(_K, Const(MAX_Q4_GROUPS)),
                      Flag.WFMT_Q4),
                Limit("GATHER/SCATTER/WFMT_Q8/WFMT_CONV/WSKIP (not with WFMT_Q4)",
                      Sel(_NOT_WITH_Q4, Const(2), _ONE), _ONE, Flag.WFMT_Q4),
                # the engine's weight buffer holds the expanded (u - z) * e (13 bits)
                Limit("weight buffer bytes >= 2 (WFMT_Q4)", Const(2), WBUF_BYTES, Flag.WFMT_Q4)),
        operands=(Operand("src", "read", x_elem, Mul(_LIN_SRC_ROWS, _K, x_elem)),
                  Operand("dst", "write", y_elem, dst),
                  Operand("weights", "weight", WEIGHT_FMT,
                          Sel(Flag.WFMT_Q4, _q4_weights(), weight_block(_N, _K, WEIGHT_FMT))),
                  Operand("bias", "weight", BIAS_FMT, bias_block(_N, BIAS_FMT)),
                  Operand("residual", "read", ACT, Mul(_LIN_DST_ROWS, _N, ACT), Flag.RESIDUAL),
                  Operand("index", "read", U32, Mul(4, _T), Flag.GATHER | Flag.SCATTER),
                  Operand("scores", "read", U32, Mul(4, _T), Flag.SCORE_ACC),
                  Operand("count", "read", U32, Const(4), Flag.DYN_COUNT),
                  # codes out: the code multipliers follow (layout.code_muls_offset)
                  Operand("scales", "weight", U32, Mul(bias_block(_N, U32), Add(codes_out, _ONE)),
                          Flag.WFMT_Q8 | Flag.WFMT_Q4),
                  # read as it is (not a weight block): every executor counts it the same
                  Operand("tile_map", "read", U8, tile_map_block(_N, _K), Flag.WSKIP),
                  # WFMT_Q4: each part row's output channel (read as it is, like tile_map)
                  Operand("channel_index", "read", U32, Mul(4, _N), Flag.WFMT_Q4)),
        aliases=(("dst", "residual"),),
        # WSKIP: one cycle per tile beat run (layout.tiles_run) and the tile map's bytes
        cycles=Sel(Flag.WSKIP, Add(Mul(_T, Field("tiles_run")), tile_map_block(_N, _K)),
                   Sel(Flag.WFMT_Q8, Mul(_T, q8_beats(_N, _K)), Mul(_T, tiles))),
        prefetch=("weights", _N, _K))


def _layernorm() -> OpSpec:
    t, d = _f("tokens", "dim")
    return OpSpec(
        Op.LAYERNORM, "ln", "op_layernorm", _NORM,
        limits=(Limit("tokens", t, _HUGE), Limit("dim", d, MAX_IN)),
        operands=(Operand("src", "read", ACT, Mul(t, d, ACT)),
                  Operand("dst", "write", ACT, Mul(t, d, ACT)),
                  Operand("gamma", "read", NORM, Mul(d, NORM)),
                  Operand("beta", "read", NORM, Mul(d, NORM))),
        cycles=Mul(2, t, CeilDiv(d, VEC_LANES)),
        job=(("t", t), ("d", d), *_addrs("src", "dst", "gamma", "beta"), ("eps", Field("eps"))))


def _moe_gate() -> OpSpec:
    t, d, e, k = _f("tokens", "dim", "experts", "top_k")
    lw = Fmt("linear_weight")
    return OpSpec(
        Op.MOE_GATE, "router", "op_moe_gate", _LB_TASK,
        limits=(Limit("tokens", t, MAX_TOKENS), Limit("dim", d, MAX_IN),
                Limit("experts", e, MAX_EXPERTS), Limit("top_k", k, Min(MAX_TOP_K, e))),
        operands=(Operand("src", "read", ACT, Mul(t, d, ACT)),
                  Operand("w_gate", "weight", lw, weight_block(e, d, lw), stride="task_stride"),
                  Operand("queues", "write", U32, queue_bytes(e, t))),
        cycles=Mul(t, CeilDiv(e, P_OUT), CeilDiv(d, P_IN)),
        macs=Mul(t, d, e),
        prefetch=("w_gate", e, d),
        helpers=("lin",))  # the logits are a linear-engine job streamed to the router


def _moe_experts() -> OpSpec:
    t, d, h, e = _f("tokens", "dim", "hidden", "experts")
    lw, b = Sel(Flag.WFMT_Q8 | Flag.WFMT_Q4, U8, Fmt("linear_weight")), Fmt("bias")
    q8e = Sel(Flag.WFMT_Q8, e, Sel(Flag.WFMT_Q4, Mul(2, e), Const(0)))  # multipliers (+ index)
    q4_derived, q4_limits, w1, w2, q8_word = moe_q4_terms(d, h, e, lw)
    skip_e = Sel(Flag.WSKIP, e, Const(0))  # WSKIP: there instead, the experts' zero-tile maps
    dq, q8w = Derived("dq_shift", MOE_DQ_BITS), Field("q8_shift_mul")
    both = Min(MAX_IN, MAX_OUT)
    per_token = Sel(Flag.WFMT_Q8, Add(q8_beats(h, d), q8_beats(d, h)),
                    Mul(2, CeilDiv(h, P_OUT), CeilDiv(d, P_IN)))
    return OpSpec(
        Op.MOE_EXPERTS, "lin", "op_moe_experts", _LB,
        derived=(("dq_shift", Bits(q8w, 0, MOE_DQ_BITS)),
                 ("hidden_x_mul", Bits(q8w, MOE_DQ_BITS, MOE_HIDDEN_X_MUL_BITS)), *q4_derived),
        limits=(Limit("tokens", t, MAX_TOKENS), Limit("dim", d, both), Limit("hidden", h, both),
                Limit("experts", e, MAX_EXPERTS),
                Limit("dim, hidden (int8)", Max(d, h), Const(MAX_Q8_TERMS), Flag.WFMT_Q8),
                Limit("dq_shift + 1", Add(dq, _ONE), Const(DQ_SHIFT_MAX + 1), Flag.WFMT_Q8),
                Limit("WSKIP (not with WFMT_Q8)", Sel(Flag.WSKIP, Const(2), _ONE), _ONE,
                      Flag.WFMT_Q8), *q4_limits),
        operands=(Operand("src", "read", ACT, Mul(t, d, ACT)),
                  Operand("dst", "write", ACT, Mul(t, d, ACT)),
                  Operand("w1", "weight", lw, w1),
                  Operand("b1", "weight", b, Add(Add(Mul(q8e, bias_block(h, U32)),
                                                     Add(Mul(skip_e, tile_map_block(h, d)),
                                                         q8_word)), Mul(e, bias_block(h, b)))),
                  Operand("w2", "weight", lw, w2),
                  Operand("b2", "weight", b, Add(Add(Mul(q8e, bias_block(d, U32)),
                                                     Mul(skip_e, tile_map_block(d, h))),
                                                 Mul(e, bias_block(d, b)))),
                  Operand("queues", "read", U32, queue_bytes(e, t)),
                  Operand("scratch", "write", ACT, Mul(t, h, ACT)),
                  Operand("residual", "read", ACT, Mul(t, d, ACT), Flag.RESIDUAL)),
        aliases=(("dst", "residual"),),
        helpers=("eltwise",),  # dst starts as a copy of the residual or zeros
        lut=1500,  # expert loop, queue scan
        # the routed token count is only known at run time: macs / (2 h d) tokens ran
        cycles=Mul(FloorDiv(Prof("macs"), Max(Const(1), Mul(2, h, d))), per_token))


def _conv() -> OpSpec:
    ih, iw, ci, co = _f("in_h", "in_w", "in_ch", "out_ch")
    k, s, p, dq = (Derived(n, 8) for n in ("kernel", "stride", "pad", "dq_shift"))  # d4 bytes
    oh, ow, cikk = (Derived(n) for n in ("out_h", "out_w", "cikk"))
    src_fmt = Sel(Flag.PIXEL_INPUT, Fmt("pixel"), ACT)
    dst = Mul(oh, ow, co, ACT)
    return OpSpec(
        Op.CONV, "lin", "op_conv", _LB,
        derived=(("kernel", Bits(_KSP, 0, 8)), ("stride", Bits(_KSP, 8, 8)), ("pad", Bits(_KSP, 16, 8)),
                 ("dq_shift", Bits(_KSP, 24, 8)), ("out_h", ConvOut(ih, k, s, p)),
                 ("out_w", ConvOut(iw, k, s, p)), ("cikk", Mul(ci, k, k))),
        limits=(Limit("in_h", ih, _BIG), Limit("in_w", iw, _BIG), Limit("kernel", k, Const(255)),
                Limit("stride", s, Const(255)), Limit("output size", Min(oh, ow), _BIG),
                Limit("in_ch*kernel^2", cikk, MAX_IN), Limit("out_ch", co, MAX_OUT),
                Limit("pad", Add(p, Const(1)), k),
                Limit("dq_shift + 1", Add(dq, _ONE), Const(DQ_SHIFT_MAX + 1), Flag.WFMT_Q8),
                Limit("PIXEL_INPUT/WFMT_CONV/WFMT_PATCH (not with WFMT_Q8)", Sel(
                    Flag.PIXEL_INPUT | Flag.WFMT_CONV | Flag.WFMT_PATCH, Const(2), _ONE), _ONE, Flag.WFMT_Q8)),
        operands=(Operand("src", "read", src_fmt, Mul(ih, iw, ci, src_fmt)),
                  Operand("dst", "write", ACT, dst),
                  Operand("weights", "weight", WEIGHT_FMT, weight_block(co, cikk, WEIGHT_FMT)),
                  Operand("bias", "weight", BIAS_FMT, bias_block(co, BIAS_FMT)),
                  Operand("residual", "read", ACT, dst, Flag.RESIDUAL),
                  Operand("scales", "weight", U32, bias_block(co, U32), Flag.WFMT_Q8)),
        aliases=(("dst", "residual"),),  # pieces accumulated in place (OSA)
        cycles=Mul(oh, ow, Sel(Flag.WFMT_Q8, q8_beats(co, cikk),
                               Mul(CeilDiv(co, P_OUT), CeilDiv(cikk, P_IN)))),
        job=(("mode", Const(1)), ("t", Mul(oh, ow)), ("n", co), ("k", cikk),
             *_addrs("src", "dst"), ("wts", Field("weights")), ("bias", Field("bias")),
             ("base", Field("residual")), ("flags", Flags()), ("in_h", ih), ("in_w", iw),
             ("ci", ci), ("ow", ow), ("kk", k), ("ks", s), ("kp", p), ("scales", Field("scales")),
             ("x_mul", Field("x_mul")), ("dq", dq)),  # W8A8 (unused without WFMT_Q8)
        macs=Mul(oh, ow, co, cikk),
        prefetch=("weights", co, cikk),
        lut=2500)  # im2col row loader


def _upsample() -> OpSpec:
    h, w, c = _f("in_h", "in_w", "channels")
    return OpSpec(
        Op.UPSAMPLE, "upsample", "op_upsample", _ACT,
        limits=(Limit("in_h", h, _BIG), Limit("in_w", w, _BIG), Limit("channels", c, MAX_IN)),
        operands=(Operand("src", "read", ACT, Mul(h, w, c, ACT)),
                  Operand("dst", "write", ACT, Mul(4, h, w, c, ACT))),
        cycles=Mul(4, h, w, CeilDiv(c, VEC_LANES)),
        job=(("h", h), ("w", w), ("c", c), *_addrs("src", "dst")),
        lut=800)


def _add() -> OpSpec:
    (n,) = _f("count")
    return OpSpec(
        Op.ADD, "eltwise", "op_add", _ACT,
        limits=(Limit("count", n, Const(1 << 28)),),
        operands=(Operand("a", "read", ACT, Mul(n, ACT)),
                  Operand("b", "read", ACT, Mul(n, ACT), disable=Flag.COPY),
                  Operand("dst", "write", ACT, Mul(n, ACT))),
        aliases=(("dst", "a"), ("dst", "b")),  # element-wise: in place is safe
        cycles=CeilDiv(n, VEC_LANES),
        job=(("mode", Sel(Flag.COPY, Const(1), Const(0))), ("n", n), *_addrs("a", "b", "dst")))


def _pool() -> OpSpec:
    ih, iw, c, mode = _f("in_h", "in_w", "channels", "mode")
    k, s = (Derived(n, 8) for n in ("kernel", "stride"))  # packed bytes
    oh, ow = (Derived(n) for n in ("pool_h", "pool_w"))
    ksp = Field("kernel_stride_pad")

    def pooled(size: Expr) -> Expr:  # ceil mode; stride <= kernel <= size keeps it exact
        return Add(CeilDiv(Sub(Max(size, k), k), Max(s, _ONE)), _ONE)

    def by_mode(max_: Expr, global_avg: Expr, scale: Expr, avg: Expr | None = None) -> Case:
        return Case(mode, (max_, global_avg, scale, max_ if avg is None else avg))  # AVG windows as MAX

    return OpSpec(
        Op.POOL, "pool", "op_pool", _ACT,
        derived=(("kernel", Bits(ksp, 0, 8)), ("stride", Bits(ksp, 8, 8)),
                 ("pool_h", by_mode(pooled(ih), _ONE, ih)),
                 ("pool_w", by_mode(pooled(iw), _ONE, iw))),
        limits=(Limit("mode", Add(mode, _ONE), Const(len(PoolMode))), Limit("in_h", ih, _BIG),
                Limit("in_w", iw, _BIG), Limit("channels", c, MAX_IN),
                Limit("in_h*in_w", Mul(ih, iw), _BIG),
                Limit("kernel", by_mode(k, _ONE, _ONE), Const(POOL_MAX_KERNEL)),
                Limit("stride (<= kernel)", by_mode(s, _ONE, _ONE), by_mode(k, _ONE, _ONE)),
                Limit("kernel (<= in_h, in_w)",
                      by_mode(Add(Sub(k, Min(Min(ih, iw), k)), _ONE), _ONE, _ONE), _ONE)),
        operands=(Operand("src", "read", ACT, Mul(ih, iw, c, ACT)),
                  Operand("dst", "write", ACT, Mul(oh, ow, c, ACT)),
                  Operand("gate", "read", ACT, Mul(by_mode(Const(0), Const(0), _ONE), c, ACT))),
        aliases=(("dst", "src"),),  # SCALE works in place
        cycles=by_mode(Mul(oh, ow, k, k, CeilDiv(c, VEC_LANES)),
                       Mul(ih, iw, CeilDiv(c, VEC_LANES)), Mul(ih, iw, CeilDiv(c, VEC_LANES))),
        job=(("mode", mode), ("h", ih), ("w", iw), ("c", c), ("k", k), ("s", s),
             *_addrs("src", "dst", "gate"), ("recip", Field("recip"))),
        lut=1500)  # window/position counters, per-lane max, sum and scale datapath


# POOL_MAX_KERNEL (largest window) and POOL_RECIP_BITS (the means' reciprocals) live with the
# mean's arithmetic in edgemoe.numerics.mean: GLOBAL_AVG's ``recip`` (imm) is mean_recip(H*W),
# AVG windows look their count up in the POOL_WINDOW_RECIP table.


def _lif() -> OpSpec:
    n, k, t, th, ml = _f("neurons", "inputs", "timesteps", "threshold", "mode_leak")
    mode, leak, cur, rd, si, so = map(Derived, ["mode", "leak", "current", "readout", "spike_in", "spike_out"])
    return OpSpec(Op.LIF, "lif", "op_lif", _NORM,  # src: spike bytes, or act currents (mode 1)
        derived=(("mode", Bits(ml, 0, LIF_LEAK_SHIFT)), ("leak", Bits(ml, LIF_LEAK_SHIFT, 24)),
                 ("current", Bits(ml, 0, 1)), ("readout", Bits(ml, 1, 1)),
                 ("spike_in", Sub(_ONE, cur)), ("spike_out", Sub(_ONE, rd))),
        limits=(Limit("neurons", n, MAX_OUT), Limit("inputs", k, MAX_IN),
                Limit("timesteps", t, MAX_TIMESTEPS), Limit("threshold", th, Const((1 << 31) - 1)),
                Limit("mode", Add(mode, _ONE), Const(LIF_MODES + 1)),
                Limit("leak", Add(leak, _ONE), Const((1 << LIF_LEAK_FRAC) + 1))),  # <= 1.0
        operands=(Operand("src", "read", U8, Add(Mul(cur, n, ACT), Mul(si, t, k, U8))),
                  Operand("dst", "write", U8, Add(Mul(rd, n, ACT), Mul(so, t, n, U8))),
                  Operand("weights", "weight", WEIGHT_FMT, Mul(si, weight_block(n, k, WEIGHT_FMT))),
                  Operand("bias", "weight", BIAS_FMT, Mul(si, bias_block(n, BIAS_FMT)))),
        cycles=Mul(CeilDiv(n, P_OUT), t, Add(Mul(si, CeilDiv(k, P_IN)), _ONE)),  # + update
        job=(("n", n), ("k", k), ("steps", t), ("th", th), ("mode", mode), ("leak", leak),
             *_addrs("src", "dst"), ("wts", Field("weights")), ("bias", Field("bias"))),
        macs=Mul(si, t, n, k), lut=1500)  # additions (binary operands); sequencer, compare


#: The spec of every opcode, in opcode order.
OP_SPECS: Mapping[Op, OpSpec] = {
    s.op: s for s in (OpSpec(Op.NOP, "ctrl", "", ()), _linear(), _layernorm(), attention_spec(_ACT),
                      _moe_gate(), _moe_experts(), _conv(), _upsample(), _add(), _pool(), _lif())
}


def spec_of(op: int) -> OpSpec:
    """The spec of opcode ``op`` (raises ValueError for an unknown opcode)."""
    return OP_SPECS[Op(op)]


def elem_bytes(ins: Instr, accel, operand: str) -> int:
    """Bytes of one element of ``ins``' operand ``operand`` (e.g. a LINEAR's int8 hidden
    code rows: one; an act row: the act container)."""
    o = next(o for o in spec_of(ins.op).operands if o.name == operand)
    return o.elem.value(OpEnv(ins, accel))


def code_muls_at(ins: Instr, accel) -> int | None:
    """Address of a W8A8 LINEAR's code multipliers when it writes int8 codes (codes out:
    layout.code_muls_offset into ``scales``), else None."""
    if ins.op != Op.LINEAR or not ins.has(Flag.WFMT_Q8) or \
            not unpack_linear_q8(ins.get("q8_shift_codes"))[1]:
        return None
    return ins.get("scales") + code_muls_offset(ins.get("out_features"), accel.linear_p_out)


def engines_built(built_ops) -> tuple[str, ...]:
    """Engines (ENGINES order) that some op of ``built_ops`` (lower-case names) runs or starts.

    The dispatcher (``ctrl``) is always built.
    """
    used = {"ctrl"}
    for spec in OP_SPECS.values():
        if spec.op != Op.NOP and spec.op.name.lower() in built_ops:
            used |= {spec.engine, *spec.helpers}
    return tuple(e for e in ENGINES if e in used)


def op_names() -> tuple[str, ...]:
    """Names of the ops a design point can build (``ops:`` in configs/accel), opcode order."""
    return tuple(op.name.lower() for op in OP_SPECS if op != Op.NOP)


@dataclass
class OpEnv:
    """Evaluation environment of one instruction on one design point (see opexpr.Env)."""

    ins: Instr
    accel: object
    prof_values: Mapping[str, int] = field(default_factory=dict)
    _derived: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, expr in spec_of(self.ins.op).derived:
            self._derived[name] = expr.value(self)

    def field(self, name: str) -> int:
        return self.ins.get(name)

    def derived(self, name: str) -> int:
        return self._derived[name]

    def has(self, flags: Flag) -> bool:
        return bool(self.ins.flags & flags)

    def flags(self) -> int:
        return int(self.ins.flags)

    def param(self, attr: str) -> int:
        return int(getattr(self.accel, attr))

    def fmt_bytes(self, role: str) -> int:
        return getattr(self.accel.formats, role).storage_dtype.itemsize

    def prof(self, name: str) -> int:
        return int(self.prof_values[name])

    def present(self, operand: Operand) -> bool:
        """Whether the instruction's flags enable ``operand``."""
        on = operand.enable == Flag.NONE or self.has(operand.enable)
        return on and not (operand.disable and self.has(operand.disable))
