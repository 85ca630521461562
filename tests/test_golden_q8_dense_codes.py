"""A W8A8 dense MLP's hidden rows as int8 codes (isa.pack_linear_q8), golden.

The reference is built from edgemoe.numerics directly, step by step: fc1's sums, GELU
(or ReLU), then the codes of numerics.int8.hidden_codes with fc2's multiplier, one byte
an element at ``dst + r * out_features``; fc2's sums over those codes, the residual.  The
hidden bytes, dst and each profile entry must equal it exactly; the same layers with act
hidden rows give the same dst and the same overflow total (the clamps move from fc2's
entry to fc1's).  Bad combinations are refused by the checks every executor shares.
"""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch
from q8mlp import FILL, q8_mlp
from rtldesigns import design as load_design

from edgemoe import numerics
from edgemoe.golden.memory import read, read_matrix
from edgemoe.isa import Err, Flag, Instr, Op, pack_linear_q8, unpack_linear_q8
from edgemoe.layout import code_muls_offset
from edgemoe.numerics import int8
from edgemoe.params.fixed import FixedType
from edgemoe.validate import ProgramError, validate_program

I8 = FixedType(8, 8)


def _layer(img, ins, accel, x):
    """(raw act y before the epilogue, act overflows) of a W8A8 LINEAR on int8 codes x."""
    g, f = ins.get, accel.formats
    n, k = g("out_features"), g("in_features")
    w = read_matrix(img, g("weights"), n, k, I8, accel)
    b = read(img, g("bias"), n, f.bias)
    m = img[g("scales"):g("scales") + 4 * n].view("<i4").astype(np.int64)
    dq = unpack_linear_q8(g("q8_shift_codes"))[0]
    shift = f.act.frac_bits + dq - f.bias.frac_bits
    b_al = b << shift if shift >= 0 else b >> -shift
    return int8.dequantize(x.astype(np.int64) @ w.T.astype(np.int64), m, b_al, dq, f.act)


def _rows(img, case, ins, x):
    if ins.has(Flag.GATHER):
        return x[read(img, ins.get("index"), case.t, FixedType(32, 32))]
    return x[:case.t]  # DYN_COUNT: the first rows


def _reference(case, accel):
    """(hidden tensors' bytes, dst raw, overflows per instruction), from numerics."""
    img, act, t = case.scratch.image, accel.formats.act, case.t
    prog = case.program
    x = read(img, case.x, case.x_rows * case.d, act).reshape(case.x_rows, case.d)
    xq, over = int8.input_codes(_rows(img, case, prog[0], x), prog[0].get("x_mul"), act)
    clamped, hidden, counts = int(over.sum()), [], []
    for i, ins in enumerate(prog[:-1]):
        y, n = _layer(img, ins, accel, xq)
        if ins.has(Flag.GELU):
            y, n_gelu = numerics.gelu_counted(y, act)
            n += n_gelu
        if ins.has(Flag.RELU):
            y = np.maximum(y, 0)
        assert unpack_linear_q8(ins.get("q8_shift_codes"))[1]  # codes out
        n_out = ins.get("out_features")
        at = ins.get("scales") + code_muls_offset(n_out, accel.linear_p_out)
        muls = img[at:at + 4 * n_out].view("<i4")
        assert (muls == prog[i + 1].get("x_mul")).all()  # fc2's own multiplier, every column
        xq, over = int8.hidden_codes(y, prog[i + 1].get("x_mul"), act)  # the definition
        buf = np.full(case.hidden_bytes, FILL, np.uint8)
        for r in range(t):
            at = int8.hidden_row_offset(0, r, ins.get("out_features"))
            buf[at:at + xq.shape[1]] = xq[r].astype(np.int8).view(np.uint8)
        hidden.append(buf)
        counts.append(clamped + n + over)
        clamped = 0
    fc2 = prog[-1]
    y, n = _layer(img, fc2, accel, _rows(img, case, fc2, xq))
    base = read(img, case.residual, t * case.d, act).reshape(t, case.d)
    out, n_res = act.from_raw_counted(base + y, act.frac_bits)
    return hidden, out, counts + [n + n_res]


CASES = {  # name -> q8_mlp keyword arguments
    "plain": {"seed": 1, "t": 5, "d": 12, "h": 20},
    "strips": {"seed": 2, "t": 9, "d": 32, "h": 48},  # several weight strips per layer
    "clamps": {"seed": 3, "t": 6, "d": 8, "h": 24, "h_calib": 0.4},  # hidden codes clamp
    "overflows": {"seed": 4, "t": 5, "d": 8, "h": 16, "x_range": 4.0, "w_gain": 300.0},
    "gather_relu": {"seed": 5, "t": 6, "d": 12, "h": 20, "gather": True, "relu": True},
    "middle": {"seed": 6, "t": 4, "d": 8, "h": 12, "middle": True, "h_calib": 1.0},
    "count": {"seed": 7, "t": 7, "d": 8, "h": 12, "count": 5},
}


