"""M3ViTReference forward: invariants and an independent whole-model cross-check (micro)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from edgemoe.models import (
    ImageError,
    M3ViTReference,
    UnsupportedModelError,
    WeightError,
    fold_bn,
    fold_cls_into_pos,
    load_default_image,
    random_weights,
)
from edgemoe.params import load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def micro():
    return load_model("m3vit-micro")


@pytest.fixture(scope="module")
def weights(micro):
    return random_weights(micro, seed=11)


@pytest.fixture(scope="module")
def ref(micro, weights):
    return M3ViTReference(micro, weights)


@pytest.fixture(scope="module")
def pixels(micro):
    return load_default_image(micro)


# ----------------------------------------------------------------- independent implementation
def _ln(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g + b


def _gelu(x):
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _independent_backbone(model, w, pixels, t):
    """Batch-style M3ViT written separately from the library: einsum attention and a dense
    MoE (every expert on every token, combined through a (tokens, E) gate matrix)."""
    p, d, nh = model.patch, model.dim, model.heads
    img = pixels.astype(np.float64) / 256
    gh, gw = model.grid_h, model.grid_w
    patches = np.stack([img[:, i * p:(i + 1) * p, j * p:(j + 1) * p]
                        for i in range(gh) for j in range(gw)])  # (N, C, p, p)
    emb = np.einsum("ncuv,dcuv->nd", patches, w["patch_embed.proj.weight"])
    emb += w["patch_embed.proj.bias"]
    x = np.concatenate([w["cls_token"][0], emb]) + w["pos_embed"][0]
    taps = [x]
    for i in range(model.depth):
        b = f"blocks.{i}"
        h = _ln(x, w[f"{b}.norm1.weight"], w[f"{b}.norm1.bias"], model.ln_eps)
        qkv = h @ w[f"{b}.attn.qkv.weight"].T + w[f"{b}.attn.qkv.bias"]
        q, k, v = qkv.reshape(-1, 3, nh, d // nh).transpose(1, 2, 0, 3)
        s = np.einsum("hid,hjd->hij", q, k) / math.sqrt(d // nh)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        o = np.einsum("hij,hjd->ihd", a, v).reshape(-1, d)
        x = x + o @ w[f"{b}.attn.proj.weight"].T + w[f"{b}.attn.proj.bias"]
        h = _ln(x, w[f"{b}.norm2.weight"], w[f"{b}.norm2.bias"], model.ln_eps)
        if model.is_moe(i):
            e = f"{b}.mlp.experts"
            logits = h @ w[f"{b}.mlp.gate.{t}.w_gate"]
            pr = np.exp(logits - logits.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            gate = np.zeros_like(pr)
            for r in range(len(pr)):
                top = sorted(range(pr.shape[1]), key=lambda j, r=r: (-logits[r, j], j))
                gate[r, top[:model.top_k]] = pr[r, top[:model.top_k]]
            hid = _gelu(np.einsum("td,ehd->eth", h, w[f"{e}.htoh4.weight"])
                        + w[f"{e}.htoh4.bias"][:, None])
            out = np.einsum("eth,edh->etd", hid, w[f"{e}.h4toh.weight"])
            out += w[f"{e}.h4toh.bias"][:, None]
            y = np.einsum("te,etd->td", gate, out)
        else:
            y = _gelu(h @ w[f"{b}.mlp.fc1.weight"].T + w[f"{b}.mlp.fc1.bias"])
            y = y @ w[f"{b}.mlp.fc2.weight"].T + w[f"{b}.mlp.fc2.bias"]
        x = x + y
        taps.append(x)
    return x, taps


def _win_conv(x, wt, b, pad):
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    k = wt.shape[-1]
    win = sliding_window_view(xp, (k, k), axis=(1, 2))  # (C, H, W, k, k)
    return np.einsum("chwuv,ocuv->ohw", win, wt) + b[:, None, None]


def _up2(x):
    """PyTorch's align_corners=False source-coordinate bilinear x2, written per axis."""
    for axis in (1, 2):
        n = x.shape[axis]
        src = np.maximum((np.arange(2 * n) + 0.5) / 2 - 0.5, 0)
        i0 = np.floor(src).astype(int)
        lam = (src - i0).reshape([-1 if a == axis else 1 for a in range(3)])
        i1 = np.minimum(i0 + 1, n - 1)
        x = np.take(x, i0, axis=axis) * (1 - lam) + np.take(x, i1, axis=axis) * lam
    return x


def _independent_head(model, w, tokens, task):
    h = f"heads.{task}"
    x = _ln(tokens[1:], w[f"{h}.norm.weight"], w[f"{h}.norm.bias"], model.ln_eps)
    x = x.reshape(model.grid_h, model.grid_w, model.dim).transpose(2, 0, 1)
    for j in range(4):
        bn = f"{h}.syncbn_fc_{j}"
        fw, fb = fold_bn(w[f"{h}.conv_{j}.weight"], w[f"{h}.conv_{j}.bias"], w[f"{bn}.weight"],
                         w[f"{bn}.bias"], w[f"{bn}.running_mean"], w[f"{bn}.running_var"])
        x = np.maximum(_win_conv(x, fw, fb, 1), 0)
        if j < 3:
            x = _up2(x)
    return _up2(_win_conv(x, w[f"{h}.conv_4.weight"], w[f"{h}.conv_4.bias"], 0))


