"""Int8 ATTENTION (Flag.WFMT_Q8): C-sim matches golden byte for byte, profile words included.

Two design points pack the lanes differently: tiny (2 lanes, head_dim <= 16: one beat of
ATTN_Q8_MACS codes) and a variant (3 lanes, head_dim up to 48: two beats, the second
partial; a saturating 24-bit act).  The cases reach the format limits tests/
test_golden_attn_q8.py checks against float: clamped codes, scores and outputs beyond act,
shift words with high bits set.  Designs without attn_q8 and WFMT_Q8 with ATTN_TOPK are
refused as golden refuses them.
"""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import attn_q8_case

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute, status_words
from edgemoe.isa import Err, Flag, Instr, Op, encode_bytes
from edgemoe.layout import PROFILE_FIELDS, STATUS_BYTES
from edgemoe.numerics.attn_q8 import Q8_PARAM_BYTES
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

#: 3 lanes, two 32-code beats per row, a saturating and rounding 24-bit act (max 128)
VARIANT = ("attn_lanes=3", "buffers.max_head_dim=48",
           "formats.act=ap_fixed<24,8,AP_RND_CONV,AP_SAT>")


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


def _act_max(act) -> float:
    return float(act.to_float(np.array([act.raw_max]))[0])


def _run_both(design, case, expect=Err.OK):
    """Run the case's instruction on golden and C-sim: the same status, every non-volatile
    byte equal (outputs and profile words).  Returns golden's image and C-sim's profile."""
    accel, csim = design
    s = case.scratch
    code = encode_bytes([case.ins])
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, 1, 0, 0)
    assert execute(gold, accel, *args) == expect
    assert csim.execute(sim, *args) == expect
    keep = ~volatile_mask(gold.size, 0, 1)
    assert (gold[keep] == sim[keep]).all(), f"{np.count_nonzero(gold[keep] != sim[keep])} bytes differ"
    prof = sim[STATUS_BYTES:STATUS_BYTES + 8 * len(PROFILE_FIELDS)].view("<u8")
    return gold, dict(zip(PROFILE_FIELDS, (int(v) for v in prof)))


def _outputs_written(case, gold) -> None:
    start = case.dst
    n = int(np.prod(case.shape)) * case.scratch.accel.formats.act.storage_dtype.itemsize
    assert (gold[start:start + n] != case.scratch.image[start:start + n]).any()


# (t, heads, head_dim, ranges as fractions of act's maximum, calib fractions or None)
SHAPES = {
    "tiny": [(9, 2, 16), (16, 1, 5), (1, 2, 16), (16, 2, 16), (7, 1, 1)],
    "variant": [(9, 2, 40), (16, 1, 48), (1, 2, 33), (13, 2, 5), (5, 1, 32)],
}


@pytest.mark.parametrize("k", range(5))
def test_attn_q8_csim_equals_golden(design, k):
    """Shapes of one beat, a partial beat, two beats, one token and a full token buffer."""
    accel = design[0]
    name = "variant" if accel.attn_lanes == 3 else "tiny"
    t, nh, hd = SHAPES[name][k]
    r = _act_max(accel.formats.act) / 256  # +-2 on tiny's act
    case = attn_q8_case(accel, seed=10 + k, t=t, nh=nh, hd=hd, ranges=(r, 1.5 * r, 0.5 * r))
    gold, prof = _run_both(design, case)
    _outputs_written(case, gold)
    assert prof["overflows"] == 0
    assert prof["macs"] == 2 * nh * t * t * hd
    assert prof["weight_bytes"] == Q8_PARAM_BYTES


def test_attn_q8_csim_clamps_each_code_once(design):
    """q and v beyond their calibrated ranges: every clamped code counts once."""
    accel = design[0]
    r = _act_max(accel.formats.act) / 256
    case = attn_q8_case(accel, seed=8, t=9, nh=2, hd=16, ranges=(3 * r, 2 * r, 3 * r),
                        calib=(2 * r, 2 * r, 2 * r))
    assert case.clamped > 20
    _, prof = _run_both(design, case)
    assert prof["overflows"] == case.clamped


