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
from edgemoe.layout import (
    pack_tile_map,
    pack_tiled,
    queue_layout,
    tile_grid,
    tiles_run,
    zero_tiles,
)


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


def _queues(rng, e: int, t: int, top_k: int, act) -> np.ndarray:
    """A queue region (layout.queue_layout) routing each token to ``top_k`` of the first
    ``e - 1`` experts (expert ``e - 1`` stays empty) with random scores."""
    lay = queue_layout(e, t)
    counts = np.zeros(e, np.uint32)
    index = np.zeros((e, lay["slot"] // 4), np.int32)
    score = np.zeros((e, lay["slot"] // 4), np.int32)
    for tok in range(t):
        for ex in rng.choice(e - 1, top_k, replace=False).tolist():
            index[ex, counts[ex]] = tok
            score[ex, counts[ex]] = act.quantize(rng.uniform(0.05, 1.0))
            counts[ex] += 1
    blob = np.zeros(lay["total"], np.uint8)
    blob[:4 * e] = counts.view(np.uint8)
    blob[lay["index"]:lay["scores"]] = index.view(np.uint8).reshape(-1)
    blob[lay["scores"]:] = score.view(np.uint8).reshape(-1)
    return blob


def sparse_experts(accel, seed: int, name: str, t: int, d: int, h: int, e: int,
                   zero_frac: float, skip: bool, top_k: int = 2, residual: bool = True) -> Case:
    """MOE_EXPERTS ``t x d`` over ``e`` experts of hidden ``h`` (expert ``e - 1`` empty), each
    expert's fc1 and fc2 with ``zero_frac`` of their weight tiles all zero.

    With ``skip`` every expert's two zero-tile maps follow the bias blocks
    (layout.moe_tile_map_offset) and the op carries WSKIP; without it the same weights run
    dense.  The maps are the only bytes the two images differ in, so their dst must agree.
    """
    rng = np.random.default_rng(seed)
    s = Scratch(accel, size=IMAGE_BYTES)
    f, po, pi = accel.formats, accel.linear_p_out, accel.linear_p_in
    act, wf, bf = f.act, f.linear_weight, f.bias

    def layer(n: int, k: int) -> tuple[int, int]:
        ws = [zero_some_tiles(wf.quantize(rng.choice([-1, 1], (n, k)) * rng.uniform(0.05, 0.4, (n, k))),
                              rng, zero_frac, po, pi) for _ in range(e)]
        wo = s.put(np.concatenate([_pad64(pack_tiled(w, po, pi).astype(wf.storage_dtype))
                                   for w in ws]))
        blocks = [_pad64(np.pad(bf.quantize(rng.uniform(-1, 1, n)), (0, -n % po))
                         .astype(bf.storage_dtype)) for _ in range(e)]
        maps = [np.frombuffer(pack_tile_map(zero_tiles(w, po, pi)), np.uint8) for w in ws]
        # the dense image reserves the same bytes, so both share every other offset
        bo = s.put(np.concatenate(blocks + (maps if skip else [np.zeros_like(m) for m in maps])))
        return wo, bo

    w1, b1 = layer(h, d)
    w2, b2 = layer(d, h)
    isz = act.storage_dtype.itemsize
    fields = {"tokens": t, "dim": d, "hidden": h, "experts": e, "w1": w1, "b1": b1, "w2": w2,
              "b2": b2, "src": s.put_raw(act.quantize(rng.uniform(-2, 2, t * d)), act),
              "queues": s.put(_queues(rng, e, t, top_k, act)),
              "dst": s.put(np.full(t * d * isz, 0xA5, np.uint8)),
              "scratch": s.put(np.full(t * h * isz, 0x5A, np.uint8))}
    flags = Flag.WSKIP if skip else Flag.NONE
    if residual:
        fields["residual"] = s.put_raw(act.quantize(rng.uniform(-1, 1, t * d)), act)
        flags |= Flag.RESIDUAL
    return Case(name, s, [Instr.make(Op.MOE_EXPERTS, flags, **fields)])


def experts_dst_bytes(case: Case, image: np.ndarray) -> bytes:
    """The output rows of a :func:`sparse_experts` case in ``image``."""
    ins = case.program[0]
    nbytes = ins.get("tokens") * ins.get("dim") * case.scratch.accel.formats.act.storage_dtype.itemsize
    return image[ins.get("dst"):ins.get("dst") + nbytes].tobytes()


def _pad64(a: np.ndarray) -> np.ndarray:
    raw = np.ascontiguousarray(a).view(np.uint8).reshape(-1)
    return np.pad(raw, (0, -raw.size % 64))


def pruned_micro(accel, share: float = 0.5, seed: int = 6, tile_skip: bool = True):
    """m3vit-micro compiled with ``share`` of the 4x4 tiles of every dense-MLP and expert
    matrix zeroed (no whole neuron dies, so every layer keeps its width): its LINEARs and
    MOE_EXPERTS carry WSKIP (``tile_skip=False``: the same weights compiled dense)."""
    from edgemoe.compiler import compile_model
    from edgemoe.models import random_weights
    from edgemoe.params import load_model

    model = load_model("m3vit-micro")
    rng = np.random.default_rng(seed)
    w = random_weights(model, seed=seed)
    po, pi = accel.linear_p_out, accel.linear_p_in
    for name in list(w):
        if name.endswith(("mlp.fc1.weight", "mlp.fc2.weight", "experts.htoh4.weight",
                          "experts.h4toh.weight")):
            m = np.array(w[name])
            stack = m.reshape((-1,) + m.shape[-2:])
            w[name] = np.stack([zero_some_tiles(x, rng, share, po, pi) for x in stack]) \
                .reshape(m.shape)
    return compile_model(model, accel, w, remove_dead=False, tile_skip=tile_skip)


def golden_outputs(c, accel) -> dict[str, bytes]:
    """Each task's output tensor bytes of compiled m3vit-micro ``c`` run by golden on the
    default image (a WSKIP build and its dense twin must agree on these)."""
    from edgemoe.compiler.io import read_tensor, write_pixels
    from edgemoe.golden import execute, status_words
    from edgemoe.models import load_default_image
    from edgemoe.params import load_model
    from edgemoe.params.fixed import FixedType

    out = {}
    for k, task in enumerate(c.manifest["outputs"]):
        image = c.fresh_image()
        write_pixels(image, c.manifest, load_default_image(load_model("m3vit-micro")))
        err = execute(image, accel, c.program_offset, c.n_instructions, k, c.status_offset)
        assert err == 0, status_words(image, c.status_offset)
        spec = c.manifest["outputs"][task]
        out[task] = read_tensor(image, spec["offset"], spec["shape"],
                                FixedType.parse(spec["format"])).tobytes()
    return out
