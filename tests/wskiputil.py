"""Sparse LINEAR cases for the tile-skip tests (Flag.WSKIP) on every executor.

:func:`sparse_linear` builds one LINEAR whose weights have a chosen share of all-zero
P_OUT x P_IN tiles; with ``skip`` it carries the tile map and WSKIP, without it the same
bytes run dense.  Both images are drawn from the same seed, so their outputs must agree
byte for byte.
"""

from __future__ import annotations

import numpy as np
from progutil import Scratch
from rtlutil import IMAGE_BYTES, Case

from edgemoe.isa import Flag, Instr, Op
from edgemoe.layout import pack_tile_map, pack_tiled, tile_grid, tiles_run, zero_tiles


def zero_some_tiles(w: np.ndarray, rng, zero_frac: float, p_out: int, p_in: int) -> np.ndarray:
    """``w`` with ``round(zero_frac * tiles)`` of its P_OUT x P_IN tiles (chosen at random) zeroed."""
    rows, cols = tile_grid(*w.shape, p_out, p_in)
    picks = rng.permutation(rows * cols)[:round(zero_frac * rows * cols)]
    w = w.copy()
    for i in picks.tolist():
        r, c = divmod(i, cols)
        w[r * p_out:(r + 1) * p_out, c * p_in:(c + 1) * p_in] = 0
    return w


def sparse_linear(accel, seed: int, name: str, t: int, n: int, k: int, zero_frac: float,
                  skip: bool, flags: int = 0) -> Case:
    """LINEAR ``t x k -> t x n`` with ``zero_frac`` of its weight tiles all zero.

    Weights are non-zero everywhere else (so the map marks exactly the chosen tiles);
    ``flags`` may add GELU / RELU / RESIDUAL.  The tile map sits last in the image, so the
    dense and the skipping case share every other offset.
    """
    rng = np.random.default_rng(seed)
    s = Scratch(accel, size=IMAGE_BYTES)
    f, po, pi = accel.formats, accel.linear_p_out, accel.linear_p_in
    act, wf, bf = f.act, f.linear_weight, f.bias
    x = s.put_raw(act.quantize(rng.uniform(-4, 4, t * k)), act)
    w = wf.quantize(rng.choice([-1, 1], (n, k)) * rng.uniform(0.05, 0.5, (n, k)))
    w = zero_some_tiles(w, rng, zero_frac, po, pi)
    wo = s.put(pack_tiled(w, po, pi).astype(wf.storage_dtype))
    b = np.zeros(-(-n // po) * po, np.int64)
    b[:n] = bf.quantize(rng.uniform(-2, 2, n))
    bo = s.put(b.astype(bf.storage_dtype))
    d = s.put_raw(act.quantize(rng.uniform(-4, 4, t * n)), act)
    res = s.put_raw(act.quantize(rng.uniform(-4, 4, t * n)), act)
    fields = {"tokens": t, "out_features": n, "in_features": k, "src": x, "dst": d, "weights": wo, "bias": bo}
    if flags & Flag.RESIDUAL:
        fields["residual"] = res
    if skip:
        zero = zero_tiles(w, po, pi)
        fields.update(tile_map=s.put(np.frombuffer(pack_tile_map(zero), np.uint8)),
                      tiles_run=tiles_run(zero))
        flags |= Flag.WSKIP
    return Case(name, s, [Instr.make(Op.LINEAR, flags, **fields)])


def dst_bytes(case: Case, image: np.ndarray) -> bytes:
    """The output rows of a :func:`sparse_linear` case in ``image``."""
    ins = case.program[0]
    nbytes = ins.get("tokens") * ins.get("out_features") * case.scratch.accel.formats.act \
        .storage_dtype.itemsize
    return image[ins.get("dst"):ins.get("dst") + nbytes].tobytes()
