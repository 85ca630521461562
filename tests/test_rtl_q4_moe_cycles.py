"""Cycles of mixed int8/int4 MOE_EXPERTS (Flag.WFMT_Q4) on the RTL with the board memory
(sim/memory_model.py: zcu102's read latency and port rate) against the cycle model
(edgemoe.perf.moe with edgemoe.perf.q4's strip loads), within the bound the mixed LINEAR's
cycle test uses (tests/test_rtl_q4_cycles.py).  The run is byte-identical with golden.

Each active expert's fc1 and fc2 load their strips through edgemoe_lin_q4 (one int4
weight a cycle, nothing prefetched), after the dispatcher has checked every expert's two
channel_index lists, so the mixed call takes longer than the same experts at W8A8.
"""

from __future__ import annotations

import pytest
import rtlutil as ru
from q4moe import q4_experts
from rtldesigns import design
from test_rtl_q4_cycles import PERF_MODEL_ERROR

from edgemoe.numerics import int4
from edgemoe.perf import memory_timing
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.sim

#: tokens, dim, hidden, experts (the last one empty), int8 share, group
SHAPE = (8, 32, 64, 4, 0.1, 16)



@pytest.fixture(scope="module")
def measured():
    from edgemoe.rtl import RtlsimExecutor

    accel = design("tiny")
    t, d, h, e, high, group = SHAPE
    case = q4_experts(accel, 71, t, d, h, e, 2, high, group, image=ru.IMAGE_BYTES)
    q = case.ins.get("queues")
    counts = [int(v) for v in case.scratch.image[q:q + 4 * e].view("<u4")]
    run = ru.Case("q4moe", case.scratch, [case.ins])
    board = RtlsimExecutor(accel, memory=memory_timing(accel).bench_spec())
    return run, counts, ru.run_cases(board, [run])["q4moe"]


def test_mixed_experts_on_the_board_memory_equal_golden(measured):
    _, counts, out = measured
    assert out.golden_error == 0 and out.problems() == []
    assert counts[-1] == 0 and sum(counts) == 2 * SHAPE[0]  # top-2, the last expert empty


def test_performance_model_matches_the_rtl(measured):
    run, counts, out = measured
    accel = design("tiny")
    model = model_program(run.program, accel, routing={0: counts}).ops[0]
    rtl = ru.profile_cycles(out.rtl)
    assert abs(model.cycles - rtl) <= PERF_MODEL_ERROR * rtl, (model.cycles, rtl)
    # the loader's pace: at least one cycle per int4 weight of every active expert
    _, d, h, _, _, _ = SHAPE
    high1, high2, _ = int4.unpack_moe_split(run.program[0].get("q4_split"))
    low = (h - high1) * d + (d - high2) * h
    assert rtl > sum(c > 0 for c in counts) * low, rtl
