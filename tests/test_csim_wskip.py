"""Tile skipping (Flag.WSKIP) in C-sim: byte-identical to golden and to the dense program."""

from __future__ import annotations

import numpy as np
import pytest
from rtlutil import Case
from wskiputil import dst_bytes, experts_dst_bytes, sparse_experts, sparse_linear

from edgemoe.compare import assert_images_equal
from edgemoe.golden import execute
from edgemoe.isa import Err, Flag, encode_bytes
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def tiny():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny")
    return accel, CsimExecutor(accel)


def _both(design, case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(golden image, C-sim image) after running the case from the same bytes."""
    accel, csim = design
    s = case.scratch
    code = encode_bytes(case.program)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold, sim = s.image.copy(), s.image.copy()
    n = len(case.program)
    assert execute(gold, accel, s.program, n, 0, 0) == Err.OK
    assert csim.execute(sim, s.program, n, 0, 0) == Err.OK
    manifest = {"program": {"n_instructions": n}, "status": {"offset": 0},
                "regions": {"image": [0, gold.size]}}
    assert_images_equal(gold, sim, manifest, f"{case.name}: golden vs C-sim")
    # C-sim writes the modelled cycles: the op spec's WSKIP term, as golden
    assert gold[64:72].view("<u8")[0] == sim[64:72].view("<u8")[0] > 0
    return gold, sim


# (tokens, out, in): partial tiles; (3, 96, 100) runs 5 weight chunks on `tiny`, whose
# first tiles sit at map bits that are not byte aligned
SHAPES = [(5, 13, 21), (3, 96, 100)]


@pytest.mark.parametrize("t,n,k", SHAPES)
@pytest.mark.parametrize("share", [0.0, 0.5, 0.9, 1.0])
def test_csim_skips_to_the_dense_bytes(tiny, t, n, k, share):
    flags = Flag.GELU | Flag.RESIDUAL if share == 0.5 else 0
    dense = sparse_linear(tiny[0], 11, "dense", t, n, k, share, skip=False, flags=flags)
    skip = sparse_linear(tiny[0], 11, "skip", t, n, k, share, skip=True, flags=flags)
    _, sim_dense = _both(tiny, dense)
    _, sim_skip = _both(tiny, skip)
    assert dst_bytes(skip, sim_skip) == dst_bytes(dense, sim_dense)


def test_csim_does_not_fetch_marked_tiles(tiny):
    """Garbage in a tile the map marks zero is never read: the output is the dense one."""
    accel = tiny[0]
    case = sparse_linear(accel, 2, "garbage", 4, 16, 24, 0.5, skip=True)
    want = sparse_linear(accel, 2, "want", 4, 16, 24, 0.5, skip=False)
    ins = case.program[0]
    rows, cols = 4, 6  # 16 x 24 in 4x4 tiles
    off = ins.get("tile_map")
    bits = np.unpackbits(case.scratch.image[off:off + 3], bitorder="little")[:rows * cols]
    tile_bytes = 16 * accel.formats.linear_weight.storage_dtype.itemsize
    for i in np.flatnonzero(bits).tolist():
        at = ins.get("weights") + i * tile_bytes
        case.scratch.image[at:at + tile_bytes] = 0x5A
    gold, sim = _both(tiny, case)
    _, want_sim = _both(tiny, want)
    assert dst_bytes(case, sim) == dst_bytes(case, gold) == dst_bytes(want, want_sim)


def test_csim_preloaded_layer_keeps_the_bytes(tiny):
    """The same WSKIP layer twice: the second's first chunk was preloaded (dense) by the first."""
    case = sparse_linear(tiny[0], 4, "twice", 3, 96, 100, 0.75, skip=True)
    case.program = case.program * 2
    once = sparse_linear(tiny[0], 4, "once", 3, 96, 100, 0.75, skip=False)
    _, sim = _both(tiny, case)
    _, want = _both(tiny, once)
    assert dst_bytes(case, sim) == dst_bytes(once, want)


# (tokens, dim, hidden, experts): partial tiles; (4, 40, 96, 3)'s fc1 and fc2 run in
# several weight chunks on `tiny`; the last expert's queue is always empty
EXPERT_SHAPES = [(5, 13, 21, 3), (4, 40, 96, 3)]


@pytest.mark.parametrize("t,d,h,e", EXPERT_SHAPES)
@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_csim_skips_expert_tiles_to_the_dense_bytes(tiny, t, d, h, e, share):
    dense = sparse_experts(tiny[0], 5, "dense", t, d, h, e, share, skip=False)
    skip = sparse_experts(tiny[0], 5, "skip", t, d, h, e, share, skip=True)
    _, sim_dense = _both(tiny, dense)
    _, sim_skip = _both(tiny, skip)
    assert experts_dst_bytes(skip, sim_skip) == experts_dst_bytes(dense, sim_dense)


def test_csim_reads_the_first_experts_fc1_map(tiny):
    """A map bit on a non-zero tile of expert 0's fc1 (not preloaded: fetched through its
    map) drops that tile in C-sim exactly as in golden: the map is read where layout puts it."""
    from edgemoe.layout import moe_tile_map_offset, pack_tile_map, tile_grid, unpack_tile_map

    accel = tiny[0]
    t, d, h, e = 5, 13, 21, 3
    po, pi = accel.linear_p_out, accel.linear_p_in
    case = sparse_experts(accel, 4, "lie", t, d, h, e, 0.5, skip=True)
    honest = sparse_experts(accel, 4, "honest", t, d, h, e, 0.5, skip=True)
    ins = case.program[0]
    off = moe_tile_map_offset(ins.get("b1"), 0, e, h, d, po, pi,
                              accel.formats.bias.storage_dtype.itemsize)
    zero = unpack_tile_map(case.scratch.image[off:off + 64], *tile_grid(h, d, po, pi))
    zero[tuple(np.argwhere(~zero)[0])] = True
    case.scratch.image[off:off + 64] = np.frombuffer(pack_tile_map(zero), np.uint8)
    _, sim = _both(tiny, case)  # golden == C-sim
    _, sim_honest = _both(tiny, honest)
    assert experts_dst_bytes(case, sim) != experts_dst_bytes(honest, sim_honest)


def test_csim_runs_a_pruned_m3vit_micro_like_golden(tiny):
    """Whole program: WSKIP LINEARs and MOE_EXPERTS (half their tiles zero), golden == C-sim."""
    from wskiputil import pruned_micro

    from edgemoe.isa import Op

    accel, csim = tiny
    c = pruned_micro(accel)
    assert any(i.op == Op.MOE_EXPERTS and i.has(Flag.WSKIP) for i in c.instrs)
    gold, sim = c.fresh_image(), c.fresh_image()
    assert execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == Err.OK
    assert csim.execute(sim, c.program_offset, c.n_instructions, 0, c.status_offset) == Err.OK
    assert_images_equal(gold, sim, c.manifest, "pruned m3vit-micro: golden vs C-sim")
