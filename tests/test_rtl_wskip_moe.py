"""Tile skipping (Flag.WSKIP) of MOE_EXPERTS on the SystemVerilog design.

Every expert's fc1 and fc2 job carries its zero-tile map (after the biases,
layout.moe_tile_map_offset) to the linear engine's skip path.  Byte-identical to golden
with 0 / 50 / 100 % zero tiles, partial tiles, several strips, an empty expert and no
residual; measured cycles follow non-zero tiles x cycles per tile + a fixed overhead
within 10 % up to 75 % skip.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import design, executor
from wskiputil import sparse_experts

from edgemoe.layout import (
    moe_tile_map_offset,
    queue_layout,
    tile_grid,
    tile_map_bytes,
    tiles_run,
    unpack_tile_map,
)
from edgemoe.perf.memory import memory_timing
from edgemoe.perf.model import model_program
from edgemoe.perf.traffic import queue_counts
from edgemoe.rtl import RtlsimExecutor

pytestmark = pytest.mark.sim

#: Formula check on ``tiny``: 16 tokens, dim 64, hidden 96 over 3 experts (two active,
#: each with every token): fc1 and fc2 are 24 x 16 and 16 x 24 tiles, one strip each of the
#: 512-tile buffer.
CYCLE_SHAPE = (16, 64, 96, 3)
#: Measured deviation from the line through the dense and the 50 % run: 2 % at 75 % skip,
#: 12 % at 90 %.  At 90 % a token keeps ~40 beats per layer, close to what its gathered row
#: costs to load (queue index, then 16 or 24 beats of the row after the memory latency), so
#: the row loader, not the MAC array, starts to set the pace; the bound there is 15 %.
FORMULA_ERROR = {0.75: 0.10, 0.9: 0.15}
#: edgemoe.perf vs cycles measured with the board's memory (the memory it models).
PERF_MODEL_ERROR = 0.1
CYCLE_SHARES = (0.0, 0.5, 0.75, 0.9)


def _cases(accel) -> list[ru.Case]:
    cases = []
    for share in (0.0, 0.5, 1.0):
        cases.append(sparse_experts(accel, 41, f"odd_{share}", 5, 13, 21, 3, share, skip=True))
    cases.append(sparse_experts(accel, 42, "strips", 4, 40, 96, 3, 0.5, skip=True))
    cases.append(sparse_experts(accel, 43, "no_residual", 5, 13, 21, 4, 0.5, skip=True,
                                top_k=1, residual=False))
    return cases


@pytest.fixture(scope="module")
def outcomes():
    return ru.run_cases(executor("tiny"), _cases(design("tiny")))


@pytest.mark.parametrize("name", [c.name for c in _cases(design("tiny"))])
def test_rtl_expert_skipping_matches_golden(outcomes, name):
    out = outcomes[name]
    assert out.golden_error == 0 and out.problems() == []



def _tile_beats(case: ru.Case) -> int:
    """Tile beats of a case: per active expert, its tokens x (fc1 + fc2 beats run)."""
    ins, img = case.program[0], case.scratch.image
    accel = case.scratch.accel
    po, pi = accel.linear_p_out, accel.linear_p_in
    bb = accel.formats.bias.storage_dtype.itemsize
    t, d, h, e = (ins.get(n) for n in ("tokens", "dim", "hidden", "experts"))
    q = ins.get("queues")
    counts = img[q:q + 4 * e].view("<u4")
    assert queue_layout(e, t)["index"] >= 4 * e
    beats = 0
    for ex in np.flatnonzero(counts).tolist():
        run = 0
        for b, n, k in (("b1", h, d), ("b2", d, h)):
            off = moe_tile_map_offset(ins.get(b), ex, e, n, k, po, pi, bb)
            nbytes = tile_map_bytes(n, k, po, pi)
            run += tiles_run(unpack_tile_map(img[off:off + nbytes], *tile_grid(n, k, po, pi)))
        beats += int(counts[ex]) * run
    return beats


@pytest.fixture(scope="module")
def measured():
    accel = design("tiny")
    t, d, h, e = CYCLE_SHAPE
    cases = [sparse_experts(accel, 51, f"s{s}", t, d, h, e, s, skip=True) for s in CYCLE_SHARES]
    cases.append(sparse_experts(accel, 51, "dense", t, d, h, e, 0.0, skip=False))
    return {c.name: c for c in cases}, ru.run_cases(executor("tiny"), cases)


def test_rtl_expert_cycles_follow_the_skip_formula(measured):
    """cycles = token tile beats x (cycles per beat) + a fixed overhead, within 10 %.

    The line through the dense and the 50 % run must predict 75 % and 90 %.
    """
    cases, outs = measured
    for out in outs.values():
        assert out.golden_error == 0 and out.problems() == []
    beats = {s: _tile_beats(cases[f"s{s}"]) for s in CYCLE_SHARES}
    cyc = {s: ru.profile_cycles(outs[f"s{s}"].rtl) for s in CYCLE_SHARES}
    per_beat = (cyc[0.0] - cyc[0.5]) / (beats[0.0] - beats[0.5])
    overhead = cyc[0.0] - beats[0.0] * per_beat
    assert 0.95 <= per_beat <= 1.2, per_beat  # one MAC cycle per token and tile beat
    for s, bound in FORMULA_ERROR.items():
        formula = beats[s] * per_beat + overhead
        assert abs(cyc[s] - formula) <= bound * cyc[s], (s, cyc[s], formula, per_beat, overhead)
    assert cyc[0.9] < 0.5 * cyc[0.0]  # the skip pays off
    # a dense map costs each job's map pass (a cycle per tile, its read): 8 % measured
    assert cyc[0.0] <= 1.1 * ru.profile_cycles(outs["dense"].rtl)


def test_performance_model_matches_the_rtl():
    """edgemoe.perf (each expert's map pass and kept tiles, read from the image) within
    10 % of the cycles measured with the board's memory (the bench's AXI RAM given its
    latency and rate, as the model assumes); without the image it models every tile."""
    accel = design("tiny")
    t, d, h, e = CYCLE_SHAPE
    mem = memory_timing(accel)
    cases = {f"s{s}": sparse_experts(accel, 51, f"s{s}", t, d, h, e, s, skip=True)
             for s in CYCLE_SHARES}
    board = ru.run_cases(RtlsimExecutor(accel, memory=mem.bench_spec()), list(cases.values()))
    for name, case in cases.items():
        ins = case.program[0]
        routing = {0: queue_counts(case.scratch.image, ins)}
        modelled = model_program(case.program, accel, routing, image=case.scratch.image,
                                 memory=mem)
        rtl = ru.profile_cycles(board[name].rtl)
        assert board[name].golden_error == 0 and board[name].problems() == []
        assert abs(modelled.ops[0].cycles - rtl) <= PERF_MODEL_ERROR * rtl, (name, modelled, rtl)
    case = cases["s0.75"]
    blind = model_program(case.program, accel, {0: queue_counts(case.scratch.image,
                                                                  case.program[0])}, memory=mem)
    assert blind.ops[0].cycles > 1.5 * ru.profile_cycles(board["s0.75"].rtl)


@pytest.mark.long
def test_pruned_m3vit_micro_byte_identical_with_golden():
    """m3vit-micro with half the MLP and expert tiles zeroed: every LINEAR and MOE_EXPERTS
    with a map runs WSKIP; the whole image (outputs, status, profile) matches golden."""
    from wskiputil import pruned_micro

    from edgemoe.compare import assert_images_equal
    from edgemoe.golden import execute
    from edgemoe.isa import Flag, Op
    from edgemoe.rtl import RtlJob

    accel = design("tiny")
    c = pruned_micro(accel)
    assert any(i.op == Op.MOE_EXPERTS and i.has(Flag.WSKIP) for i in c.instrs)
    for task in range(len(c.manifest["outputs"])):
        gold = c.fresh_image()
        assert execute(gold, accel, c.program_offset, c.n_instructions, task,
                       c.status_offset) == 0
        img = c.fresh_image()
        res = executor("tiny").run_jobs([RtlJob(img, c.program_offset, c.n_instructions, task,
                                                c.status_offset, max_cycles=2_000_000)])[0]
        assert not res.timed_out and res.error == 0
        assert_images_equal(img, gold, c.manifest, f"task {task}: rtl vs golden")
