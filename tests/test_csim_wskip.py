"""Tile skipping (Flag.WSKIP) in C-sim: byte-identical to golden and to the dense program."""

from __future__ import annotations

import numpy as np
import pytest
from rtlutil import Case
from wskiputil import dst_bytes, sparse_linear

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
