"""Top-k ATTENTION (Flag.ATTN_TOPK): golden == C-sim byte for byte, single ops at several
shapes (codes, picks, outputs and every other byte of the image) and m3vit-micro with
codebooks."""

from __future__ import annotations

import numpy as np
import pytest
from test_csim_ops import Prog, run_both

from edgemoe.compare import assert_images_equal
from edgemoe.isa import Flag, Op
from edgemoe.numerics.attn_topk import codebook_block
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def tiny():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny")
    return accel, CsimExecutor(accel)


def _topk_prog(accel, t, nh, hd, c, k, seed, tie_keys=False):
    p = Prog(accel, seed=seed)
    act = p.f.act
    qkv_raw = p._raw(act, 3 * t * nh * hd, 2.0).reshape(t, 3, nh, hd)
    if tie_keys:  # equal keys: one code, equal approximate scores
        qkv_raw[:, 1] = qkv_raw[0, 1]
    qkv = p.b.place("inputs", qkv_raw.astype(act.storage_dtype))
    rng = np.random.default_rng(seed)
    blocks = [codebook_block(rng.normal(0, 1.0, (c, hd)),
                             np.tril(rng.normal(0, 0.3, (hd, hd))) + np.eye(hd), act)[0]
              for _ in range(nh)]
    book = p.b.place("weights", b"".join(blocks))
    p.emit(Op.ATTENTION, Flag.ATTN_TOPK, tokens=t, heads=nh, head_dim=hd, qkv=qkv,
           dst=p.garbage(4 * t * nh * hd), scale=int(act.quantize(hd ** -0.5)),
           codebook_size=c, top_k=k, codebook=book, codes=p.garbage(4 * nh * t),
           picks=p.garbage(4 * nh * t * min(k, t)))
    return p


@pytest.mark.parametrize(("t", "nh", "hd", "c", "k"), [
    (13, 2, 16, 8, 4), (16, 1, 8, 5, 7), (9, 2, 5, 3, 9), (7, 1, 16, 12, 30), (5, 2, 7, 1, 2)])
def test_topk_attention_golden_equals_csim(tiny, t, nh, hd, c, k):
    run_both(tiny, _topk_prog(tiny[0], t, nh, hd, c, k, seed=t * c + k))


def test_topk_ties_golden_equals_csim(tiny):
    run_both(tiny, _topk_prog(tiny[0], 10, 1, 8, 4, 3, seed=5, tie_keys=True))


def test_m3vit_micro_with_codebooks_golden_equals_csim(tiny):
    from test_attn_topk_compile import _fit

    from edgemoe.compiler import AttnTopK, compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.golden import execute
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model

    accel, csim = tiny
    model = load_model("m3vit-micro")
    w = random_weights(model, 3)
    c = compile_model(model, accel, w, topk=AttnTopK(*_fit(model, w), 4))
    assert all(i.has(Flag.ATTN_TOPK) for i in c.instrs if i.op == Op.ATTENTION)
    for task in range(len(model.tasks)):
        image = c.fresh_image()
        write_pixels(image, c.manifest, load_default_image(model))
        gold, sim = image.copy(), image.copy()
        args = (c.program_offset, c.n_instructions, task, c.status_offset)
        assert execute(gold, accel, *args) == 0
        assert csim.execute(sim, *args) == 0
        assert_images_equal(gold, sim, c.manifest, f"golden vs C-sim, task {task}")
