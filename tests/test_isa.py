"""Instruction encoding: round trips (fuzzed) and encoding errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemoe.isa import (
    INSTR_BYTES,
    N_ADDRS,
    N_DIMS,
    Flag,
    Instr,
    IsaError,
    Op,
    decode,
    decode_words,
    encode,
    encode_bytes,
    pack_ksp,
    unpack_ksp,
)

pytestmark = pytest.mark.unit

u32 = st.integers(0, 2**32 - 1)
instrs = st.builds(
    Instr, op=st.integers(0, 255), flags=st.integers(0, 2**16 - 1), task_mask=st.integers(0, 255),
    dims=st.tuples(*[u32] * N_DIMS), addrs=st.tuples(*[u32] * N_ADDRS),
    imm=st.integers(-(2**31), 2**31 - 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(instrs, max_size=8))
def test_encode_decode_round_trip(program):
    data = encode_bytes(program)
    assert len(data) == INSTR_BYTES * len(program)
    assert decode(data) == program
    assert decode(encode(program)) == program


@given(st.lists(u32, min_size=16, max_size=16))
def test_any_16_words_decode_and_reencode_identically(words):
    ins = decode_words(np.array(words, dtype=np.uint32))
    assert encode([ins])[0].tolist() == words


def test_word_layout_is_little_endian_op_flags_mask_dims_addrs_imm():
    ins = Instr.make(Op.LINEAR, Flag.GELU | Flag.RESIDUAL, task_mask=0x02, tokens=3,
                     out_features=4, in_features=5, src=64, dst=128, weights=192, bias=256)
    w = np.frombuffer(encode_bytes([ins]), "<u4")
    assert w[0] == 1 | (0b101 << 8) | (0x02 << 24)
    assert w[1:4].tolist() == [3, 4, 5]
    assert w[6:10].tolist() == [64, 128, 192, 256]
    assert ins.runs_for(1) and not ins.runs_for(0)


def test_named_fields_and_errors():
    ins = Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=64, dst=128, scale=-7)
    assert ins.get("scale") == -7 and ins.named()["head_dim"] == 16
    with pytest.raises(IsaError, match="ATTENTION has no field 'weights'"):
        Instr.make(Op.ATTENTION, weights=64)
    with pytest.raises(IsaError, match="does not fit in uint32"):
        encode([Instr.make(Op.ADD, count=2**32)])
    with pytest.raises(IsaError, match="int32"):
        encode([Instr.make(Op.LAYERNORM, eps=2**31)])
    with pytest.raises(IsaError, match="multiple of 16 words"):
        decode(b"\0" * 68)
    assert unpack_ksp(pack_ksp(16, 16, 0)) == (16, 16, 0)
    with pytest.raises(IsaError, match="stride=256"):
        pack_ksp(3, 256, 1)
