"""Mixed int8/int4 MOE_EXPERTS (Flag.WFMT_Q4) on the SystemVerilog: RTL == golden.

Every active expert's fc1 and fc2 run as mixed layers on the linear engine's strip loader
(edgemoe_lin_q4) with that expert's weights, biases, multipliers and channel_index
(edgemoe_moe_q4 gives the strides and the W8A8 word at the end of b1).  The whole image
(outputs, scratch, status and profile words) equals golden's at tiny's 4x4 tile and alt's
8x2 (tests/rtldesigns.py): all-int8, all-int4 and mixed experts, top-1 and top-2 with
shared tokens, an empty expert in every case and a call with no routed token, groups of 16
and 32 and one per row, dim / hidden not a multiple of the group, no residual; a repeated
or out-of-range channel_index entry of any expert's list (BAD_QUEUE, nothing written), a
dq_shift word past its limit (BAD_SHAPE), and WSKIP with WFMT_Q4 (refused by both).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q4moe import q4_experts
from rtldesigns import (
    SETTINGS,
    assert_program_rtl_equals_golden,
    design,
    outcomes_per_setting,
)

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics import int4

pytestmark = pytest.mark.sim


#: (name, seed, t, d, h, e, top_k, int8 fraction, group, residual); expert e - 1 is empty
RUNS = [
    ("q4moe_mixed_k_not_group", 1, 7, 20, 24, 4, 2, 0.1, 16, True),
    ("q4moe_all_int4_top1", 2, 3, 12, 36, 3, 1, 0.0, 16, False),
    ("q4moe_all_int8_row_group", 3, 5, 16, 40, 3, 2, 1.0, 1024, True),
    ("q4moe_group32", 4, 4, 40, 32, 3, 2, 0.25, 32, True),
    ("q4moe_row_group_mixed", 5, 4, 12, 20, 3, 2, 0.3, 1024, False),
]


def _case(accel, seed: int, t: int, d: int, h: int, e: int, top_k: int = 2,
          high: float = 0.1, group: int = 16, residual: bool = True):
    return q4_experts(accel, seed, t, d, h, e, top_k, high, group, residual=residual,
                      image=ru.IMAGE_BYTES)


def _put_u32(image: np.ndarray, off: int, value: int) -> None:
    image[off:off + 4] = np.frombuffer(np.uint32(value).tobytes(), np.uint8)


def _bad_index(accel, name: str, second: bool, expert: int, value: int | None) -> ru.Case:
    """Entry 1 of an expert's fc1 (fc2 with ``second``) channel_index list made a repeat of
    entry 0 (value None) or ``value``: BAD_QUEUE before anything is written."""
    c = _case(accel, 6, 4, 12, 20, 3, high=0.2)
    g = c.ins.get
    po, bb = accel.linear_p_out, accel.formats.bias.storage_dtype.itemsize
    b, n = (g("b2"), 12) if second else (g("b1"), 20)
    off = int4.moe_index_offset(b, expert, 3, n, po, bb)
    img = c.scratch.image
    if value is None:
        img[off + 4:off + 8] = img[off:off + 4]
    else:
        _put_u32(img, off + 4, value)
    return ru.Case(name, c.scratch, [c.ins])


def _bad_word(accel) -> ru.Case:
    """The W8A8 word at the end of b1 with dq_shift 25 (> DQ_SHIFT_MAX): BAD_SHAPE."""
    c = _case(accel, 7, 4, 12, 20, 3)
    g = c.ins.get
    po, bb = accel.linear_p_out, accel.formats.bias.storage_dtype.itemsize
    off = int4.moe_q8_word_offset(g("b1"), 3, 20, po, bb)
    word = int(np.frombuffer(c.scratch.image[off:off + 4].tobytes(), "<u4")[0])
    _put_u32(c.scratch.image, off, (word & ~31) | 25)
    return ru.Case("q4moe_bad_dq_word", c.scratch, [c.ins])


def _no_tokens(accel) -> ru.Case:
    """Every queue empty: dst = the residual, but every list is still checked."""
    c = _case(accel, 8, 4, 12, 20, 3)
    q = c.ins.get("queues")
    c.scratch.image[q:q + 4 * 3] = 0
    return ru.Case("q4moe_no_tokens", c.scratch, [c.ins])


def _with_wskip(accel) -> ru.Case:
    c = _case(accel, 9, 4, 12, 20, 3)
    ins = Instr.make(Op.MOE_EXPERTS, c.ins.flags | Flag.WSKIP, **c.ins.named())
    return ru.Case("q4moe_wskip_refused", c.scratch, [ins])


def _cases(accel) -> list[ru.Case]:
    cases = []
    for name, seed, t, d, h, e, top_k, high, group, residual in RUNS:
        c = _case(accel, seed, t, d, h, e, top_k, high, group, residual)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    return cases + [_no_tokens(accel),
                    _bad_index(accel, "q4moe_index_fc1_repeated", False, 1, None),
                    _bad_index(accel, "q4moe_index_fc2_empty_expert_out_of_range", True, 2,
                               12),
                    _bad_word(accel), _with_wskip(accel)]


#: The status each case must end with on golden (the case is what its name says).
EXPECTED = {"q4moe_index_fc1_repeated": Err.BAD_QUEUE,
            "q4moe_index_fc2_empty_expert_out_of_range": Err.BAD_QUEUE,
            "q4moe_bad_dq_word": Err.BAD_SHAPE, "q4moe_wskip_refused": Err.BAD_SHAPE}
CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return outcomes_per_setting(_cases)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_q4_experts_rtl_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == EXPECTED.get(name, Err.OK), "the case must be what it says"
    assert out.problems() == [], f"{setting}/{name}"
    dst = out.case.program[0].get("dst")
    changed = (out.rtl[dst:dst + 64] != 0xA5).any()  # q4moe fills dst with 0xA5
    assert changed == (out.golden_error == Err.OK)


@pytest.mark.long
def test_q4_m3vit_micro_backbone_with_mixed_experts_rtl_equals_golden(tmp_path):
    """m3vit-micro's backbone with a 10% precision map over every LINEAR and the experts
    (mixed LINEARs and mixed MOE_EXPERTS, groups of 32): the whole image equal to golden
    on task 1."""
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
    path = write_precision_map(tmp_path / "map.json", _map(model, weights))
    mixed, int8 = apply_precision_map(path, model, weights, ranges, int8_rest=False)
    c = compile_model(model, accel, weights, heads=False, int8=int8, mixed=mixed)
    assert any(ins.has(Flag.WFMT_Q4) for ins in c.instrs if ins.op == Op.MOE_EXPERTS)
    assert_program_rtl_equals_golden(c, pixels, 1, "m3vit-micro mixed experts RTL vs golden",
                                     6_000_000)
