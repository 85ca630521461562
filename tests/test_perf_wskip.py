"""The performance model of a WSKIP LINEAR: zero tiles are neither fetched nor computed."""

from __future__ import annotations

import pytest

from edgemoe.isa import Flag, Instr, Op
from edgemoe.params import load_accel
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.unit


def _linear(n: int, k: int, tiles_run: int | None, t: int = 32) -> Instr:
    skip = {} if tiles_run is None else {"tile_map": 5 << 20, "tiles_run": tiles_run}
    return Instr.make(Op.LINEAR, Flag.WSKIP if skip else 0, tokens=t, out_features=n,
                      in_features=k, src=0, dst=1 << 20, weights=2 << 20, bias=3 << 20, **skip)


def test_zero_tiles_are_not_fetched():
    accel = load_accel("tiny")
    n, k = 64, 128  # 16 x 32 tiles of 4x4, 32 bytes each
    dense = model_program([_linear(n, k, None)], accel).ops[0]
    for kept in (512, 256, 52):
        op = model_program([_linear(n, k, kept)], accel).ops[0]
        assert op.traffic.weight_bytes == kept * 32 + n * 2  # kept tiles and the biases
        # the map (512 bits) is read on top of the input rows
        assert op.traffic.read_bytes - op.traffic.weight_bytes == \
            dense.traffic.read_bytes - dense.traffic.weight_bytes + 512 // 8
    assert dense.traffic.weight_bytes == 512 * 32 + n * 2


def test_modelled_cycles_fall_with_the_tiles_run():
    """MAC-bound shape (see test_rtl_wskip): cycles ~ tiles x tokens + a fixed overhead."""
    accel = load_accel("tiny")
    c = {kept: model_program([_linear(64, 128, kept)], accel).ops[0].cycles
         for kept in (512, 256, 128)}
    per_tile = (c[512] - c[256]) / 256
    assert 32 <= per_tile <= 34  # one MAC cycle per token, about one fetch cycle
    assert abs(c[128] - (c[256] - 128 * per_tile)) <= 0.1 * c[128]  # the formula's 10 %



def test_compile_perf_models_the_experts_skipped_tiles():
    """`compile --perf` (perf.report.model_tasks) reads the experts' maps from the image:
    half-zeroed expert tiles cost fewer modelled MOE_EXPERTS cycles than the same weights
    compiled dense (the same routing: the zeroed weights are in both)."""
    from wskiputil import pruned_micro

    from edgemoe.perf.report import model_tasks

    accel = load_accel("tiny")
    cycles = {}
    for skip in (True, False):
        c = pruned_micro(accel, tile_skip=skip)
        assert any(i.op == Op.MOE_EXPERTS and i.flags & Flag.WSKIP for i in c.instrs) == skip
        pm = model_tasks(accel, c.instrs, c.fresh_image(), c.program_offset, c.status_offset,
                         c.manifest["tasks"])["seg"]
        cycles[skip] = sum(o.cycles for o in pm.ops if o.op == "MOE_EXPERTS")
    assert cycles[True] < 0.85 * cycles[False], cycles
