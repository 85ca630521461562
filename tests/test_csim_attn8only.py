"""The attention engine built for int8 only (``attn_act: false``) in the generated C++: int8
ATTENTION == golden byte for byte (profile words included), and an ATTENTION without
Flag.WFMT_Q8 refused by the checker (OP_REQUIRED_FLAGS: BAD_FLAGS) as golden refuses it,
alone or after an int8 one.  The design is tests/rtldesigns.py's ``attn8only`` (3 lanes).
"""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import attn_q8_case
from progutil import Scratch

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute, status_words
from edgemoe.isa import Err, Instr, Op, encode_bytes
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

ONLY = ("attn_lanes=3", "attn_topk=false", "attn_act=false")


@pytest.fixture(scope="module")
def design():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", ONLY)
    return accel, CsimExecutor(accel)


def _run_both(design, s: Scratch, program: list[Instr], expect: int) -> np.ndarray:
    """``program`` on golden and C-sim: the same status, every non-volatile byte equal.
    Returns golden's image."""
    accel, csim = design
    code = encode_bytes(program)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, len(program), 0, 0)
    assert execute(gold, accel, *args) == expect
    assert csim.execute(sim, *args) == expect
    keep = ~volatile_mask(gold.size, 0, len(program))
    assert (gold[keep] == sim[keep]).all(), f"{np.count_nonzero(gold[keep] != sim[keep])} bytes differ"
    return gold


def _act_attention(s: Scratch, qkv: int, t: int, nh: int, hd: int) -> Instr:
    act = s.accel.formats.act
    dst = s.put(np.full(t * nh * hd * act.storage_dtype.itemsize, 0x5A, np.uint8))
    return Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=qkv, dst=dst,
                      scale=int(act.quantize(np.array([0.25]))[0]))


@pytest.mark.parametrize("t,nh,hd", [(9, 2, 16), (16, 1, 5), (7, 2, 16), (1, 2, 16)])
def test_int8_attention_csim_equals_golden(design, t, nh, hd):
    case = attn_q8_case(design[0], seed=t + hd, t=t, nh=nh, hd=hd, ranges=(2.0, 3.0, 1.0))
    gold = _run_both(design, case.scratch, [case.ins], Err.OK)
    n = t * nh * hd * design[0].formats.act.storage_dtype.itemsize
    assert (gold[case.dst:case.dst + n] != case.scratch.image[case.dst:case.dst + n]).any()


def test_act_attention_is_refused_alone_and_after_an_int8_one(design):
    case = attn_q8_case(design[0], seed=3, t=9, nh=2, hd=16)
    act = _act_attention(case.scratch, case.ins.get("qkv"), 9, 2, 16)
    gold = _run_both(design, case.scratch, [act], Err.BAD_FLAGS)
    assert status_words(gold, 0)["executed"] == 0
    gold = _run_both(design, case.scratch, [case.ins, act], Err.BAD_FLAGS)
    assert status_words(gold, 0)["executed"] == 1
    dst = act.get("dst")
    assert (gold[dst:dst + 9 * 2 * 16] == 0x5A).all()
