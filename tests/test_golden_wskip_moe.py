"""Tile skipping (Flag.WSKIP) on MOE_EXPERTS, golden executor: exact, maps after the biases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from wskiputil import experts_dst_bytes, golden_outputs, sparse_experts

from edgemoe.isa import Err, Flag
from edgemoe.layout import (
    bias_block_bytes,
    moe_tile_map_offset,
    pack_tile_map,
    tile_grid,
    tile_map_bytes,
    unpack_tile_map,
    weight_block_bytes,
)
from edgemoe.validate import check_instr, operand_bytes

pytestmark = pytest.mark.unit

# (t, d, hidden, experts): partial tiles on both axes of the 4x4 (tiny) and 16x16 (zcu102) tiles
SHAPES = [(5, 13, 21, 3), (4, 20, 37, 3)]


def _run(case) -> tuple[int, np.ndarray, dict]:
    s = case.scratch
    err = s.run(case.program)
    return err, s.image, s.profile(0)


def _active(case) -> int:
    """Experts with a non-empty queue."""
    ins = case.program[0]
    counts = case.scratch.image[ins.get("queues"):].view(np.uint32)[:ins.get("experts")]
    return int((counts > 0).sum())


@pytest.mark.parametrize("accel_name", ["tiny", "zcu102"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_skipping_experts_gives_the_dense_bytes(request, accel_name, shape, share):
    accel = request.getfixturevalue(accel_name)
    t, d, h, e = shape
    po, pi = accel.linear_p_out, accel.linear_p_in
    for residual in (True, False):
        dense = sparse_experts(accel, 11, "dense", t, d, h, e, share, skip=False, residual=residual)
        skip = sparse_experts(accel, 11, "skip", t, d, h, e, share, skip=True, residual=residual)
        e0, img0, p0 = _run(dense)
        e1, img1, p1 = _run(skip)
        assert e0 == e1 == 0
        assert 0 < _active(skip) < e  # the last expert's queue is empty
        assert experts_dst_bytes(skip, img1) == experts_dst_bytes(dense, img0)
        assert p1["macs"] == p0["macs"]
        # each active expert's two maps are fetched on top of its dense weight bytes
        maps = tile_map_bytes(h, d, po, pi) + tile_map_bytes(d, h, po, pi)
        assert p1["weight_bytes"] == p0["weight_bytes"] + _active(skip) * maps


def test_golden_skips_what_each_experts_maps_say(tiny):
    """A map bit on a non-zero tile of expert 1's fc2 drops exactly that tile: the maps are
    read per expert at layout.moe_tile_map_offset, not shared."""
    t, d, h, e = 6, 9, 10, 3
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    case = sparse_experts(tiny, 3, "lie", t, d, h, e, 0.5, skip=True)
    ins = case.program[0]
    bb = tiny.formats.bias.storage_dtype.itemsize
    off = moe_tile_map_offset(ins.get("b2"), 1, e, d, h, po, pi, bb)
    rows, cols = tile_grid(d, h, po, pi)
    img = case.scratch.image
    zero = unpack_tile_map(img[off:off + 64], rows, cols)
    r, c = map(int, np.argwhere(~zero)[0])
    lie = zero.copy()
    lie[r, c] = True
    img[off:off + 64] = np.frombuffer(pack_tile_map(lie), np.uint8)
    # the expected bytes: the dense experts with that tile of expert 1's fc2 zeroed
    fixed = sparse_experts(tiny, 3, "fixed", t, d, h, e, 0.5, skip=False)
    wb = tiny.formats.linear_weight.storage_dtype.itemsize
    tile = po * pi * wb
    at = fixed.program[0].get("w2") + weight_block_bytes(d, h, po, pi, wb) + (r * cols + c) * tile
    fixed.scratch.image[at:at + tile] = 0
    _, got, _ = _run(case)
    _, want, _ = _run(fixed)
    assert experts_dst_bytes(case, got) == experts_dst_bytes(fixed, want)
    honest = sparse_experts(tiny, 3, "honest", t, d, h, e, 0.5, skip=True)
    _, img2, _ = _run(honest)
    assert experts_dst_bytes(case, got) != experts_dst_bytes(honest, img2)


def test_the_maps_follow_every_experts_bias_block(tiny):
    t, d, h, e = 4, 13, 21, 3
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    bb = tiny.formats.bias.storage_dtype.itemsize
    skip = sparse_experts(tiny, 1, "s", t, d, h, e, 0.5, skip=True).program[0]
    dense = sparse_experts(tiny, 1, "d", t, d, h, e, 0.5, skip=False).program[0]
    # 13 x 21 on 4x4 tiles: 4 x 6 tiles = 24 bits -> one 64-byte map per expert and layer
    assert tile_map_bytes(h, d, po, pi) == tile_map_bytes(d, h, po, pi) == 64
    assert moe_tile_map_offset(100 * 64, 2, e, h, d, po, pi, bb) == \
        100 * 64 + e * bias_block_bytes(h, po, bb) + 2 * 64
    got, without = operand_bytes(skip, tiny), operand_bytes(dense, tiny)
    assert got["b1"] == without["b1"] + e * 64 == e * (bias_block_bytes(h, po, bb) + 64)
    assert got["b2"] == without["b2"] + e * 64


def test_wskip_experts_are_checked(tiny):
    case = sparse_experts(tiny, 2, "c", 4, 8, 8, 3, 0.5, skip=True)
    ins = case.program[0]
    assert check_instr(ins, tiny, case.scratch.image.size) == []
    with_q8 = replace(ins, flags=ins.flags | Flag.WFMT_Q8)
    probs = check_instr(with_q8, tiny, case.scratch.image.size)
    assert [p.code for p in probs] == [Err.BAD_SHAPE]
    assert "WSKIP (not with WFMT_Q8)" in probs[0].message
    # the maps lie past the end of a b2 placed at the image's last bias block
    end = case.scratch.image.size - 3 * bias_block_bytes(8, 4, 2)
    addrs = list(ins.addrs)
    addrs[5] = end  # b2
    moved = replace(ins, addrs=tuple(addrs))
    probs = check_instr(moved, tiny, case.scratch.image.size)
    assert [p.code for p in probs] == [Err.OUT_OF_RANGE] and "b2" in probs[0].message
    dense = replace(moved, flags=ins.flags & ~Flag.WSKIP)
    assert check_instr(dense, tiny, case.scratch.image.size) == []



def test_compiler_marks_experts_with_zero_tiles(tiny, micro):
    """Zero tiles in fc1 only still mark the experts (fc2 gets all-clear maps); the maps
    follow each layer's bias blocks; --no-tile-skip (tile_skip=False) compiles them dense."""
    from wskiputil import zero_some_tiles

    from edgemoe.compiler import compile_model
    from edgemoe.isa import Op
    from edgemoe.models import random_weights

    weights = random_weights(micro, seed=4)
    rng = np.random.default_rng(0)
    fc1 = weights["blocks.1.mlp.experts.htoh4.weight"]
    for ex in range(fc1.shape[0]):
        fc1[ex] = zero_some_tiles(fc1[ex], rng, 0.5, 4, 4)
    skip = compile_model(micro, tiny, weights, remove_dead=False)
    dense = compile_model(micro, tiny, weights, remove_dead=False, tile_skip=False)
    experts = [i for i in skip.instrs if i.op == Op.MOE_EXPERTS]
    assert experts and all(i.has(Flag.WSKIP) for i in experts)
    assert not any(i.has(Flag.WSKIP) for i in dense.instrs if i.op == Op.MOE_EXPERTS)
    ins, img = experts[0], skip.fresh_image()
    e, d, h = micro.num_experts, micro.dim, ins.get("hidden")
    bb = tiny.formats.bias.storage_dtype.itemsize
    for ex in range(e):
        off = moe_tile_map_offset(ins.get("b1"), ex, e, h, d, 4, 4, bb)
        got = unpack_tile_map(img[off:off + 64], *tile_grid(h, d, 4, 4))
        assert got.sum() == round(0.5 * got.size)  # the tiles zeroed above, and only them
        off = moe_tile_map_offset(ins.get("b2"), ex, e, d, h, 4, 4, bb)
        assert not unpack_tile_map(img[off:off + 64], *tile_grid(d, h, 4, 4)).any()
    assert golden_outputs(skip, tiny) == golden_outputs(dense, tiny)
