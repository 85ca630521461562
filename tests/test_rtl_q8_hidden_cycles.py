"""A W8A8 MOE_EXPERTS with its hidden rows as int8 codes (numerics.int8.hidden_codes), on
the RTL with the board's memory: faster than with act rows, and edgemoe.perf follows it.

fc2's row loader takes a word of P_IN elements a cycle; on ``alt`` (8 x 2 tile, 128-bit
bus, a beat a cycle) a word of act elements is two beats, so act rows ran at the memory's
pace and code rows run at the loader's (four times fewer bytes).  On ``tiny`` (4 x 4) a
word of act elements is one beat already: the codes save port bytes, not cycles there.
On ``wide`` (8 x 8, a two-step epilogue) fc1's writer codes 4 lanes a cycle, a word in two
cycles: the experts stay byte-identical to golden there too.
"""

from __future__ import annotations

import pytest
import rtlutil as ru
from q8moe import q8_experts
from rtldesigns import board_executor, design, executor

from edgemoe.perf.model import model_program
from edgemoe.perf.traffic import queue_counts

pytestmark = pytest.mark.sim

#: (tokens, dim, hidden, experts, top_k) -> cycles of the MOE_EXPERTS with act hidden rows
#: (MEASURED RTL, ``alt`` on the board's memory, commit 5285a6f, seeds 30 + position)
ALT_BEFORE = {(16, 4, 96, 2, 1): 2010, (16, 8, 96, 3, 2): 4264, (16, 16, 64, 3, 2): 3831,
              (16, 8, 48, 4, 2): 3319}
#: shapes for the model check on ``tiny`` (fc1 and fc2 from 8 to 96 wide, 1 to 3 experts)
TINY = [(16, 8, 96, 2, 1), (16, 16, 64, 3, 2), (16, 32, 96, 4, 2), (12, 64, 48, 3, 2)]
#: edgemoe.perf vs the RTL (the bound of tests/test_perf_model.py)
PERF_MODEL_ERROR = 0.05
#: ``alt``: the model is 6-8 % under the RTL with act rows too (before this change, same
#: shapes): its W8A8 token pace with 48 output tiles of 2 lanes is not modelled closer yet
ALT_MODEL_ERROR = 0.10
#: ``wide``: (seed, t, d, h, e, top_k, x_range, calib, h_calib, w_gain): several experts and
#: strips, clamped fc1 inputs and hidden codes, act overflows in fc1, GELU and fc2
WIDE = [(11, 7, 12, 20, 4, 2, 2.0, None, None, 1.0), (13, 9, 32, 96, 4, 2, 2.0, None, None, 1.0),
        (14, 6, 8, 12, 3, 2, 3.0, 1.5, 0.5, 1.0), (15, 5, 8, 16, 3, 1, 4.0, None, None, 300.0)]


def _cases(name: str, shapes) -> list[ru.Case]:
    accel = design(name)
    out = []
    for i, (t, d, h, e, k) in enumerate(shapes):
        c = q8_experts(accel, 30 + i, t, d, h, e, k)
        out.append(ru.Case("x".join(map(str, (t, d, h, e, k))), c.scratch, [c.ins]))
    return out


@pytest.fixture(scope="module")
def measured():
    runs = {}
    for name, shapes in (("alt", list(ALT_BEFORE)), ("tiny", TINY)):
        cases = _cases(name, shapes)
        runs[name] = ({c.name: c for c in cases}, ru.run_cases(board_executor(name)[0], cases))
    return runs


def _model(measured, name: str, shape) -> tuple[float, int]:
    cases, outs = measured[name]
    key = "x".join(map(str, shape))
    prog, img = cases[key].program, outs[key].rtl
    mem = board_executor(name)[1]
    modelled = model_program(prog, design(name), {0: queue_counts(img, prog[0])}, memory=mem)
    return modelled.ops[0].cycles, ru.profile_cycles(img, 0)


def test_cases_are_bit_exact(measured):
    for _, outs in measured.values():
        for out in outs.values():
            assert out.golden_error == 0 and out.problems() == []


@pytest.mark.parametrize("shape", list(ALT_BEFORE))
def test_code_rows_are_faster_on_the_rtl(measured, shape):
    modelled, rtl = _model(measured, "alt", shape)
    assert rtl < ALT_BEFORE[shape], (rtl, ALT_BEFORE[shape])
    assert abs(modelled - rtl) <= ALT_MODEL_ERROR * rtl, (modelled, rtl)


@pytest.mark.parametrize("shape", TINY)
def test_experts_model_matches_the_rtl(measured, shape):
    modelled, rtl = _model(measured, "tiny", shape)
    assert abs(modelled - rtl) <= PERF_MODEL_ERROR * rtl, (modelled, rtl)


def test_two_step_writer_codes_match_golden():
    accel = design("wide")
    made = [(c[0], q8_experts(accel, *c)) for c in WIDE]
    cases = [ru.Case(f"wide{seed}", m.scratch, [m.ins]) for seed, m in made]
    for name, out in ru.run_cases(executor("wide"), cases).items():
        assert out.golden_error == 0 and out.problems() == [], name
