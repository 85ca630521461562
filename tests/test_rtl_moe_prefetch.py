"""MOE_EXPERTS prefetches the fc1 weights of the next expert WITH TOKENS, not only of the
very next index: a sparse expert list runs as fast as the same work on adjacent experts.

The same two routed experts (same tokens, scores and weights) sit either next to each
other or with empty experts before and between them.  Without the look-ahead over empty
queues, each gap costs a whole fc1 weight load (d x h weights at one AXI beat per cycle);
with it, a skipped expert costs the dispatcher a few cycles.  Both must also be byte
identical with golden.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from progutil import Scratch
from rtldesigns import design, executor

from edgemoe.isa import Flag, Instr, Op
from edgemoe.layout import bias_block_bytes, pack_tiled, queue_layout, weight_block_bytes

pytestmark = pytest.mark.sim

T, D, H, E = 6, 32, 48, 4
#: Dispatcher cycles allowed per skipped (empty) expert: far below one fc1 weight load.
SKIP_CYCLES = 8


def _experts(accel, name: str, slots: tuple[int, int]) -> ru.Case:
    """MOE_EXPERTS over a hand-written queue region: expert slots[0] gets tokens 0, 2, 4,
    slots[1] tokens 1, 3, 5; every other expert is empty.  The routed experts' weights are
    the same whatever their slot (seeded by the routed rank, not the slot)."""
    s = Scratch(accel, size=ru.IMAGE_BYTES)
    f = accel.formats
    act, lw, bf = f.act, f.linear_weight, f.bias
    po, pi = accel.linear_p_out, accel.linear_p_in
    rng = np.random.default_rng(3)
    x = s.put_raw(act.quantize(rng.uniform(-2, 2, T * D)), act)
    res = s.put_raw(act.quantize(rng.uniform(-2, 2, T * D)), act)
    dst = s.alloc(T * D * act.storage_dtype.itemsize)
    scratch = s.alloc(T * H * act.storage_dtype.itemsize)
    blocks = {}
    for key, (o, i) in (("w1", (H, D)), ("w2", (D, H))):
        blk = weight_block_bytes(o, i, po, pi, lw.storage_dtype.itemsize)
        blocks[key] = (s.alloc(E * blk), blk)
    for key, o in (("b1", H), ("b2", D)):
        blk = bias_block_bytes(o, po, bf.storage_dtype.itemsize)
        blocks[key] = (s.alloc(E * blk), blk)
    for rank, ex in enumerate(slots):
        wr = np.random.default_rng(100 + rank)
        for key, (o, i) in (("w1", (H, D)), ("w2", (D, H))):
            off, blk = blocks[key]
            w = pack_tiled(lw.quantize(wr.uniform(-0.5, 0.5, (o, i))), po, pi)
            raw = w.astype(lw.storage_dtype).view(np.uint8)
            s.image[off + ex * blk:off + ex * blk + raw.size] = raw
        for key, o in (("b1", H), ("b2", D)):
            off, blk = blocks[key]
            raw = bf.quantize(wr.uniform(-1, 1, o)).astype(bf.storage_dtype).view(np.uint8)
            s.image[off + ex * blk:off + ex * blk + raw.size] = raw
    lay = queue_layout(E, T)
    q = s.alloc(lay["total"])
    counts = np.zeros(E, np.uint32)
    for rank, ex in enumerate(slots):
        tokens = np.arange(rank, T, 2, dtype=np.int32)
        scores = act.quantize(rng.uniform(0.1, 0.9, tokens.size)).astype(np.int32)
        counts[ex] = tokens.size
        for part, vals in (("index", tokens), ("scores", scores)):
            at = q + lay[part] + ex * lay["slot"]
            s.image[at:at + 4 * vals.size] = vals.view(np.uint8)
    s.image[q:q + 4 * E] = counts.view(np.uint8)
    prog = [Instr.make(Op.MOE_EXPERTS, Flag.RESIDUAL, tokens=T, dim=D, hidden=H, experts=E,
                       src=x, dst=dst, w1=blocks["w1"][0], b1=blocks["b1"][0],
                       w2=blocks["w2"][0], b2=blocks["b2"][0], queues=q, scratch=scratch,
                       residual=res)]
    return ru.Case(name, s, prog)


def test_sparse_expert_list_runs_as_fast_as_adjacent_experts():
    accel = design("tiny")
    cases = [_experts(accel, "adjacent", (0, 1)), _experts(accel, "sparse", (1, 3))]
    out = ru.run_cases(executor("tiny"), cases)
    cycles = {}
    for name, o in out.items():
        assert o.golden_error == 0 and o.problems() == [], name
        cycles[name] = int(o.rtl[64:72].view("<u8")[0])  # profile entry 0: measured cycles
    adj_dst = out["adjacent"].rtl
    sp = out["sparse"]
    dst = cases[0].program[0].get("dst")
    n = T * D * accel.formats.act.storage_dtype.itemsize
    assert np.array_equal(adj_dst[dst:dst + n], sp.rtl[dst:dst + n])  # same work
    # one fc1 weight load at one AXI beat per cycle: what a missed prefetch would cost
    load = weight_block_bytes(H, D, accel.linear_p_out, accel.linear_p_in, 2) // (
        accel.axi_bits // 8)
    skipped = E - 2  # empty experts walked past in the sparse list (0, 2)
    assert cycles["sparse"] <= cycles["adjacent"] + SKIP_CYCLES * skipped < \
        cycles["adjacent"] + load, cycles
