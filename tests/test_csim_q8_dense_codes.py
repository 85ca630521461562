"""A W8A8 dense MLP with int8 hidden code rows (isa.pack_linear_q8): C-sim == golden byte
for byte, profile words included (clamped codes, act overflows, gathered rows, ReLU, a
code-to-code middle layer, a dynamic count; tests/test_golden_q8_dense_codes.py checks
golden against numerics), on tiny and on a saturating 24-bit act variant.  The same for a
qkv-like LINEAR whose codes have a multiplier per column part (tests/q8codes.py: three
multipliers, odd part widths, two strips; tests/test_golden_q8_code_muls.py)."""

from __future__ import annotations

import numpy as np
import pytest
from q8codes import CASES as CODES_CASES
from q8codes import qkv_linear
from q8mlp import q8_mlp
from test_csim_q8 import VARIANT
from test_golden_q8_dense_codes import CASES

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute
from edgemoe.isa import encode_bytes
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module", params=["tiny", "variant"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT if request.param == "variant" else ())
    return accel, CsimExecutor(accel)


def _csim_equals_golden(accel, csim, case, written: int) -> None:
    s, n = case.scratch, len(case.program)
    code = encode_bytes(case.program)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, n, 0, 0)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    keep = ~volatile_mask(gold.size, 0, n)
    assert (gold[keep] == sim[keep]).all(), np.flatnonzero(gold[keep] != sim[keep])[:8]
    assert (gold[written:written + 8] != 0x5A).any()  # codes were written


@pytest.mark.parametrize("name", list(CASES))
def test_dense_codes_csim_equal_golden(design, name):
    accel, csim = design
    case = q8_mlp(accel, **CASES[name])
    _csim_equals_golden(accel, csim, case, case.hidden[0])


@pytest.mark.parametrize("name", list(CODES_CASES))
def test_code_muls_csim_equal_golden(design, name):
    accel, csim = design
    case = qkv_linear(accel, **CODES_CASES[name])
    _csim_equals_golden(accel, csim, case, case.dst)