@pytest.mark.golden
@pytest.mark.parametrize("design", ["tiny", "alt"])
@pytest.mark.parametrize("name", list(CASES))
def test_hidden_codes_and_dst_match_numerics(design, name):
    accel = load_design(design)
    act, kw = accel.formats.act, CASES[name]
    case = q8_mlp(accel, **kw)
    if "count" in kw:  # a run of `count` tokens: the reference on the first rows
        case.t = kw["count"]
    want_hidden, want_dst, want_over = _reference(case, accel)
    s = case.scratch
    assert s.run(case.program) == Err.OK
    for off, want in zip(case.hidden, want_hidden):
        assert (s.image[off:off + want.size] == want).all()
    got = read(s.image, case.dst, case.t * case.d, act).reshape(case.t, case.d)
    assert (got == want_dst).all()
    assert [s.profile(i)["overflows"] for i in range(len(case.program))] == want_over
    if name == "clamps":  # fc1's entry holds the hidden clamps
        assert (np.abs(want_hidden[0][:case.t * case.h].view(np.int8)) == int8.Q8_MAX).any()
    if name == "overflows":
        assert want_over[0] > 0 and want_over[-1] > 0


@pytest.mark.golden
@pytest.mark.parametrize("name", list(CASES))
def test_codes_change_neither_dst_nor_the_overflow_total(name):
    accel = load_design("tiny")
    act, kw = accel.formats.act, CASES[name]
    runs = []
    for codes in (True, False):
        case = q8_mlp(accel, codes=codes, **kw)
        assert case.scratch.run(case.program) == Err.OK
        n = kw.get("count", case.t)
        runs.append((case.scratch.get_raw(case.dst, n * case.d, act),
                     [case.scratch.profile(i)["overflows"] for i in range(len(case.program))]))
    (dst_c, over_c), (dst_a, over_a) = runs
    assert (dst_c == dst_a).all()
    assert sum(over_c) == sum(over_a)
    if name == "clamps":  # the clamps moved from fc2's entry to fc1's
        assert over_c[0] > over_a[0] and over_c[-1] < over_a[-1]


SIZE = 1 << 20


def check(instrs, accel, size=SIZE):
    validate_program(instrs, accel, size)


def _one(accel, flags, word, **extra) -> Instr:
    s = Scratch(accel)
    return Instr.make(Op.LINEAR, Flag.WFMT_Q8 | flags, tokens=2, out_features=8, in_features=8,
                      src=s.alloc(4096), dst=s.alloc(4096), weights=s.alloc(4096),
                      bias=s.alloc(256), scales=s.alloc(256), x_mul=1000, q8_shift_codes=word,
                      **extra)


@pytest.mark.golden
@pytest.mark.parametrize("flags", [Flag.RESIDUAL, Flag.SCORE_ACC | Flag.SCATTER, Flag.SCATTER])
def test_codes_out_refuse_accumulate_and_scatter(flags):
    accel = load_design("tiny")
    extra = {"residual": 1 << 16} if flags == Flag.RESIDUAL else \
        {"scores": 1 << 16, "index": 1 << 16, "rows": 2}
    check([_one(accel, flags, pack_linear_q8(10), **extra)], accel)
    check([_one(accel, flags, pack_linear_q8(10, False, True), **extra)], accel)  # codes in: fine
    with pytest.raises(ProgramError, match="hidden codes out"):
        check([_one(accel, flags, pack_linear_q8(10, True), **extra)], accel)


@pytest.mark.golden
def test_codes_out_take_gelu_relu_gather_and_a_count():
    accel = load_design("tiny")
    extra = {"index": 1 << 16, "rows": 2, "count": 1 << 17}
    check([_one(accel, Flag.GELU | Flag.RELU | Flag.GATHER | Flag.DYN_COUNT,
                pack_linear_q8(10, True, True), **extra)], accel)


@pytest.mark.golden
def test_mixed_int4_refuses_hidden_codes():
    accel = load_design("tiny")  # q4 built
    s = Scratch(accel)
    base = {"tokens": 2, "out_features": 8, "in_features": 8, "src": s.alloc(4096),
            "dst": s.alloc(4096), "weights": s.alloc(4096), "bias": s.alloc(256),
            "scales": s.alloc(256), "channel_index": s.alloc(256), "x_mul": 1000,
            "q4_split": 4 | 1 << 16}
    check([Instr.make(Op.LINEAR, Flag.WFMT_Q4, q8_shift_codes=10, **base)], accel)
    for word in (pack_linear_q8(10, False, True), pack_linear_q8(10, True)):
        with pytest.raises(ProgramError, match="not with WFMT_Q4"):
            check([Instr.make(Op.LINEAR, Flag.WFMT_Q4, q8_shift_codes=word, **base)], accel)


@pytest.mark.golden
@pytest.mark.parametrize("i,name", [(0, "dst"), (1, "src")])
def test_code_rows_are_a_byte_an_element_in_the_operand_checks(i, name):
    """fc1's dst and fc2's src span t * h bytes: ending at the image's end passes, a byte
    further is out of range (the op spec every executor's checks are rendered from)."""
    accel = load_design("tiny")
    case = q8_mlp(accel, 1, 4, 8, 16)
    ins, size = case.program[i], 1 << 20
    at = size - 4 * 16  # t * h bytes, 64-byte aligned
    check([Instr.make(Op.LINEAR, ins.flags, **{**ins.named(), name: at})], accel, size)
    with pytest.raises(ProgramError):
        check([Instr.make(Op.LINEAR, ins.flags, **{**ins.named(), name: at + 64})], accel,
              size)
