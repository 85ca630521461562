"""W8A8 LINEAR (Flag.WFMT_Q8) on the golden executor: against float, overflows counted.

Bound (tests/q8util.py, per output): half an input step times sum |w| (the activation's
int8 rounding), the channel multiplier's relative rounding 0.5 / m, and one LSB each for
the floor of the aligned bias and the act rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from q8util import output, q8_linear

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.params import load_accel
from edgemoe.validate import ProgramError, validate_program

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def tiny():
    return load_accel("tiny")


@pytest.mark.parametrize("t,n,k", [(5, 12, 20), (1, 1, 1), (3, 96, 768), (9, 33, 64)])
def test_q8_linear_matches_float_within_bound(tiny, t, n, k):
    case = q8_linear(tiny, seed=t + n + k, t=t, n=n, k=k)
    assert case.scratch.run([case.ins]) == Err.OK
    got = output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert (err <= case.bound).all(), float((err - case.bound).max())
    # the bound is tight enough to catch a wrong scale or a dropped bias
    assert case.bound.max() < 0.1 * max(1.0, np.abs(case.ref).max())
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["macs"] == t * n * k


def test_q8_int8_error_is_below_the_w16a32_path_bound(tiny):
    """Relative error of a 64 -> 32 layer: int8 keeps it near 1% of the output range."""
    case = q8_linear(tiny, seed=3, t=16, n=32, k=64)
    case.scratch.run([case.ins])
    got = output(case, case.scratch.image, tiny.formats.act)
    assert np.abs(got - case.ref).max() / np.abs(case.ref).max() < 0.02


def test_q8_inputs_beyond_calibration_clamp_and_count(tiny):
    """x in +-3 calibrated for +-2: a third of the inputs clamp to +-127, counted once."""
    case = q8_linear(tiny, seed=8, t=4, n=8, k=16, x_range=3.0, calib=2.0)
    assert case.clamped > 0
    case.scratch.run([case.ins])
    assert case.scratch.profile(0)["overflows"] == case.clamped


def test_q8_outputs_beyond_act_range_count(tiny):
    """Outputs past act's +-512 wrap and are counted (one per output beyond the range)."""
    act = tiny.formats.act
    case = q8_linear(tiny, seed=21, t=4, n=8, k=64, x_range=8.0, w_gain=200.0)
    hi = act.max_value
    assert not (np.abs(np.abs(case.ref) - hi) < 0.01 * hi).any(), "too close: change the seed"
    expected = int(np.count_nonzero((case.ref > hi) | (case.ref < act.min_value)))
    assert expected > 0
    case.scratch.run([case.ins])
    assert case.scratch.profile(0)["overflows"] == expected


def test_q8_relu_and_gelu_run_on_the_dequantized_value(tiny):
    case = q8_linear(tiny, seed=4, t=3, n=8, k=16, flags=Flag.RELU)
    case.scratch.run([case.ins])
    got = output(case, case.scratch.image, tiny.formats.act)
    ref = np.maximum(case.ref, 0)
    assert (np.abs(got - ref) <= case.bound).all()
    assert (got >= 0).all() and (got > 0).any()


def test_q8_profile_counts_int8_weight_bytes(tiny):
    """int8 weights (1 byte) + bias block + the int32 scale block."""
    case = q8_linear(tiny, seed=5, t=2, n=8, k=16)
    case.scratch.run([case.ins])
    # 8 x 16 int8 = 128 bytes; bias 8 x 2 bytes -> 64; scales 8 x 4 bytes -> 64
    assert case.scratch.profile(0)["weight_bytes"] == 128 + 64 + 64


@pytest.mark.parametrize("change,what", [({"q8_shift_codes": 25}, "dq_shift"),
                                         ({"flags": Flag.WFMT_Q8 | Flag.WFMT_CONV}, "WFMT_CONV")])
def test_q8_bad_fields_are_refused(tiny, change, what):
    case = q8_linear(tiny, seed=6, t=2, n=4, k=4)
    fields = {**case.ins.named(), **change}
    flags = fields.pop("flags", case.ins.flags)
    bad = Instr.make(Op.LINEAR, flags, **fields)
    validate_program([case.ins], tiny, case.scratch.image.size)
    with pytest.raises(ProgramError, match=what):
        validate_program([bad], tiny, case.scratch.image.size)
