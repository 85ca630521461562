"""Tile skipping (Flag.WSKIP) on the golden executor: exact, modelled cycles, checks, compiler."""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch
from wskiputil import dst_bytes, golden_outputs, sparse_linear, zero_some_tiles

from edgemoe.compiler import compile_model
from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.layout import (
    pack_tile_map,
    tile_grid,
    tile_map_bytes,
    tiles_run,
    unpack_tile_map,
    zero_tiles,
)
from edgemoe.models import random_weights

pytestmark = pytest.mark.unit

# odd shapes: partial tiles on both axes of the 4x4 (tiny) and 16x16 (zcu102) tiles
SHAPES = [(5, 13, 21), (3, 37, 50)]
ZERO_SHARES = [0.0, 0.5, 0.9, 1.0]


def _run(case) -> tuple[int, np.ndarray, dict]:
    s = case.scratch
    err = s.run(case.program)
    return err, s.image, s.profile(0)


@pytest.mark.parametrize("accel_name", ["tiny", "zcu102"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("share", ZERO_SHARES)
def test_skipping_gives_the_dense_bytes(request, accel_name, shape, share):
    accel = request.getfixturevalue(accel_name)
    t, n, k = shape
    for flags in (0, Flag.GELU | Flag.RESIDUAL):
        dense = sparse_linear(accel, 7, "dense", t, n, k, share, skip=False, flags=flags)
        skip = sparse_linear(accel, 7, "skip", t, n, k, share, skip=True, flags=flags)
        assert skip.program[0].has(Flag.WSKIP)  # a dense map too: nothing to skip
        e0, img0, p0 = _run(dense)
        e1, img1, p1 = _run(skip)
        assert e0 == e1 == 0
        assert dst_bytes(skip, img1) == dst_bytes(dense, img0)
        # the same MACs and weight bytes are reported; the map is read on top
        assert (p1["macs"], p1["weight_bytes"]) == (p0["macs"], p0["weight_bytes"])
        assert p1["bytes_read"] == p0["bytes_read"] + tile_map_bytes(n, k, accel.linear_p_out,
                                                                     accel.linear_p_in)


def test_golden_skips_what_the_map_says(tiny):
    """A map that marks a non-zero tile drops exactly that tile's products (never loaded)."""
    t, n, k = 3, 9, 10
    case = sparse_linear(tiny, 3, "lie", t, n, k, 0.5, skip=True)
    ins = case.program[0]
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    rows, cols = tile_grid(n, k, po, pi)
    off = ins.get("tile_map")
    zero = unpack_tile_map(case.scratch.image[off:off + 8], rows, cols)
    r, c = map(int, np.argwhere(~zero)[0])
    lie = zero.copy()
    lie[r, c] = True
    case.scratch.image[off:off + 64] = np.frombuffer(pack_tile_map(lie), np.uint8)
    # the expected bytes: the dense LINEAR with that tile zeroed in its weights
    fixed = sparse_linear(tiny, 3, "fixed", t, n, k, 0.5, skip=False)
    w_off = fixed.program[0].get("weights")
    tile_bytes = po * pi * tiny.formats.linear_weight.storage_dtype.itemsize
    at = w_off + (r * cols + c) * tile_bytes
    fixed.scratch.image[at:at + tile_bytes] = 0
    _, img, _ = _run(case)
    _, want, _ = _run(fixed)
    assert dst_bytes(case, img) == dst_bytes(fixed, want)
    honest = sparse_linear(tiny, 3, "honest", t, n, k, 0.5, skip=True)
    _, img2, _ = _run(honest)
    assert dst_bytes(case, img) != dst_bytes(honest, img2)


def test_tile_map_layout_is_one_bit_per_packed_tile():
    w = np.zeros((6, 9), np.int64)  # 4x4 tiles: 2 rows x 3 tiles
    w[0, 8] = 1  # tile (0, 2)
    w[5, 0] = -3  # tile (1, 0)
    zero = zero_tiles(w, 4, 4)
    assert zero.tolist() == [[True, True, False], [False, True, True]]
    data = pack_tile_map(zero)
    assert len(data) == tile_map_bytes(6, 9, 4, 4) == 64
    assert data[0] == 0b110011  # bit i: packed tile i (row-major over the tile grid)
    assert not any(data[1:])
    assert unpack_tile_map(np.frombuffer(data, np.uint8), 2, 3).tolist() == zero.tolist()
    # one beat per non-zero tile; an all-zero tile row still runs one (bias-only) beat
    assert tiles_run(zero) == 2
    assert tiles_run(np.ones((3, 5), bool)) == 3
    assert tiles_run(np.zeros((3, 5), bool)) == 15


@pytest.mark.parametrize("share", [0.5, 0.75, 0.9, 1.0])
def test_modelled_cycles_count_the_tiles_run(tiny, share):
    t, n, k = 6, 16, 32
    case = sparse_linear(tiny, 5, "c", t, n, k, share, skip=True)
    _, _, prof = _run(case)
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    rows, cols = tile_grid(n, k, po, pi)
    zero_count = round(share * rows * cols)
    beats = case.program[0].get("tiles_run")
    assert beats >= rows * cols - zero_count  # bias-only beats of empty tile rows on top
    assert prof["cycles"] == t * beats + tile_map_bytes(n, k, po, pi)
    dense = sparse_linear(tiny, 5, "d", t, n, k, share, skip=False)
    assert _run(dense)[2]["cycles"] == t * rows * cols


def _linear_with(tiny, flags, **change) -> tuple[int, dict]:
    s = Scratch(tiny)
    fields = {"tokens": 2, "out_features": 8, "in_features": 8, "src": s.alloc(64), "dst": s.alloc(64),
                  "weights": s.alloc(128), "bias": s.alloc(64), "tile_map": s.alloc(64), "tiles_run": 4}
    fields.update(change)
    err = s.run([Instr.make(Op.LINEAR, flags, **fields)])
    return err, s.status()


def test_bad_wskip_fields_are_refused(tiny):
    assert _linear_with(tiny, Flag.WSKIP)[0] == 0
    assert _linear_with(tiny, Flag.WSKIP, tiles_run=5)[0] == Err.BAD_SHAPE  # > 2x2 tiles
    assert _linear_with(tiny, Flag.WSKIP, tiles_run=0)[0] == Err.BAD_SHAPE
    assert _linear_with(tiny, Flag.WSKIP | Flag.WFMT_Q8, tiles_run=1)[0] == Err.BAD_SHAPE
    assert _linear_with(tiny, Flag.WSKIP, tile_map=1 << 30)[0] == Err.OUT_OF_RANGE



def test_compiler_marks_layers_with_zero_tiles(tiny, micro):
    weights = random_weights(micro, seed=4)
    rng = np.random.default_rng(0)
    for name in ("blocks.0.mlp.fc1.weight", "blocks.0.attn.proj.weight"):
        weights[name] = zero_some_tiles(weights[name], rng, 0.6, 4, 4)
    weights["blocks.0.mlp.fc2.weight"] = np.zeros_like(weights["blocks.0.mlp.fc2.weight"])
    skip = compile_model(micro, tiny, weights, remove_dead=False)
    dense = compile_model(micro, tiny, weights, remove_dead=False, tile_skip=False)
    marked = {i.comment for i in skip.instrs if i.op == Op.LINEAR and i.has(Flag.WSKIP)}
    assert marked == {"blocks.0.mlp.fc1", "blocks.0.attn.proj", "blocks.0.mlp.fc2"}
    assert not any(i.has(Flag.WSKIP) for i in dense.instrs)
    fc2 = next(i for i in skip.instrs if i.comment == "blocks.0.mlp.fc2")
    assert fc2.get("tiles_run") == tile_grid(micro.dim, 4 * micro.dim, 4, 4)[0]  # bias only
    assert golden_outputs(skip, tiny) == golden_outputs(dense, tiny)
