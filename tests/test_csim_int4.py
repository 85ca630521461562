"""Mixed int4/int8 LINEAR and MOE_EXPERTS (Flag.WFMT_Q4): C-sim matches golden byte for
byte, profile words included, at two tile shapes (tiny's 4x4 and an 8x2 variant), and on
m3vit-micro with a precision map (mixed LINEARs and experts).  Accuracy against float:
tests/test_golden_int4.py, test_golden_int4_moe.py."""

from __future__ import annotations

import numpy as np
import pytest
from q4moe import q4_experts
from q4util import clamped_chain, mixed_linear

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute
from edgemoe.isa import Err, Flag, Op, encode_bytes
from edgemoe.numerics.int4 import ROW_GROUP
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

#: another tile shape: 8 output lanes x 2 inputs (tiny: 4 x 4)
TILE_8X2 = ("linear_p_out=8", "linear_p_in=2")


@pytest.fixture(scope="module", params=["tiny", "tile8x2"])
def design(request):
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", TILE_8X2 if request.param == "tile8x2" else ())
    return accel, CsimExecutor(accel)


def _run_both(accel, csim, s, prog, expect=Err.OK) -> np.ndarray:
    code = encode_bytes(prog)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    args = (s.program, len(prog), 0, 0)
    assert execute(gold, accel, *args) == expect
    assert csim.execute(sim, *args) == expect
    keep = ~volatile_mask(gold.size, 0, len(prog))
    assert (gold[keep] == sim[keep]).all()
    return gold


CASES = [
    # (seed, t, n, k, group, high, flags, x_range)
    (1, 5, 12, 20, 8, 0.25, 0, 2.0),  # K not a multiple of the tile or the group
    (2, 1, 1, 1, 32, 0.0, 0, 2.0),
    (3, 3, 96, 768, 32, 0.1, Flag.GELU, 2.0),  # several weight chunks (ping/pong)
    (4, 6, 40, 100, 32, 0.1, Flag.RELU | Flag.BFMT_ATTN, 2.0),
    (5, 4, 16, 48, 16, 1.0, 0, 2.0),  # every row int8
    (6, 4, 16, 48, 16, 0.0, 0, 2.0),  # every row int4
    (7, 4, 8, 64, 32, 0.1, 0, 2.0),
    # one group per row (zero points two a byte): odd K, int4 rows not a multiple of P_OUT
    (8, 3, 13, 37, ROW_GROUP, 0.2, Flag.RELU, 2.0),
    (9, 2, 30, 95, ROW_GROUP, 0.1, 0, 2.0),
]


@pytest.mark.parametrize("seed,t,n,k,group,high,flags,x_range", CASES)
def test_mixed_linear_csim_equals_golden(design, seed, t, n, k, group, high, flags, x_range):
    accel, csim = design
    case = mixed_linear(accel, seed, t, n, k, high, group, flags, x_range)
    gold = _run_both(accel, csim, case.scratch, [case.ins])
    assert (gold != case.scratch.image).any()


def test_mixed_clamps_and_chains_into_a_w16_layer(design):
    """Inputs past the calibrated range (x_mul doubled: clamps counted alike), then a W16
    LINEAR that reads the mixed layer's output (the engine preloads its weights)."""
    accel, csim = design
    s, prog = clamped_chain(accel)
    gold = _run_both(accel, csim, s, prog)
    assert (gold != s.image).any()


def test_bad_channel_index_is_the_same_error(design):
    accel, csim = design
    case = mixed_linear(accel, 2, 2, 8, 16)
    off = case.ins.get("channel_index")
    case.scratch.image[off + 4:off + 8] = case.scratch.image[off:off + 4]  # a repeat
    _run_both(accel, csim, case.scratch, [case.ins], expect=Err.BAD_QUEUE)


def test_mixed_m3vit_micro_csim_equals_golden(tmp_path):
    """m3vit-micro's backbone with a 10% precision map: the whole image equal."""
    from test_compiler_mixed import _map

    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import linear_input_ranges
    from edgemoe.compiler.io import write_pixels
    from edgemoe.compiler.mixed import apply_precision_map
    from edgemoe.flow.csim import CsimExecutor
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model
    from edgemoe.seeds.precision_map import write_precision_map

    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, [load_default_image(model)])
    path = write_precision_map(tmp_path / "map.json", _map(model, weights))
    mixed, int8 = apply_precision_map(path, model, weights, ranges, int8_rest=False)
    c = compile_model(model, accel, weights, heads=False, int8=int8, mixed=mixed)
    assert any(ins.has(Flag.WFMT_Q4) for ins in c.instrs if ins.op == Op.LINEAR)
    assert any(ins.has(Flag.WFMT_Q4) for ins in c.instrs if ins.op == Op.MOE_EXPERTS)
    gold, sim = c.fresh_image(), c.fresh_image()
    for image in (gold, sim):
        write_pixels(image, c.manifest, load_default_image(model))
    args = (c.program_offset, c.n_instructions, 1, c.status_offset)
    assert execute(gold, accel, *args) == 0
    assert CsimExecutor(accel).execute(sim, *args) == 0
    assert_images_equal(gold, sim, c.manifest, "m3vit-micro mixed golden vs C-sim")


MOE_CASES = [
    # (seed, t, d, h, e, top_k, high, group, residual); expert e - 1 is always empty
    (1, 7, 20, 24, 4, 2, 0.1, 16, True),  # dim not a multiple of the group or the tile
    (2, 3, 12, 36, 3, 1, 0.0, 16, False),  # every row int4
    (3, 5, 16, 40, 3, 2, 1.0, 1024, True),  # every row int8; one group per row
    (5, 6, 21, 27, 3, 2, 0.1, ROW_GROUP, False),  # one group per row, odd K, int4 rows
]


@pytest.mark.parametrize("seed,t,d,h,e,top_k,high,group,residual", MOE_CASES)
def test_mixed_experts_csim_equals_golden(design, seed, t, d, h, e, top_k, high, group,
                                          residual):
    accel, csim = design
    case = q4_experts(accel, seed, t, d, h, e, top_k, high, group, residual=residual)
    gold = _run_both(accel, csim, case.scratch, [case.ins])
    assert (gold != case.scratch.image).any()


def test_mixed_experts_errors_are_the_same(design):
    """A repeated channel_index entry (BAD_QUEUE), then a dq_shift word past its limit
    (BAD_SHAPE): both found before anything is written."""
    from edgemoe.numerics import int4

    accel, csim = design
    case = q4_experts(accel, 4, 4, 12, 20, 3)
    s, g = case.scratch, case.ins.get
    po, bb = accel.linear_p_out, accel.formats.bias.storage_dtype.itemsize
    off = int4.moe_index_offset(g("b1"), 1, 3, 20, po, bb)
    saved = s.image[off:off + 8].copy()
    s.image[off + 4:off + 8] = s.image[off:off + 4]
    _run_both(accel, csim, s, [case.ins], expect=Err.BAD_QUEUE)
    s.image[off:off + 8] = saved
    word = int4.moe_q8_word_offset(g("b1"), 3, 20, po, bb)
    s.image[word:word + 4] = np.frombuffer(np.uint32(31).tobytes(), np.uint8)
    _run_both(accel, csim, s, [case.ins], expect=Err.BAD_SHAPE)
