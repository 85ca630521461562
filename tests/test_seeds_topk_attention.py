"""Top-k attention through key codebooks: the float reference's optional mode and its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgemoe.models import M3ViTReference, load_default_image, random_weights
from edgemoe.models.layers import attention, softmax
from edgemoe.params import load_model
from edgemoe.seeds.topk_attention import (
    CodebookTopK,
    dense_attention_cycles,
    topk_attention_cycles,
)

pytestmark = pytest.mark.unit


def _qkv(rng, n=9, d=8, heads=2):
    x = rng.normal(size=(n, d))
    return (x, rng.normal(0, 0.5, (3 * d, d)), rng.normal(0, 0.1, 3 * d),
            rng.normal(0, 0.5, (d, d)), rng.normal(0, 0.1, d), heads)


def test_an_all_true_selection_is_bit_identical_to_exact_attention():
    args = _qkv(np.random.default_rng(0))
    exact = attention(*args)
    every = attention(*args, key_select=lambda q, k: np.ones((q.shape[0], q.shape[1],
                                                               k.shape[1]), bool))
    assert np.array_equal(exact, every)


def test_attention_softmaxes_over_the_selected_keys_only():
    rng = np.random.default_rng(1)
    x, qkv_w, qkv_b, proj_w, proj_b, heads = _qkv(rng)
    n, d = x.shape
    hd = d // heads
    mask = rng.random((heads, n, n)) < 0.4
    mask[:, :, 0] = True  # every query keeps at least one key
    trace: dict = {}
    got = attention(x, qkv_w, qkv_b, proj_w, proj_b, heads, trace, lambda q, k: mask)
    qkv = x @ qkv_w.T + qkv_b
    out = np.zeros((n, d))
    for h in range(heads):
        q, k, v = (qkv[:, j * d + h * hd: j * d + (h + 1) * hd] for j in range(3))
        for i in range(n):
            keep = np.flatnonzero(mask[h, i])
            p = softmax(q[i] @ k[keep].T / math.sqrt(hd))
            out[i, h * hd:(h + 1) * hd] = p @ v[keep]
    assert np.allclose(got, out @ proj_w.T + proj_b, rtol=0, atol=1e-12)
    assert (trace["attn_probs"][~mask] == 0).all()


def test_codebook_selection_takes_the_k_best_approximate_scores():
    rng = np.random.default_rng(2)
    heads, n, hd, c, k = 2, 12, 4, 3, 5
    centres = rng.normal(size=(1, heads, c, hd))
    transform = np.broadcast_to(np.eye(hd), (1, heads, hd, hd)).copy()
    qh, kh = rng.normal(size=(heads, n, hd)), rng.normal(size=(heads, n, hd))
    mask = CodebookTopK(centres, transform, k)(0)(qh, kh)
    for h in range(heads):
        codes = [int(np.argmin(((centres[0, h] - key) ** 2).sum(1))) for key in kh[h]]
        for i in range(n):
            approx = [float(qh[h, i] @ centres[0, h, codes[j]]) for j in range(n)]
            # equal codes give equal scores: ties go to the lower key index
            best = sorted(range(n), key=lambda j: (-approx[j], j))[:k]
            assert np.flatnonzero(mask[h, i]).tolist() == sorted(best)


def test_top_k_with_every_key_is_the_exact_model():
    model = load_model("m3vit-micro")
    w = random_weights(model, seed=1)
    hd = model.head_dim
    rng = np.random.default_rng(0)
    sel = CodebookTopK(rng.normal(size=(model.depth, model.heads, 4, hd)),
                       np.broadcast_to(np.eye(hd), (model.depth, model.heads, hd, hd)).copy(),
                       k=model.num_tokens)
    px = load_default_image(model)
    exact = M3ViTReference(model, w).forward(px, 0)["head"]
    assert np.array_equal(M3ViTReference(model, w, key_select=sel).forward(px, 0)["head"], exact)
    fewer = CodebookTopK(sel.centres, sel.transform, k=2)
    assert not np.array_equal(M3ViTReference(model, w, key_select=fewer).forward(px, 0)["head"],
                              exact)


def test_cycle_formula():
    # m3vit-demo: N = 129 tokens, d = 32, P = 8 MACs per lane per cycle
    assert dense_attention_cycles(129, 32) == 2 * 129 * 4
    assert topk_attention_cycles(129, 32, codebook=16, k=16) == 16 * 4 + 129 + 2 * 16 * 4
    assert topk_attention_cycles(129, 32, codebook=64, k=64) == 64 * 4 + 129 + 2 * 64 * 4
    with pytest.raises(ValueError, match="k >= 1"):
        CodebookTopK(np.zeros((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), 0)


def test_vq_table_on_the_trained_model_runs_end_to_end():
    """Tiny sizes (one scene, C = 4): the mode changes accuracy; k = all keys does not."""
    from edgemoe.data import trained_weights
    from edgemoe.models import load_weights
    from edgemoe.seeds.vq_m3vit import vq_attention_table

    model = load_model("m3vit-demo")
    w = load_weights(trained_weights(model.name), model)
    table = vq_attention_table(model, w, codebooks=(4,), ks=(8, model.num_tokens), n_scenes=1,
                               calib=1)
    dense, (few, every) = table["dense"], table["rows"]
    assert (few["codebook"], few["k"], every["k"]) == (4, 8, model.num_tokens)
    assert every["miou"] == dense["miou"] and every["abs_rel"] == dense["abs_rel"]
    assert few["abs_rel"] != dense["abs_rel"]
    assert few["speedup"] > 1 > every["speedup"]
