"""The SystemVerilog does not build mixed experts (MOE_EXPERTS with Flag.WFMT_Q4,
isa.FLAGS_NOT_BUILT["sv"]): it refuses the instruction with BAD_FLAGS and writes nothing,
where golden (and the C-sim) run it."""

from __future__ import annotations

import pytest
import rtlutil as ru
from q4moe import q4_experts
from rtldesigns import design, executor

from edgemoe.isa import FLAGS_NOT_BUILT, Err, Flag, Op

pytestmark = pytest.mark.sim


def test_sv_refuses_mixed_experts_with_bad_flags():
    accel = design("tiny")
    assert FLAGS_NOT_BUILT["sv"][Op.MOE_EXPERTS] & Flag.WFMT_Q4
    case = q4_experts(accel, 11, t=4, d=12, h=20, e=3, image=ru.IMAGE_BYTES)
    before = case.scratch.image.copy()
    run = ru.Case("q4_experts", case.scratch, [case.ins])
    out = ru.run_cases(executor("tiny"), [run], max_cycles=20_000)["q4_experts"]
    assert out.golden_error == Err.OK
    assert out.rtl_error == Err.BAD_FLAGS and not out.timed_out
    dst = case.ins.get("dst")
    assert (out.rtl[dst:dst + 4 * 12 * 4] == before[dst:dst + 4 * 12 * 4]).all()