# ----------------------------------------------------------------- tests
@pytest.mark.parametrize("task", ["seg", "depth"])
def test_backbone_and_head_match_independent_model(micro, weights, ref, pixels, task):
    t = micro.task_index(task)
    tokens, taps = ref.backbone(pixels, task)
    _want, want_taps = _independent_backbone(micro, weights, pixels, t)
    assert len(taps) == micro.depth + 1 and taps[-1] is tokens
    for got_tap, want_tap in zip(taps, want_taps):
        # float64 reassociation only; activations are O(1): bound 1e-12
        np.testing.assert_allclose(got_tap, want_tap, rtol=0, atol=1e-12)
    head = ref.head(tokens, task)
    assert head.shape == (micro.tasks[t].channels, micro.image_height, micro.image_width)
    np.testing.assert_allclose(head, _independent_head(micro, weights, tokens, task),
                               rtol=0, atol=1e-11 * max(1.0, np.abs(head).max()))


def test_cls_fold_and_pixel_scale(micro, weights):
    w = dict(weights)
    w["patch_embed.proj.weight"] = np.ones_like(w["patch_embed.proj.weight"])
    w["patch_embed.proj.bias"] = np.zeros(micro.dim)
    r = M3ViTReference(micro, w)
    px = np.full((3, micro.image_height, micro.image_width), 255, np.uint8)
    x = r.patch_embed(px)
    pos = fold_cls_into_pos(w)
    assert np.array_equal(x[0], w["cls_token"][0, 0] + w["pos_embed"][0, 0])
    # byte/256, not /255: every patch sums 3*16*16 pixels of 255/256
    np.testing.assert_allclose(x[1:] - pos[1:], 3 * 256 * 255 / 256, rtol=1e-15)


def test_task_changes_only_moe_blocks(micro, ref, pixels):
    _, seg = ref.backbone(pixels, "seg")
    _, dep = ref.backbone(pixels, 1)
    assert not micro.is_moe(0) and micro.is_moe(1)
    assert np.array_equal(seg[1], dep[1])
    assert not np.allclose(seg[2], dep[2])


def test_block_trace(micro, ref, pixels):
    x = ref.patch_embed(pixels)
    tr: dict = {}
    out = ref.block(x, 1, "seg", trace=tr)
    np.testing.assert_allclose(tr["attn_probs"].sum(-1), 1.0, rtol=1e-14)
    assert tr["attn_probs"].shape == (micro.heads, micro.num_tokens, micro.num_tokens)
    assert tr["topk_indices"].shape == (micro.num_tokens, micro.top_k)
    assert (tr["topk_gates"][:, 0] >= tr["topk_gates"][:, 1]).all()
    assert (tr["topk_gates"].sum(-1) < 1).all()  # not renormalised (4 experts, top-2)
    n2 = (tr["norm2"] - ref.weights["blocks.1.norm2.bias"]) / ref.weights["blocks.1.norm2.weight"]
    np.testing.assert_allclose(n2.mean(-1), 0, atol=1e-12)
    var = tr["attn_residual"].var(-1)  # LN output variance is var / (var + eps), biased var
    np.testing.assert_allclose(n2.var(-1), var / (var + micro.ln_eps), rtol=1e-9)
    np.testing.assert_array_equal(out, tr["attn_residual"] + tr["mlp_out"])


def test_equal_router_logits_choose_experts_0_and_1(micro, weights, pixels):
    w = dict(weights)
    w["blocks.1.mlp.gate.0.w_gate"] = np.zeros((micro.dim, micro.num_experts))
    r = M3ViTReference(micro, w)
    tr: dict = {}
    r.block(r.patch_embed(pixels), 1, "seg", trace=tr)
    assert (tr["topk_indices"] == [0, 1]).all()
    np.testing.assert_array_equal(tr["topk_gates"], 1 / micro.num_experts)


def test_predict(micro, ref, pixels):
    out = ref.forward(pixels, "seg")
    seg = ref.predict(pixels, "seg")
    assert seg.shape == (micro.image_height, micro.image_width) and seg.dtype == np.int64
    assert np.array_equal(seg, out["head"].argmax(0))
    depth = ref.predict(pixels, "depth")
    assert np.array_equal(depth, ref.forward(pixels, "depth")["head"][0])


def test_tiny_forward_shapes():
    tiny = load_model("m3vit-tiny")
    r = M3ViTReference(tiny, random_weights(tiny, 0))
    px = load_default_image(tiny)
    out = r.forward(px, "seg")
    assert out["tokens"].shape == (129, 192) and len(out["taps"]) == 13
    assert out["head"].shape == (7, 128, 256)
    assert r.head(out["tokens"], "depth").shape == (1, 128, 256)
    assert np.isfinite(out["head"]).all()


def test_input_errors(micro, ref, weights, pixels):
    with pytest.raises(ImageError, match="uint8"):
        ref.backbone(pixels.astype(np.float32), "seg")
    with pytest.raises(ImageError, match=r"\(3, 32, 64\)"):
        ref.backbone(pixels[:, :16], "seg")
    with pytest.raises(ValueError, match="seg"):
        ref.backbone(pixels, 5)
    bad = dict(weights)
    del bad["heads.seg.conv_4.bias"]
    with pytest.raises(WeightError, match="heads.seg.conv_4.bias"):
        M3ViTReference(micro, bad)


class _Override:
    """A config the params loader would refuse; the reference must refuse it too."""

    def __init__(self, model, **fields):
        self._model = model
        self.__dict__.update(fields)

    def __getattr__(self, name):
        return getattr(self._model, name)


def test_unsupported_models(micro):
    three = _Override(micro, head_upsamples=3)  # grid * 2**3 != image size
    with pytest.raises(UnsupportedModelError, match="head_upsamples"):
        M3ViTReference(three, random_weights(three, 0))
    cnn = _Override(micro, kind="vovnet")
    with pytest.raises(UnsupportedModelError, match="vovnet"):
        M3ViTReference(cnn, random_weights(micro, 0))
