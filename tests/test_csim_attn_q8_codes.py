"""Int8 ATTENTION with int8 code rows in memory (q8_codes: codes in, codes out, both): C-sim
matches golden byte for byte, profile words included, on tiny and on the variant of
tests/test_csim_attn_q8.py (3 lanes, two code beats a row, a saturating 24-bit act); the
cases clamp codes on both sides (tests/test_golden_attn_q8_codes.py checks golden against
numerics)."""

from __future__ import annotations

import pytest
from attnq8util import attn_q8_case
from test_csim_attn_q8 import VARIANT, _act_max, _run_both

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT
from edgemoe.numerics.int8 import input_multiplier
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


#: (t, heads, head_dim): one beat and a partial one; on the variant two beats, the second partial
SHAPES = {"tiny": [(9, 2, 16), (16, 1, 5)], "variant": [(5, 2, 40), (13, 2, 5)]}


@pytest.mark.parametrize("codes", [Q8_CODES_IN, Q8_CODES_OUT, Q8_CODES_IN | Q8_CODES_OUT])
@pytest.mark.parametrize("k", range(2))
def test_attn_q8_codes_csim_equals_golden(design, codes, k):
    """q and v beyond their calibrated ranges (clamped codes: the producer's with codes
    in), outputs beyond out_x_mul's range (clamped codes out)."""
    accel = design[0]
    t, nh, hd = SHAPES["variant" if accel.attn_lanes == 3 else "tiny"][k]
    r = _act_max(accel.formats.act) / 256  # +-2 on tiny's act
    case = attn_q8_case(accel, seed=30 + hd, t=t, nh=nh, hd=hd, ranges=(3 * r, 2 * r, 3 * r),
                        calib=(2 * r, 2 * r, 2 * r), codes=codes,
                        out_x_mul=input_multiplier(r / 8) if codes & Q8_CODES_OUT else 0)
    gold, prof = _run_both(design, case)
    n = t * nh * hd * (1 if codes & Q8_CODES_OUT else accel.formats.act.storage_dtype.itemsize)
    assert (gold[case.dst:case.dst + n] != case.scratch.image[case.dst:case.dst + n]).any()
    assert case.clamped > 0  # the producer's clamped codes (+-127) are in the rows
    assert (prof["overflows"] > 0) == bool(codes & Q8_CODES_OUT)  # codes out clamp here


def test_attn_q8_codes_csim_refuses_other_bits(design):
    accel = design[0]
    case = attn_q8_case(accel, seed=1, t=4, nh=1, hd=16)
    case.ins = Instr.make(Op.ATTENTION, Flag.WFMT_Q8, **{**case.ins.named(), "q8_codes": 4})
    _run_both(design, case, expect=Err.BAD_SHAPE)
