"""W8A8 MOE_EXPERTS (Flag.WFMT_Q8) on the golden executor: against float, counted clamps.

The bound per output element (tests/q8moe.py) adds, per expert and layer, half an int8
input step times sum |w|, the propagated fc1 error through GELU (slope <= 1.13, plus its
5.5e-5 table error), the multipliers' rounding, the aligned bias floor and act LSBs.
"""

from __future__ import annotations

import numpy as np
import pytest
from q8moe import moe_output, q8_experts

from edgemoe.isa import Flag, Instr, Op, pack_moe_q8
from edgemoe.layout import bias_block_bytes, weight_block_bytes
from edgemoe.validate import check_instr


@pytest.mark.parametrize("seed,t,d,h,e,top_k,residual", [
    (1, 7, 12, 20, 4, 2, True),
    (2, 1, 4, 4, 2, 1, False),
    (3, 9, 32, 48, 4, 2, True),
])
def test_q8_experts_within_bound_of_float(tiny, seed, t, d, h, e, top_k, residual):
    case = q8_experts(tiny, seed, t, d, h, e, top_k, residual=residual)
    assert case.scratch.run([case.ins]) == 0
    got = moe_output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert (err <= case.bound).all(), float((err / case.bound).max())
    assert err.max() > 0  # the int8 steps are visible: this is not the W16 path
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["experts_active"] == e - 1  # the last expert's queue is empty


@pytest.mark.parametrize("seed", range(4, 9))
def test_q8_experts_relative_error(tiny, seed):
    """Max error <= 3% of the largest output (measured 0.8-2.0% over these seeds): int8
    inputs to both layers, per-channel int8 weights, 16-24 terms per dot product."""
    case = q8_experts(tiny, seed, 8, 16, 24, 3, 2)
    assert case.scratch.run([case.ins]) == 0
    got = moe_output(case, case.scratch.image, tiny.formats.act)
    assert np.abs(got - case.ref).max() <= 0.03 * np.abs(case.ref).max()


def test_q8_experts_clamped_inputs_are_counted(tiny):
    """A calibration range half the true one: fc1 inputs beyond it clamp and are counted."""
    case = q8_experts(tiny, 5, 6, 8, 12, 3, 2, x_range=2.0, calib=1.0)
    xf = tiny.formats.act.to_float(case.scratch.get_raw(case.ins.get("src"), 6 * 8,
                                                        tiny.formats.act)).reshape(6, 8)
    assert case.scratch.run([case.ins]) == 0
    q = case.scratch.profile(0)
    # every routed token's row is quantized once per expert it goes to (top_k = 2)
    x_mul = case.ins.get("x_mul")
    codes = np.floor(xf * x_mul / 2 ** 16 + 0.5)
    expected = 2 * int(np.count_nonzero(np.abs(codes) > 127))
    assert expected > 0
    assert q["overflows"] == expected  # nothing else (hidden, act) overflows here


def test_q8_experts_weight_bytes_include_multipliers(tiny):
    """Per active expert: int8 w1 and w2, their biases and their int32 multipliers."""
    case = q8_experts(tiny, 6, 4, 8, 12, 3, 1)
    assert case.scratch.run([case.ins]) == 0
    prof = case.scratch.profile(0)
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    bb = tiny.formats.bias.storage_dtype.itemsize
    per = (weight_block_bytes(12, 8, po, pi, 1) + weight_block_bytes(8, 12, po, pi, 1)
           + bias_block_bytes(12, po, bb) + bias_block_bytes(8, po, bb)
           + bias_block_bytes(12, po, 4) + bias_block_bytes(8, po, 4))
    assert prof["weight_bytes"] == prof["experts_active"] * per


def test_q8_experts_rejects_shift_beyond_limit(tiny):
    case = q8_experts(tiny, 7, 4, 8, 12, 3, 1)
    bad = Instr.make(Op.MOE_EXPERTS, Flag.WFMT_Q8 | Flag.RESIDUAL,
                     **{k: case.ins.get(k) for k in ("tokens", "dim", "hidden", "experts", "src",
                                                     "dst", "w1", "b1", "w2", "b2", "queues",
                                                     "scratch", "residual", "x_mul")},
                     q8_shift_mul=pack_moe_q8(25, 1000))
    problems = check_instr(bad, tiny, case.scratch.image.size)
    assert any("dq_shift" in str(p) for p in problems), problems
    assert not check_instr(case.ins, tiny, case.scratch.image.size)
