"""Mixed int4/int8 LINEAR (Flag.WFMT_Q4) on the SystemVerilog engine: RTL == golden.

The whole image (outputs, status and profile words) equals golden's, at tiny's 4x4 tile and
alt's 8x2 (tests/rtldesigns.py): all-int8, all-int4 and mixed layers with K not a multiple
of the tile or the group, one group per row (zero points two a byte), several weight strips, GELU / RESIDUAL / ReLU / BFMT_ATTN
composition, DYN_COUNT, clamped inputs chained into a W16 layer, and bad channel_index
lists (BAD_QUEUE, also when no token runs).  The cases are tests/test_csim_int4.py's (golden == C-sim) where they fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q4util import clamped_chain, mixed_linear
from rtldesigns import (
    SETTINGS,
    assert_program_rtl_equals_golden,
    design,
    outcomes_per_setting,
)

from edgemoe.isa import Flag, Instr, Op
from edgemoe.numerics.int4 import ROW_GROUP

pytestmark = pytest.mark.sim


#: (name, seed, t, n, k, group, high fraction, flags, x range)
SINGLES = [
    ("q4_k_not_tile_or_group", 1, 5, 12, 21, 8, 0.25, 0, 2.0),
    ("q4_one_by_one", 2, 1, 1, 1, 32, 0.0, 0, 2.0),
    ("q4_gelu_strips", 3, 3, 96, 200, 32, 0.1, Flag.GELU, 2.0),
    ("q4_relu_attnbias", 4, 6, 40, 100, 32, 0.1, Flag.RELU | Flag.BFMT_ATTN, 2.0),
    ("q4_all_int8", 5, 4, 16, 48, 16, 1.0, 0, 2.0),
    ("q4_all_int4", 6, 4, 16, 48, 16, 0.0, 0, 2.0),
    ("q4_group_one", 7, 2, 9, 10, 1, 0.3, 0, 2.0),
    # one group per row (zero points two a byte): odd K, int4 rows not a multiple of P_OUT
    ("q4_row_group", 8, 3, 13, 37, ROW_GROUP, 0.2, 0, 2.0),
]


def _residual(accel, seed: int) -> ru.Case:
    """RESIDUAL: dst = the mixed layer + the row read back from dst itself (an alias)."""
    case = mixed_linear(accel, seed, 3, 10, 36, 0.2, 8)
    s = case.scratch
    rng = np.random.default_rng(seed)
    act = accel.formats.act
    raw = act.quantize(rng.uniform(-2, 2, case.t * case.n))
    dst = case.dst
    s.image[dst:dst + raw.size * act.storage_dtype.itemsize] = np.frombuffer(
        raw.astype(act.storage_dtype).tobytes(), np.uint8)
    ins = Instr.make(Op.LINEAR, case.ins.flags | Flag.RESIDUAL,
                     **{**case.ins.named(), "residual": dst})
    return ru.Case("q4_residual", s, [ins])


def _clamped_chain(accel) -> ru.Case:
    """q4util.clamped_chain: clamped inputs, then a W16 LINEAR on the mixed output."""
    return ru.Case("q4_clamped_then_w16", *clamped_chain(accel))


def _dyn_count(accel, name: str, count: int, repeat: bool = False) -> ru.Case:
    """DYN_COUNT: ``count`` of the 5 tokens run; with ``repeat`` a bad channel_index, which
    golden refuses even when no token runs (BAD_QUEUE)."""
    case = mixed_linear(accel, 10, 5, 10, 20, 0.2, 8)
    s = case.scratch
    if repeat:
        off = case.ins.get("channel_index")
        s.image[off + 4:off + 8] = s.image[off:off + 4]
    cnt = s.put(np.array([count], "<u4"))
    ins = Instr.make(Op.LINEAR, case.ins.flags | Flag.DYN_COUNT,
                     **{**case.ins.named(), "count": cnt})
    return ru.Case(name, s, [ins])


def _bad_index(accel, name: str, value: int | None) -> ru.Case:
    """channel_index with entry 1 a repeat of entry 0 (value None) or out of range:
    BAD_QUEUE, nothing written, the same status words."""
    case = mixed_linear(accel, 2, 2, 8, 16)
    s = case.scratch
    off = case.ins.get("channel_index")
    if value is None:
        s.image[off + 4:off + 8] = s.image[off:off + 4]
    else:
        s.image[off + 4:off + 8] = np.frombuffer(np.uint32(value).tobytes(), np.uint8)
    return ru.Case(name, s, [case.ins])


def _cases(accel) -> list[ru.Case]:
    cases = []
    for name, seed, t, n, k, group, high, flags, x_range in SINGLES:
        c = mixed_linear(accel, seed, t, n, k, high, group, flags, x_range)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    cases += [_residual(accel, 9), _clamped_chain(accel), _dyn_count(accel, "q4_dyn_count", 3),
              _dyn_count(accel, "q4_index_repeated_no_token", 0, repeat=True),
              _bad_index(accel, "q4_index_repeated", None),
              _bad_index(accel, "q4_index_out_of_range", 8)]
    return cases


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return outcomes_per_setting(_cases)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_q4_rtl_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    expect_error = name.startswith("q4_index_")
    assert (out.golden_error != 0) == expect_error, "the case itself must be what it says"
    assert out.problems() == [], f"{setting}/{name}"


@pytest.mark.long
def test_q4_m3vit_micro_backbone_rtl_equals_golden(tmp_path):
    """m3vit-micro's backbone with a 10% precision map over its attention and dense-MLP
    LINEARs (mixed; the rest W16A32; with the experts mapped too: test_rtl_q4_moe.py's long
    test): the whole image equal to golden on task 1."""
    from test_compiler_mixed import _map

    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import linear_input_ranges
    from edgemoe.compiler.mixed import apply_precision_map
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model
    from edgemoe.seeds.precision_map import write_precision_map

    model, accel = load_model("m3vit-micro"), design("tiny")
    weights = random_weights(model, 1)
    pixels = load_default_image(model)
    ranges = linear_input_ranges(model, weights, [pixels])
    path = write_precision_map(tmp_path / "map.json", _map(model, weights, experts=False))
    mixed, int8 = apply_precision_map(path, model, weights, ranges, int8_rest=False)
    c = compile_model(model, accel, weights, heads=False, int8=int8, mixed=mixed)
    assert sum(ins.has(Flag.WFMT_Q4) for ins in c.instrs) >= 4
    assert_program_rtl_equals_golden(c, pixels, 1, "m3vit-micro mixed RTL vs golden",
                                     4_000_000)
