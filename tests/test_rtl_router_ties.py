"""RTL router top-k on tied logits: equal logits go to the lower expert index.

The router keeps its top-k by insertion, one expert per softmax step (edgemoe_router.sv):
an expert goes after every kept logit greater than or equal to its own.  Random gates
almost never tie, so these cases give experts identical gate weights (identical logits for
every token) and compare the queues with golden byte for byte, on ``tiny`` (one logit word
per token) and ``alt`` (two words per token).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import design, executor

from edgemoe.layout import pack_tiled

pytestmark = pytest.mark.sim

#: name -> (tokens, experts, top_k, {twin: expert whose gate weights it copies}, all zero)
CASES = {"three_way_tie_top2": (9, 4, 2, {2: 1, 3: 1}, False),
         "pairs_tie_top2": (16, 4, 2, {2: 0, 3: 1}, False),
         "tie_top1_three_experts": (7, 3, 1, {2: 1}, False),
         "all_logits_zero": (5, 4, 2, {}, True)}


def _gate(accel, rng, name: str, t: int, e: int, k: int, twins: dict, zero: bool) -> ru.Case:
    """MOE_GATE alone, its gate weights (both task slices) rewritten with the twins."""
    case = ru.moe(accel, rng, name, t, 16, e, 8, k)
    case.program = case.program[:1]
    ins = case.program[0]
    lw = accel.formats.linear_weight
    w = lw.quantize(rng.uniform(-1, 1, (e, 16)))
    for twin, expert in twins.items():
        w[twin] = w[expert]
    if zero:
        w[:] = 0
    packed = pack_tiled(w, accel.linear_p_out, accel.linear_p_in)
    packed = packed.astype(lw.storage_dtype).view(np.uint8)
    for task in range(2):
        at = ins.get("w_gate") + task * ins.get("task_stride")
        case.scratch.image[at:at + packed.size] = packed
    return case


@pytest.fixture(scope="module", params=["tiny", "alt"])
def outcomes(request):
    accel = design(request.param)
    rng = np.random.default_rng(3)
    cases = [_gate(accel, rng, name, *spec) for name, spec in CASES.items()]
    return ru.run_cases(executor(request.param), cases)


def _counts(out: ru.Outcome, e: int) -> np.ndarray:
    q = out.case.program[0].get("queues")
    return out.rtl[q:q + 4 * e].view("<u4")


@pytest.mark.parametrize("name", list(CASES))
def test_tied_logits_match_golden(outcomes, name):
    out = outcomes[name]
    assert out.golden_error == 0 and out.problems() == []


def test_a_tie_goes_to_the_lower_index(outcomes):
    # experts 1, 2, 3 tie: top-2 is {1, 2} or {0, 1}, never expert 3
    counts = _counts(outcomes["three_way_tie_top2"], 4)
    assert counts[3] == 0 and counts[1] == 9 and counts.sum() == 18
    # expert 2 ties expert 1 and loses every time
    counts = _counts(outcomes["tie_top1_three_experts"], 3)
    assert counts[2] == 0 and counts.sum() == 7
    # all equal: experts 0 and 1 for every token
    assert list(_counts(outcomes["all_logits_zero"], 4)) == [5, 5, 0, 0]
