"""The C++ does not build the mixed int4/int8 LINEAR yet (isa.FLAGS_NOT_BUILT["hls"]): it
refuses the instruction with BAD_FLAGS, writes nothing, and golden runs the same one."""

from __future__ import annotations

import numpy as np
import pytest
from q4util import mixed_linear

from edgemoe.isa import FLAGS_NOT_BUILT, Err, Flag, Op, encode
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


def test_csim_refuses_wfmt_q4_with_bad_flags():
    from edgemoe.flow.csim import CsimExecutor

    assert FLAGS_NOT_BUILT["hls"][Op.LINEAR] & Flag.WFMT_Q4
    accel = load_accel("tiny")
    case = mixed_linear(accel, seed=3, t=2, n=8, k=16)
    image = case.scratch.image.copy()
    prog = case.scratch.program
    words = encode([case.ins]).astype("<u4").view(np.uint8).reshape(-1)
    image[prog:prog + words.size] = words
    before = image.copy()
    assert CsimExecutor(accel).execute(image, prog, 1, 0, 0) == Err.BAD_FLAGS
    dst = slice(case.dst, case.dst + case.t * case.n * 4)
    assert np.array_equal(image[dst], before[dst])  # nothing written
    assert case.scratch.run([case.ins]) == Err.OK  # golden runs it
