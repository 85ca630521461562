"""W8A8 CONV (Flag.WFMT_Q8 on CONV, the task heads' convs) on the golden executor: against
float within a stated bound, clamped inputs counted per im2col entry, bad programs refused.

Bound (tests/q8conv.py, per output, as tests/q8util.py for LINEAR): half an input step
times sum |w| (the activation's int8 rounding), the channel multiplier's relative rounding
0.5 / m, and one LSB each for the floor of the aligned bias and the act rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from q8conv import conv_output, q8_conv

from edgemoe.isa import Err, Flag, Instr, Op, pack_ksp
from edgemoe.params import load_accel
from edgemoe.validate import ProgramError, validate_program

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def tiny():
    return load_accel("tiny")


@pytest.mark.parametrize("h,w,ci,co,kernel,stride,pad", [
    (4, 8, 8, 12, 3, 1, 1),    # a head conv: 3x3, same size
    (5, 7, 3, 5, 3, 2, 0),     # strided, no padding, odd sizes
    (6, 6, 16, 7, 1, 1, 0),    # the heads' last conv: 1x1
])
def test_q8_conv_matches_float_within_bound(tiny, h, w, ci, co, kernel, stride, pad):
    case = q8_conv(tiny, seed=h * w + co, h=h, w=w, ci=ci, co=co, kernel=kernel, stride=stride,
                   pad=pad)
    assert case.scratch.run([case.ins]) == Err.OK
    got = conv_output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert (err <= case.bound).all(), float((err - case.bound).max())
    # tight enough to catch a wrong scale, a dropped bias or a shifted tap
    assert case.bound.max() < 0.1 * max(1.0, np.abs(case.ref).max())
    assert np.abs(got - case.ref).max() > 0  # the int8 rounding is visible
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["macs"] == case.shape[0] * co * ci * kernel * kernel


def test_q8_conv_epilogue_relu_and_residual(tiny):
    """ReLU of the sum with the residual (here the zeroed destination itself)."""
    case = q8_conv(tiny, seed=5, h=4, w=4, ci=8, co=8, flags=Flag.RELU | Flag.RESIDUAL)
    assert case.scratch.run([case.ins]) == Err.OK
    got = conv_output(case, case.scratch.image, tiny.formats.act)
    want = np.maximum(case.ref, 0)
    assert (np.abs(got - want) <= case.bound).all()
    assert (got >= 0).all() and (got == 0).any()


def test_q8_conv_clamps_count_once_per_im2col_entry(tiny):
    """x in +-3 calibrated for +-2: inputs clamp to +-127, each counted in every window
    (im2col row) it lands in, as the engine quantizes rows: border pixels fewer times."""
    case = q8_conv(tiny, seed=8, h=5, w=6, ci=4, co=8, x_range=3.0, calib=2.0)
    assert case.clamped > 0
    assert case.scratch.run([case.ins]) == Err.OK
    assert case.scratch.profile(0)["overflows"] == case.clamped


@pytest.mark.parametrize("flag", [Flag.PIXEL_INPUT, Flag.WFMT_CONV, Flag.WFMT_PATCH])
def test_q8_conv_refuses_other_weight_or_input_formats(tiny, flag):
    case = q8_conv(tiny, seed=1, h=4, w=4, ci=4, co=4)
    bad = Instr(case.ins.op, case.ins.flags | flag, case.ins.task_mask, case.ins.dims,
                case.ins.addrs, case.ins.imm)
    with pytest.raises(ProgramError, match="not with WFMT_Q8"):
        validate_program([bad], tiny, case.scratch.image.size)


def test_q8_conv_refuses_a_dequantization_shift_past_its_limit(tiny):
    case = q8_conv(tiny, seed=1, h=4, w=4, ci=4, co=4)
    dims = list(case.ins.dims)
    dims[4] = pack_ksp(3, 1, 1, 25)
    bad = Instr(Op.CONV, case.ins.flags, case.ins.task_mask, tuple(dims), case.ins.addrs,
                case.ins.imm)
    with pytest.raises(ProgramError, match="dq_shift"):
        validate_program([bad], tiny, case.scratch.image.size)
