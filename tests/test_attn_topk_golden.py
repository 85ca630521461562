"""Top-k ATTENTION (Flag.ATTN_TOPK) in the golden executor against independent references.

The references recompute code ids and approximate scores with Python integers and pick the
top-k with numpy's stable argsort: none of edgemoe.numerics.attn_topk's code paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch

from edgemoe.golden.cycles import ideal_cycles
from edgemoe.golden.memory import read_u32
from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics.attn_topk import codebook_block, unpack_codebook_head
from edgemoe.validate import check_instr

pytestmark = pytest.mark.golden


def _problem(tiny, rng, t=13, nh=2, hd=16, c=8):
    """Scratch image with quantized q/k/v and a random codebook per head."""
    f = tiny.formats
    qkv = f.act.quantize(rng.normal(0, 1.5, size=(t, 3, nh, hd)))
    centres = rng.normal(0, 1.5, size=(nh, c, hd))
    lt = np.tril(rng.normal(0, 0.3, size=(nh, hd, hd))) + np.eye(hd)[None]
    s = Scratch(tiny)
    blocks = [codebook_block(centres[h], lt[h], f.act)[0] for h in range(nh)]
    book = s.put(np.frombuffer(b"".join(blocks), np.uint8))
    return s, qkv, book, blocks, centres, lt


def _topk_instr(s, t, nh, hd, c, k, src, book, scale):
    dst, codes = s.alloc(4 * t * nh * hd), s.alloc(4 * nh * t)
    picks = s.alloc(4 * nh * t * min(k, t))
    ins = Instr.make(Op.ATTENTION, Flag.ATTN_TOPK, tokens=t, heads=nh, head_dim=hd, qkv=src,
                     dst=dst, scale=scale, codebook_size=c, top_k=k, codebook=book, codes=codes,
                     picks=picks)
    return ins, dst, codes, picks


def _dense(tiny, qkv, t, nh, hd, scale) -> np.ndarray:
    s = Scratch(tiny)
    src, dst = s.put_raw(qkv, tiny.formats.act), s.alloc(4 * t * nh * hd)
    assert s.run([Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=src, dst=dst,
                             scale=scale)]) == 0
    return s.image[dst:dst + 4 * t * nh * hd].copy()


def _ref_codes_and_picks(tiny, qkv, block, h, c, hd, k):
    """Code ids (argmin of half_norm - k.coding, first minimum) and top-k picks (stable
    argsort of the gathered int scores, ascending indices), in Python integers."""
    tab = unpack_codebook_head(block, c, hd, tiny.formats.act)
    keys, queries = qkv[:, 1, h].tolist(), qkv[:, 0, h].tolist()
    coding, centres, half = tab.coding.tolist(), tab.centres.tolist(), tab.half_norms.tolist()
    codes = []
    for key in keys:
        dist = [half[j] - sum(a * b for a, b in zip(key, coding[j])) for j in range(c)]
        codes.append(dist.index(min(dist)))
    picks = []
    for q in queries:
        table = [sum(a * b for a, b in zip(q, centres[j])) for j in range(c)]
        approx = np.array([table[code] for code in codes], dtype=object)
        order = np.argsort(-approx.astype(np.float64), kind="stable")  # |scores| < 2**44
        assert np.abs(approx.astype(np.float64)).max() < 2**52
        picks.append(sorted(order[:k].tolist()))
    return codes, picks


def _u32(s, off, n):
    return read_u32(s.image, off, n)


def _scale(tiny, hd):
    return int(tiny.formats.act.quantize(np.array([hd ** -0.5]))[0])


@pytest.mark.parametrize("extra", [0, 5])
def test_k_at_least_n_gives_the_dense_output_byte_for_byte(tiny, extra):
    rng = np.random.default_rng(1)
    t, nh, hd, c = 13, 2, 16, 8
    s, qkv, book, _, _, _ = _problem(tiny, rng, t, nh, hd, c)
    scale = _scale(tiny, hd)
    ins, dst, _, picks = _topk_instr(s, t, nh, hd, c, t + extra, s.put_raw(qkv, tiny.formats.act),
                                     book, scale)
    assert s.run([ins]) == 0
    assert np.array_equal(s.image[dst:dst + 4 * t * nh * hd], _dense(tiny, qkv, t, nh, hd, scale))
    assert (_u32(s, picks, nh * t * t).reshape(nh, t, t) == np.arange(t)).all()


@pytest.mark.parametrize(("t", "nh", "hd", "c", "k"), [(13, 2, 16, 8, 4), (16, 1, 8, 5, 7)])
def test_codes_and_picks_equal_an_integer_reference(tiny, t, nh, hd, c, k):
    rng = np.random.default_rng(t + k)
    s, qkv, book, blocks, _, _ = _problem(tiny, rng, t, nh, hd, c)
    ins, _, codes, picks = _topk_instr(s, t, nh, hd, c, k, s.put_raw(qkv, tiny.formats.act),
                                       book, _scale(tiny, hd))
    assert s.run([ins]) == 0
    got_codes = _u32(s, codes, nh * t).reshape(nh, t)
    got_picks = _u32(s, picks, nh * t * k).reshape(nh, t, k)
    for h in range(nh):
        ref_codes, ref_picks = _ref_codes_and_picks(tiny, qkv, blocks[h], h, c, hd, k)
        assert got_codes[h].tolist() == ref_codes
        assert got_picks[h].tolist() == ref_picks
    assert len(set(got_codes.reshape(-1).tolist())) > 1  # the keys really spread over codes


def test_ties_keep_the_lower_key_index(tiny):
    """All keys equal: one code, equal approximate scores, so the first k keys win."""
    rng = np.random.default_rng(5)
    t, nh, hd, c, k = 10, 1, 8, 4, 3
    s, qkv, book, _, _, _ = _problem(tiny, rng, t, nh, hd, c)
    qkv[:, 1] = qkv[0, 1]
    ins, _, codes, picks = _topk_instr(s, t, nh, hd, c, k, s.put_raw(qkv, tiny.formats.act),
                                       book, _scale(tiny, hd))
    assert s.run([ins]) == 0
    assert len(set(_u32(s, codes, t).tolist())) == 1
    assert (_u32(s, picks, t * k).reshape(t, k) == np.arange(k)).all()


def test_codes_follow_the_float_fitting_metric(tiny):
    """The integer code is the nearest codeword in ||(key - c) L|| wherever the float
    metric's best and second-best codewords differ by more than the tables' rounding."""
    rng = np.random.default_rng(9)
    t, nh, hd, c = 16, 2, 16, 12
    s, qkv, book, _, centres, lt = _problem(tiny, rng, t, nh, hd, c)
    ins, _, codes, _ = _topk_instr(s, t, nh, hd, c, 4, s.put_raw(qkv, tiny.formats.act),
                                   book, _scale(tiny, hd))
    assert s.run([ins]) == 0
    keys = tiny.formats.act.to_float(qkv[:, 1, 0])
    cq = tiny.formats.act.to_float(tiny.formats.act.quantize(centres[0]))
    d = (((keys[:, None, :] - cq[None]) @ lt[0]) ** 2).sum(-1)
    best = np.sort(d, axis=1)
    clear = best[:, 1] - best[:, 0] > 1e-3  # table rounding ~1e-5 of |c L L^T| |k|
    assert clear.sum() > t // 2
    assert (_u32(s, codes, t)[clear] == d.argmin(1)[clear]).all()


def test_output_close_to_float_attention_on_the_picked_keys(tiny):
    f = tiny.formats
    rng = np.random.default_rng(3)
    t, nh, hd, c, k = 13, 2, 16, 8, 5
    s, qkv, book, _, _, _ = _problem(tiny, rng, t, nh, hd, c)
    ins, dst, _, picks = _topk_instr(s, t, nh, hd, c, k, s.put_raw(qkv, f.act), book,
                                     _scale(tiny, hd))
    assert s.run([ins]) == 0
    got = f.act.to_float(s.get_raw(dst, t * nh * hd, f.act)).reshape(t, nh, hd)
    kept = _u32(s, picks, nh * t * k).reshape(nh, t, k)
    qf = f.act.to_float(qkv)
    for h in range(nh):
        for i in range(t):
            sc = qf[kept[h, i], 1, h] @ qf[i, 0, h] * hd ** -0.5
            p = np.exp(sc - sc.max())
            ref = (p / p.sum()) @ qf[kept[h, i], 2, h]
            assert np.abs(got[i, h] - ref).max() < 1e-4  # softmax 2e-5/prob x |v| sum
    prof = s.profile(0)
    assert prof["macs"] == nh * t * hd * (2 * c + 2 * k)


@pytest.mark.parametrize(("c", "k", "what"), [(0, 4, "codebook_size"), (257, 4, "codebook_size"),
                                              (8, 0, "top_k")])
def test_bad_codebook_size_or_k_is_refused(tiny, c, k, what):
    rng = np.random.default_rng(0)
    s, qkv, book, _, _, _ = _problem(tiny, rng, 13, 2, 16, 8)
    ins = _topk_instr(s, 13, 2, 16, c, k, s.put_raw(qkv, tiny.formats.act), book, 1)[0]
    problems = check_instr(ins, tiny, s.image.size)
    assert problems and problems[0].code == Err.BAD_SHAPE and what in problems[0].message


def test_cycles_follow_the_top_k_terms(tiny):
    """The SV's schedule (edgemoe_attn_topk.sv): per query group C d/P + N (score table,
    the key pass), per phase k' d/P exact steps, or p (k' + 1) pick words when more, plus
    the loads and the key coding; the dense mode is unchanged by the fields."""
    t, nh, hd, c = 13, 2, 16, 8
    base = {"tokens": t, "heads": nh, "head_dim": hd, "qkv": 0, "dst": 0, "codebook_size": c}
    cyc = [ideal_cycles(Instr.make(Op.ATTENTION, Flag.ATTN_TOPK, top_k=k, **base), tiny,
                        {"macs": 0}) for k in (4, 6)]
    groups, beats, p = -(-t // tiny.attn_lanes), -(-hd // 8), tiny.attn_lanes
    loads = (3 * t + 2 * c) * beats
    coding = t * -(-c // p) * beats + t
    select = c * beats + t
    for k, total in zip((4, 6), cyc):
        steps = groups * max(k * beats, p * (k + 1)) + k * beats
        assert total == nh * (loads + coding + groups * select + steps)
    dense = ideal_cycles(Instr.make(Op.ATTENTION, top_k=4, **base), tiny, {"macs": 0})
    assert dense == ideal_cycles(Instr.make(Op.ATTENTION, **base), tiny, {"macs": 0})


@pytest.mark.unit
def test_memory_model_counts_the_codebook_codes_and_picks(tiny):
    """Top-k traffic: qkv once, each head's codebook block once (a weight read), outputs,
    code ids and kept-key lists once; the cycles grow with k by the exact key steps."""
    from edgemoe.numerics.attn_topk import codebook_head_bytes
    from edgemoe.perf.engines import op_cycles
    from edgemoe.perf.memory import memory_timing
    from edgemoe.perf.traffic import Traffic

    t, nh, hd, c = 9, 2, 16, 8
    cycles = []
    for k in (3, 5):
        ins = Instr.make(Op.ATTENTION, Flag.ATTN_TOPK, tokens=t, heads=nh, head_dim=hd, qkv=0,
                         dst=1 << 16, codebook_size=c, top_k=k, codebook=1 << 17,
                         codes=1 << 18, picks=1 << 19)
        traffic = Traffic()
        cycles.append(op_cycles(ins, tiny, memory_timing(tiny), traffic, prefetched=False))
        book = nh * codebook_head_bytes(c, hd, 4)
        assert traffic.weight_bytes == book
        assert traffic.read_bytes == 3 * t * nh * hd * 4 + book
        assert traffic.write_bytes == t * nh * hd * 4 + 4 * nh * t + 4 * nh * t * k
    groups, beats = -(-t // tiny.attn_lanes), hd * 4 // 16  # 16-byte bus
    # per head: (groups + 1) phases of 2 more exact key steps (the pick words, 2 x (k' + 1)
    # per group, go out beside them)
    assert cycles[1] - cycles[0] == nh * (groups + 1) * 2 * beats
