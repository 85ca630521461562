"""W8A8 CONV (Flag.WFMT_Q8 on CONV): C-sim matches golden byte for byte, profile words
included, through both im2col paths (the line buffer when in_ch is a multiple of P_IN,
else a read per tap), strided, with the epilogue flags, clamped inputs and act overflows
(their counts are checked against float in tests/test_golden_q8_conv.py)."""

from __future__ import annotations

import pytest
from q8conv import q8_conv
from test_csim_q8 import VARIANT, _one_op_equal

from edgemoe.isa import Flag
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


CASES = [
    # (seed, h, w, ci, co, kernel, stride, pad, flags, x_range, calib, w_gain)
    (1, 4, 8, 8, 12, 3, 1, 1, Flag.RELU, 2.0, None, 1.0),          # line buffer (ci % P_IN == 0)
    (2, 5, 7, 3, 5, 3, 2, 0, 0, 2.0, None, 1.0),                   # a read per tap, strided
    (3, 3, 4, 16, 40, 3, 1, 1, Flag.RELU | Flag.RESIDUAL, 2.0, None, 1.0),  # weight chunks
    (4, 4, 4, 4, 8, 1, 1, 0, 0, 3.0, 2.0, 1.0),                    # inputs clamp to +-127
    (5, 4, 4, 8, 8, 3, 1, 1, 0, 8.0, None, 200.0),                 # outputs beyond act
]


@pytest.mark.parametrize("seed,h,w,ci,co,kernel,stride,pad,flags,x_range,calib,w_gain", CASES)
def test_q8_conv_csim_equals_golden(design, seed, h, w, ci, co, kernel, stride, pad, flags,
                                    x_range, calib, w_gain):
    accel, csim = design
    case = q8_conv(accel, seed, h, w, ci, co, kernel, stride, pad, flags, x_range, calib, w_gain)
    gold = _one_op_equal(accel, csim, case)
    assert (gold != case.scratch.image).any()
