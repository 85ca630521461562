"""Invalid programs: clear validation errors, and error statuses (never a crash or hang)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from progutil import Scratch

from edgemoe.golden import execute, status_words
from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.layout import queue_layout
from edgemoe.validate import ProgramError, check_instr, validate_program

pytestmark = pytest.mark.golden


def linear(**kw):
    base = {"tokens": 2, "out_features": 4, "in_features": 4, "src": 4096, "dst": 8192,
            "weights": 12288, "bias": 16384}
    base.update(kw)
    return Instr.make(Op.LINEAR, **base)


CASES = [
    (Instr(op=99), Err.BAD_OPCODE, "unknown opcode 99"),
    (linear(src=4100), Err.MISALIGNED, "src (a0) offset 4100 is not 64-byte aligned"),
    (linear(dst=(1 << 20) - 64, out_features=16), Err.OUT_OF_RANGE, "outside the 1048576-byte memory image"),
    (linear(in_features=10_000), Err.BAD_SHAPE, "in_features=10000 outside [1, 768]"),
    (linear(tokens=0), Err.BAD_SHAPE, "tokens=0 outside"),
    (Instr.make(Op.ATTENTION, tokens=17, heads=1, head_dim=8, qkv=4096, dst=8192),
     Err.BAD_SHAPE, "tokens=17 outside [1, 16]"),
    (Instr.make(Op.MOE_GATE, tokens=4, dim=8, experts=4, top_k=3, src=4096, w_gate=8192,
                queues=12288), Err.BAD_SHAPE, "top_k=3 outside [1, 2]"),
    (Instr.make(Op.ADD, Flag.GELU, count=4, a=4096, b=8192, dst=12288), Err.BAD_FLAGS,
     "ADD does not accept flags 0x1"),
]


@pytest.mark.parametrize("ins,code,text", CASES)
def test_invalid_instruction_is_refused_and_reported(tiny, ins, code, text):
    problems = check_instr(ins, tiny, 1 << 20)
    assert problems and problems[0].code == code and text in problems[0].message
    with pytest.raises(ProgramError, match="instruction 1: ") as info:
        validate_program([Instr(op=0), ins], tiny, 1 << 20)
    assert info.value.index == 1 and info.value.code == code
    s = Scratch(tiny)
    assert s.run([Instr(op=0), ins, linear()]) == code
    st_ = s.status()
    assert (st_["error"], st_["index"], st_["executed"]) == (code, 1, 1)


def test_op_not_built_into_design_point(tiny):
    from dataclasses import replace
    small = replace(tiny, ops=tuple(o for o in tiny.ops if o != "upsample"))
    ins = Instr.make(Op.UPSAMPLE, in_h=2, in_w=2, channels=4, src=4096, dst=8192)
    assert check_instr(ins, small, 1 << 20)[0].code == Err.OP_NOT_BUILT


def test_corrupt_expert_queue_sets_bad_queue(tiny):
    s = Scratch(tiny)
    t, d, h, e = 4, 4, 4, 2
    q = s.alloc(queue_layout(e, t)["total"])
    s.image[q:q + 4] = np.array([9], "<u4").view(np.uint8)  # 9 tokens queued, only 4 exist
    bufs = [s.alloc(4096) for _ in range(8)]
    ins = Instr.make(Op.MOE_EXPERTS, tokens=t, dim=d, hidden=h, experts=e, src=bufs[0],
                     dst=bufs[1], w1=bufs[2], b1=bufs[3], w2=bufs[4], b2=bufs[5], queues=q,
                     scratch=bufs[6])
    assert s.run([ins]) == Err.BAD_QUEUE
    assert s.status()["index"] == 0


def test_bad_program_location_is_an_error_not_an_exception(tiny):
    image = np.zeros(1 << 12, np.uint8)
    assert execute(image, tiny, 4096, 4, 0, 0) == Err.BAD_PROGRAM
    assert status_words(image, 0)["error"] == Err.BAD_PROGRAM
    assert execute(image, tiny, 64 * 3, 1, 0, 1 << 20) == Err.BAD_PROGRAM  # status outside


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=16, max_size=16), min_size=1,
                max_size=6), st.data())
def test_random_instruction_words_never_raise(tiny, program, data):
    """Arbitrary words (with small shapes and in-range offsets mixed in) end with a status."""
    words = np.array(program, dtype=np.uint32)
    for row in words:  # bias towards runnable instructions so ops really execute
        if data.draw(st.booleans()):
            row[0] = data.draw(st.integers(0, 9)) | data.draw(st.integers(0, 0xFFF)) << 8 | 0xFF << 24
            row[1:6] = data.draw(st.lists(st.integers(0, 12), min_size=5, max_size=5))
            row[6:15] = data.draw(st.lists(st.integers(2, 60), min_size=9, max_size=9))
            row[6:15] *= 1024
    image = np.zeros(1 << 16, np.uint8)
    prog = 64 * 20
    image[prog:prog + words.nbytes] = words.view(np.uint8).reshape(-1)
    code = execute(image, tiny, prog, len(words), 0, 0)
    st_ = status_words(image, 0)
    assert st_["error"] == code and code in set(Err)
    assert st_["executed"] == (len(words) if code == Err.OK else st_["index"])


# ------------------------------------------------------------------ operand overlap (OVERLAP)
def test_partial_residual_overlap_is_refused(tiny):
    """residual = dst - 64 (issue: status 0 with executor-dependent bytes) is refused."""
    ins = Instr.make(Op.LINEAR, Flag.RESIDUAL, tokens=2, out_features=16, in_features=4,
                     src=4096, dst=8192, weights=12288, bias=16384, residual=8192 - 64)
    problems = check_instr(ins, tiny, 1 << 20)
    assert problems[0].code == Err.OVERLAP
    assert "dst [8192, 8320) overlaps residual [8128, 8256)" in problems[0].message
    s = Scratch(tiny)
    before = s.image.copy()
    assert s.run([ins]) == Err.OVERLAP
    assert s.status()["index"] == 0 and s.status()["executed"] == 0
    assert np.array_equal(s.image[4096:], before[4096:])  # nothing of the operands is written


def test_the_compilers_exact_aliases_stay_legal(tiny):
    """In-place residual (dst == residual) is what the compiler emits: it runs."""
    ins = Instr.make(Op.LINEAR, Flag.RESIDUAL, tokens=2, out_features=4, in_features=4,
                     src=4096, dst=8192, weights=12288, bias=16384, residual=8192)
    assert check_instr(ins, tiny, 1 << 20) == []
    moe = Instr.make(Op.MOE_EXPERTS, Flag.RESIDUAL, tokens=4, dim=4, hidden=4, experts=2,
                     src=4096, dst=8192, w1=12288, b1=16384, w2=20480, b2=24576,
                     queues=28672, scratch=32768, residual=8192)
    assert check_instr(moe, tiny, 1 << 20) == []
    # an exact alias the spec does not list is an overlap too: LAYERNORM in place
    ln = Instr.make(Op.LAYERNORM, tokens=2, dim=4, src=4096, dst=4096, gamma=8192, beta=12288)
    assert check_instr(ln, tiny, 1 << 20)[0].code == Err.OVERLAP


def _intervals_meet(x: tuple[int, int], y: tuple[int, int]) -> bool:
    return x[0] < y[1] and y[0] < x[1]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.sampled_from([0, int(Flag.COPY)]),
       st.lists(st.integers(0, 12), min_size=3, max_size=3))
def test_add_overlap_matches_an_interval_oracle(tiny, count, flags, slots):
    """ADD operands in 64-byte slots that may collide: OVERLAP exactly when dst meets a
    read operand other than in an exact alias (dst == a or dst == b)."""
    a, b, dst = (4096 + 64 * k for k in slots)
    nbytes = 4 * count  # tiny's act format is 32-bit
    ins = Instr.make(Op.ADD, flags, count=count, a=a, b=b, dst=dst)
    reads = [a] if flags else [a, b]
    bad = any(_intervals_meet((dst, dst + nbytes), (r, r + nbytes)) and r != dst for r in reads)
    problems = check_instr(ins, tiny, 1 << 20)
    assert [p.code for p in problems] == ([Err.OVERLAP] if bad else [])
    s = Scratch(tiny)
    assert s.run([ins]) == (Err.OVERLAP if bad else Err.OK)
