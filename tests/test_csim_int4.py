"""Mixed int4/int8 LINEAR (Flag.WFMT_Q4): C-sim matches golden byte for byte, profile words
included, at two tile shapes (tiny's 4x4 and an 8x2 variant), and on m3vit-micro with a
precision map.  Accuracy against float: tests/test_golden_int4.py."""

from __future__ import annotations

import numpy as np
import pytest
from q4util import mixed_linear

from edgemoe.compare import volatile_mask
from edgemoe.golden import execute
from edgemoe.isa import Err, Flag, Instr, Op, encode_bytes
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
    f = accel.formats
    case = mixed_linear(accel, 8, 4, 12, 24, 0.25, 8)
    s = case.scratch
    clamp = Instr.make(Op.LINEAR, case.ins.flags, **{**case.ins.named(),
                                                     "x_mul": 2 * case.ins.get("x_mul")})
    po, pi = accel.linear_p_out, accel.linear_p_in
    rng = np.random.default_rng(8)
    w16 = f.linear_weight.quantize(rng.normal(0, 0.3, (-(-6 // po) * po, -(-12 // pi) * pi)))
    from edgemoe.layout import pack_tiled

    nxt = Instr.make(Op.LINEAR, 0, tokens=4, out_features=6, in_features=12, src=case.dst,
                     dst=s.put(np.zeros(4 * 6 * 4, np.uint8)),
                     weights=s.put_raw(pack_tiled(w16[:6, :12], po, pi), f.linear_weight),
                     bias=s.put_raw(np.zeros(-(-6 // po) * po, np.int64), f.bias))
    gold = _run_both(accel, csim, s, [clamp, nxt])
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
    assert any(ins.has(Flag.WFMT_Q4) for ins in c.instrs)
    gold, sim = c.fresh_image(), c.fresh_image()
    for image in (gold, sim):
        write_pixels(image, c.manifest, load_default_image(model))
    args = (c.program_offset, c.n_instructions, 1, c.status_offset)
    assert execute(gold, accel, *args) == 0
    assert CsimExecutor(accel).execute(sim, *args) == 0
    assert_images_equal(gold, sim, c.manifest, "m3vit-micro mixed golden vs C-sim")
