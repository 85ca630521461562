"""W8A8 LINEAR (Flag.WFMT_Q8): C-sim matches golden byte for byte, profile words included.

Inputs, outputs and the epilogue flags vary; the clamp and act overflow cases drive the
int8 input and the act output past their ranges (counts checked in tests/test_golden_q8.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from q8moe import q8_experts
from q8util import q8_linear, q8_program

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute
from edgemoe.isa import Flag, encode_bytes
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

#: saturating, rounding act in a 24-bit value; narrower bias
VARIANT = ("formats.act=ap_fixed<24,8,AP_RND_CONV,AP_SAT>",
           "formats.bias=ap_fixed<16,6,AP_RND_ZERO,AP_SAT>")


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


CASES = [
    # (seed, t, n, k, flags, x_range, calib, w_gain)
    (1, 5, 12, 20, 0, 2.0, None, 1.0),
    (2, 1, 1, 1, 0, 2.0, None, 1.0),
    (3, 3, 96, 768, Flag.GELU, 2.0, None, 1.0),  # several weight chunks (ping/pong)
    (4, 6, 10, 9, Flag.RELU | Flag.BFMT_ATTN, 2.0, None, 1.0),
    (5, 4, 8, 16, 0, 3.0, 2.0, 1.0),  # inputs clamp to +-127
    (6, 4, 8, 64, 0, 8.0, None, 200.0),  # outputs beyond act's range
]


def _one_op_equal(accel, csim, case) -> np.ndarray:
    """Run the case's one instruction on golden and C-sim; every non-volatile byte equal.
    Returns golden's image."""
    s = case.scratch
    code = encode_bytes([case.ins])
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, 1, 0, 0)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    keep = ~volatile_mask(gold.size, 0, 1)
    assert (gold[keep] == sim[keep]).all()
    return gold


@pytest.mark.parametrize("seed,t,n,k,flags,x_range,calib,w_gain", CASES)
def test_q8_linear_csim_equals_golden(design, seed, t, n, k, flags, x_range, calib, w_gain):
    accel, csim = design
    case = q8_linear(accel, seed, t, n, k, flags, x_range, calib, w_gain)
    gold = _one_op_equal(accel, csim, case)
    assert (gold != case.scratch.image).any()


def test_q8_mixed_program_csim_equals_golden(design):
    """W8A8 -> W16 -> W8A8 (GELU, residual): every layer's bytes and profile words agree."""
    accel, csim = design
    s, prog = q8_program(accel, seed=9)
    code = encode_bytes(prog)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, len(prog), 0, 0)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    keep = ~volatile_mask(gold.size, 0, len(prog))
    assert (gold[keep] == sim[keep]).all()


MOE_CASES = [
    # (seed, t, d, h, e, top_k, residual, x_range, calib, h_calib, w_gain)
    (11, 7, 12, 20, 4, 2, True, 2.0, None, None, 1.0),
    (12, 1, 4, 4, 2, 1, False, 2.0, None, None, 1.0),
    (13, 9, 32, 48, 4, 2, True, 2.0, None, None, 1.0),  # several weight chunks per expert
    (14, 6, 8, 12, 3, 2, True, 3.0, 1.5, 0.5, 1.0),  # fc1 and fc2 inputs clamp to +-127
    (15, 5, 8, 16, 3, 1, False, 4.0, None, None, 300.0),  # fc1, GELU and fc2 beyond act
]


@pytest.mark.parametrize("seed,t,d,h,e,top_k,residual,x_range,calib,h_calib,w_gain", MOE_CASES)
def test_q8_experts_csim_equals_golden(design, seed, t, d, h, e, top_k, residual, x_range,
                                       calib, h_calib, w_gain):
    """W8A8 MOE_EXPERTS: output, scratch and profile words (overflows) byte-identical."""
    accel, csim = design
    case = q8_experts(accel, seed, t, d, h, e, top_k, x_range, calib, h_calib, w_gain, residual)
    gold = _one_op_equal(accel, csim, case)
    assert (gold[case.dst:case.dst + 4] != 0xA5).any()
    s = case.scratch
    s.image = gold
    if calib is not None or w_gain > 10:  # the cases there to clamp or overflow do
        assert s.profile(0)["overflows"] > 0