def test_attn_q8_csim_score_overflow(design):
    """A score multiplier 64x too large pushes logits past act's range (test_golden_attn_q8
    counts them against Python integers)."""
    accel = design[0]
    r = (_act_max(accel.formats.act) / 32) ** 0.5  # logits scale with r**2: 4 on tiny
    case = attn_q8_case(accel, seed=11, t=9, nh=2, hd=16, ranges=(r, r, r / 4))
    big = {"s_shift": case.params["s_shift"] - 6}
    over = attn_q8_case(accel, seed=11, t=9, nh=2, hd=16, ranges=(r, r, r / 4), override=big)
    _, prof = _run_both(design, over)
    assert prof["overflows"] > 0


def test_attn_q8_csim_outputs_near_and_beyond_act_limit(design):
    """Logits up to ~140 (tiny) and v near act's maximum; then an output scale 4x too large
    (the shift two less), so outputs wrap or saturate, each counted."""
    accel = design[0]
    m = _act_max(accel.formats.act)
    ranges = (6.0 * m / 512, 6.0 * m / 512, 0.8 * m)
    near = attn_q8_case(accel, seed=12, t=12, nh=2, hd=16, ranges=ranges)
    gold, prof = _run_both(design, near)
    _outputs_written(near, gold)
    beyond = attn_q8_case(accel, seed=12, t=12, nh=2, hd=16, ranges=ranges,
                          override={"o_shift": near.params["o_shift"] - 2})
    _, prof_beyond = _run_both(design, beyond)
    assert prof_beyond["overflows"] > prof["overflows"]


def test_attn_q8_csim_shift_words_use_their_low_six_bits(design):
    accel = design[0]
    plain = attn_q8_case(accel, seed=2, t=4, nh=1, hd=16)
    want, _ = _run_both(design, plain)
    high = attn_q8_case(accel, seed=2, t=4, nh=1, hd=16,
                        override={"s_shift": plain.params["s_shift"] | 0xFFC0,
                                  "o_shift": plain.params["o_shift"] | 0x40})
    got, _ = _run_both(design, high)
    n = 4 * 16 * accel.formats.act.storage_dtype.itemsize
    np.testing.assert_array_equal(got[high.dst:high.dst + n], want[plain.dst:plain.dst + n])


def test_attn_q8_csim_between_dense_attentions(design):
    """Dense, int8, dense on the same q, k, v in one program: each mode's lanes keep their
    own state; every output and profile entry agrees with golden."""
    accel, csim = design
    act = accel.formats.act
    case = attn_q8_case(accel, seed=6, t=9, nh=2, hd=16)
    s = case.scratch
    n = 9 * 2 * 16 * act.storage_dtype.itemsize
    scale = int(act.quantize(np.array([0.25]))[0])
    dense = [Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=case.ins.get("qkv"),
                        dst=s.alloc(n), scale=scale) for _ in range(2)]
    prog = [dense[0], case.ins, dense[1]]
    code = encode_bytes(prog)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, len(prog), 0, 0)
    assert execute(gold, accel, *args) == Err.OK
    assert csim.execute(sim, *args) == Err.OK
    keep = ~volatile_mask(gold.size, 0, len(prog))
    assert (gold[keep] == sim[keep]).all()
    d0, d1 = (d.get("dst") for d in dense)
    assert (gold[d0:d0 + n] == gold[d1:d1 + n]).all()
    assert (gold[d0:d0 + n] != gold[case.dst:case.dst + n]).any()


def test_attn_q8_csim_refused_with_top_k(design):
    """WFMT_Q8 | ATTN_TOPK breaks the op spec's limit (BAD_SHAPE where top-k is built,
    BAD_FLAGS where it is not), in C-sim as in golden."""
    accel = design[0]
    case = attn_q8_case(accel, seed=1, t=4, nh=1, hd=16)
    case.ins = Instr.make(Op.ATTENTION, Flag.WFMT_Q8 | Flag.ATTN_TOPK, **case.ins.named())
    expect = Err.BAD_SHAPE if accel.attn_topk else Err.BAD_FLAGS
    gold, _ = _run_both(design, case, expect=expect)
    assert status_words(gold, 0)["executed"] == 0


def test_attn_q8_csim_refused_where_not_built():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", ("attn_q8=false",))
    case = attn_q8_case(accel, seed=1, t=4, nh=1, hd=16)
    gold, _ = _run_both((accel, CsimExecutor(accel)), case, expect=Err.BAD_FLAGS)
    assert status_words(gold, 0)["error"] == Err.BAD_FLAGS
