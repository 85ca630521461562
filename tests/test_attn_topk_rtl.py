"""Top-k ATTENTION (Flag.ATTN_TOPK) on the RTL (edgemoe_attn_topk.sv beside edgemoe_attn.sv):
rtlsim == golden byte for byte (outputs, codes, picks, status and profile: the whole image)
on single ops at several shapes, with tied keys and with k >= N; the picks equal a numpy
reference; the measured cycles against the op's modelled cycles (edgemoe.perf)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rtlutil as ru
from progutil import Scratch
from rtldesigns import design, executor

from edgemoe.isa import Flag, Instr, Op
from edgemoe.numerics.attn_topk import codebook_block, unpack_codebook_head
from edgemoe.perf import memory_timing, model_program

pytestmark = pytest.mark.sim

#: (name, t, heads, head_dim, C, k, tied keys): partial beats (hd 5, 7), k >= N, C = 1
SHAPES = [("a", 13, 2, 16, 8, 4, False), ("b", 16, 1, 8, 5, 7, False),
          ("c", 9, 2, 5, 3, 9, False), ("kn", 7, 1, 16, 12, 30, False),
          ("c1", 5, 2, 7, 1, 2, False), ("tie", 10, 1, 8, 4, 3, True)]


def topk_case(accel, name: str, t: int, nh: int, hd: int, c: int, k: int, tie: bool,
              seed: int) -> ru.Case:
    """One top-k ATTENTION over random qkv and random codebooks; written regions hold junk."""
    rng = np.random.default_rng(seed)
    act = accel.formats.act
    s = Scratch(accel, size=ru.IMAGE_BYTES)
    raw = act.quantize(rng.normal(0, 2.0, (t, 3, nh, hd)))
    if tie:  # equal keys: one code, equal approximate scores for every key
        raw[:, 1] = raw[0, 1]
    qkv = s.put_raw(raw, act)
    blocks = [codebook_block(rng.normal(0, 1.0, (c, hd)),
                             np.tril(rng.normal(0, 0.3, (hd, hd))) + np.eye(hd), act)[0]
              for _ in range(nh)]
    book = s.put(np.frombuffer(b"".join(blocks), np.uint8))
    kept = min(k, t)

    def junk(n: int) -> int:
        return s.put(rng.integers(0, 256, n, dtype=np.uint8))

    ins = Instr.make(Op.ATTENTION, Flag.ATTN_TOPK, tokens=t, heads=nh, head_dim=hd, qkv=qkv,
                     dst=junk(t * nh * hd * act.storage_dtype.itemsize),
                     scale=int(act.quantize(hd ** -0.5)), codebook_size=c, top_k=k,
                     codebook=book, codes=junk(4 * nh * t), picks=junk(4 * nh * t * kept))
    return ru.Case(name, s, [ins])


def numpy_picks(accel, case: ru.Case) -> np.ndarray:
    """Each query's kept keys, ascending, from Python integers and a stable sort."""
    ins, act, img = case.program[0], accel.formats.act, case.scratch.image
    g = ins.get
    t, nh, hd, c = g("tokens"), g("heads"), g("head_dim"), g("codebook_size")
    kept = min(g("top_k"), t)
    qkv = case.scratch.get_raw(g("qkv"), 3 * t * nh * hd, act).reshape(t, 3, nh, hd)
    size = len(codebook_block(np.zeros((c, hd)), np.eye(hd), act)[0])
    out = []
    for h in range(nh):
        tab = unpack_codebook_head(img[g("codebook") + h * size:][:size], c, hd, act)
        keys, queries = qkv[:, 1, h].tolist(), qkv[:, 0, h].tolist()
        coding, half, centres = tab.coding.tolist(), tab.half_norms.tolist(), tab.centres.tolist()
        codes = [min(range(c), key=lambda j: (half[j] - sum(a * b for a, b in zip(key, coding[j])), j))
                 for key in keys]
        for q in queries:
            score = [sum(a * b for a, b in zip(q, centres[codes[j]])) for j in range(t)]
            order = sorted(range(t), key=lambda j: (-score[j], j))  # ties: lower index first
            out.append(sorted(order[:kept]))
    return np.array(out)


@pytest.fixture(scope="module")
def outcomes():
    accel = design("tiny")
    cases = [topk_case(accel, *shape, seed=i) for i, shape in enumerate(SHAPES)]
    return accel, ru.run_cases(executor("tiny"), cases)


@pytest.mark.parametrize("name", [s[0] for s in SHAPES])
def test_topk_attention_rtl_equals_golden(outcomes, name):
    accel, out = outcomes
    o = out[name]
    assert o.golden_error == 0
    assert not o.problems(), o.problems()[:5]
    ins = o.case.program[0]
    t, nh = ins.get("tokens"), ins.get("heads")
    kept = min(ins.get("top_k"), t)
    picks = o.rtl[ins.get("picks"):ins.get("picks") + 4 * nh * t * kept].view("<u4")
    assert np.array_equal(picks.reshape(nh * t, kept), numpy_picks(accel, o.case))
