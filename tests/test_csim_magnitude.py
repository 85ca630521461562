"""C-sim matches golden byte for byte on every op driven near its format limits."""

from __future__ import annotations

import pytest
from magnitude import edge_cases, program_image
from magnitude_ops import SAT_SYM_ACT, op_cases, upsample_sat_sym

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute
from edgemoe.layout import PROFILE_FIELDS, STATUS_BYTES
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

#: saturating, rounding and narrow (+-64: the LAYERNORM outliers saturate)
VARIANT = ("formats.act=ap_fixed<23,7,AP_RND_CONV,AP_SAT>",)


def run_both(case, accel, csim):
    """Run ``case`` on golden and C-sim; assert equal bytes; return the overflow count."""
    gold, sim = program_image(case), program_image(case)
    args = (case.scratch.program, len(case.program), 0, 0)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    keep = ~volatile_mask(gold.size, 0, len(case.program))
    assert (gold[keep] == sim[keep]).all(), case.name
    at = STATUS_BYTES + 8 * PROFILE_FIELDS.index("overflows")
    return int(sim[at:at + 8].view("<u8")[0])


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


@pytest.mark.parametrize("index", range(6))
def test_edge_case_is_byte_identical(design, index):
    accel, csim = design
    case = edge_cases(accel)[index]
    overflows = run_both(case, accel, csim)
    assert (overflows > 0) == case.overflows, (case.name, overflows)


@pytest.mark.parametrize("index", range(20))
def test_op_overflow_case_is_byte_identical_with_its_exact_count(design, index):
    """LINEAR/CONV/MoE/ADD/POOL near (0.9x) and beyond (1.3x) the range: same bytes, profile
    words included, and the count tests/magnitude_ops.py computed in float64."""
    accel, csim = design
    case = op_cases(accel)[index]
    assert run_both(case, accel, csim) == case.expected, case.name


def test_upsample_sat_sym_count_is_byte_identical():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", [SAT_SYM_ACT])
    case = upsample_sat_sym(accel)
    assert run_both(case, accel, CsimExecutor(accel)) == case.expected > 0
