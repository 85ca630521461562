"""Layer functions of the float reference against direct loop implementations and identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgemoe.models.layers import (
    attention,
    batch_norm,
    conv2d,
    dense_mlp,
    gelu,
    layer_norm,
    moe_mlp,
    route_top_k,
    softmax,
    upsample2x_bilinear,
)

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(1234)


def _loop_conv(x, w, b, stride, pad):
    """Direct definition: out[o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[c, s i+u-p, s j+v-p]."""
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        for i in range(ho):
            for j in range(wo):
                acc = b[o]
                for c in range(c_in):
                    for u in range(kh):
                        for v in range(kw):
                            y, xx = stride * i + u - pad, stride * j + v - pad
                            if 0 <= y < h and 0 <= xx < wd:
                                acc += w[o, c, u, v] * x[c, y, xx]
                out[o, i, j] = acc
    return out


@pytest.mark.parametrize(("k", "stride", "pad", "h", "w"),
                         [(3, 1, 1, 5, 7), (4, 4, 0, 8, 12), (1, 1, 0, 3, 4), (3, 2, 1, 6, 5)])
def test_conv2d_matches_loops(k, stride, pad, h, w):
    x = RNG.normal(size=(3, h, w))
    wt, b = RNG.normal(size=(4, 3, k, k)), RNG.normal(size=4)
    got = conv2d(x, wt, b, stride=stride, pad=pad)
    # float64 summation order only: |err| <= 1e-12 for O(1) values and <= 50 terms
    np.testing.assert_allclose(got, _loop_conv(x, wt, b, stride, pad), rtol=0, atol=1e-12)


def test_layer_norm_standardises():
    x = RNG.normal(3.0, 5.0, size=(9, 32))
    y = layer_norm(x, np.ones(32), np.zeros(32), eps=0.0)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, atol=1e-12)  # biased variance
    g, be = RNG.normal(size=32), RNG.normal(size=32)
    np.testing.assert_allclose(layer_norm(x, g, be, 0.0), y * g + be, atol=1e-13)
    # eps enters inside the square root: constant rows map to beta, a 2-valued row to
    # +-1/sqrt(1 + eps) (variance 1).
    row = np.array([[-1.0, 1.0]])
    np.testing.assert_allclose(layer_norm(row, np.ones(2), np.zeros(2), 1e-6),
                               row / math.sqrt(1 + 1e-6), rtol=1e-15)


def test_gelu_known_values():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0])
    # x * Phi(x) with tabulated normal CDF values
    phi = np.array([0.0013498980316301, 0.15865525393145707, 0.5, 0.6914624612740131,
                    0.8413447460685429, 0.9772498680518208])
    np.testing.assert_allclose(gelu(x), x * phi, rtol=1e-14, atol=1e-16)
    assert gelu(np.zeros((2, 3))).shape == (2, 3)


def test_softmax_rows_sum_to_one():
    s = softmax(RNG.normal(0, 30, size=(5, 17)))
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-15)
    assert (s >= 0).all()


def _loop_attention(x, qkv_w, qkv_b, proj_w, proj_b, heads):
    n, d = x.shape
    hd = d // heads

    def row(part, h, j):  # q/k/v (part 0/1/2) of head h for token j
        sl = slice(part * d + h * hd, part * d + (h + 1) * hd)
        return qkv_w[sl] @ x[j] + qkv_b[sl]

    out = np.zeros((n, d))
    for h in range(heads):
        for i in range(n):
            scores = [float(row(0, h, i) @ row(1, h, j)) / math.sqrt(hd) for j in range(n)]
            m = max(scores)
            e = [math.exp(s - m) for s in scores]
            for j in range(n):
                out[i, h * hd:(h + 1) * hd] += e[j] / sum(e) * row(2, h, j)
    return out @ proj_w.T + proj_b


def test_attention_matches_loops_and_rows_sum_to_one():
    n, d, heads = 5, 8, 2
    x = RNG.normal(size=(n, d))
    qkv_w, qkv_b = RNG.normal(size=(3 * d, d)), RNG.normal(size=3 * d)
    proj_w, proj_b = RNG.normal(size=(d, d)), RNG.normal(size=d)
    trace: dict = {}
    got = attention(x, qkv_w, qkv_b, proj_w, proj_b, heads, trace)
    want = _loop_attention(x, qkv_w, qkv_b, proj_w, proj_b, heads)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert trace["attn_probs"].shape == (heads, n, n)
    np.testing.assert_allclose(trace["attn_probs"].sum(-1), 1.0, rtol=1e-14)


def test_router_equal_logits_pick_experts_0_and_1():
    x = RNG.normal(size=(6, 8))
    logits, probs, idx, gates = route_top_k(x, np.zeros((8, 4)), top_k=2)
    assert (idx == [0, 1]).all()
    np.testing.assert_array_equal(gates, 0.25)  # softmax probs, not renormalised
    assert (logits == 0).all() and np.allclose(probs, 0.25)


def test_router_matches_brute_force_with_ties():
    x = RNG.normal(size=(40, 6))
    w = RNG.normal(size=(6, 8))
    w[:, 5] = w[:, 2]  # experts 2 and 5 always tie
    logits, _probs, idx, gates = route_top_k(x, w, top_k=3)
    for t in range(40):
        order = sorted(range(8), key=lambda e: (-logits[t, e], e))[:3]
        assert list(idx[t]) == order
        z = [math.exp(v) for v in logits[t]]
        np.testing.assert_allclose(gates[t], [z[e] / sum(z) for e in order], rtol=1e-13)
    # a tie goes to the lower index: expert 5 is only ever chosen right after expert 2
    rows5, slot5 = np.nonzero(idx == 5)
    assert len(rows5) > 0
    assert (idx[rows5, slot5 - 1] == 2).all() and (slot5 > 0).all()


def test_moe_matches_per_token_sum():
    t, d, hid, e, k = 11, 6, 10, 5, 2
    x = RNG.normal(size=(t, d))
    w1, b1 = RNG.normal(size=(e, hid, d)), RNG.normal(size=(e, hid))
    w2, b2 = RNG.normal(size=(e, d, hid)), RNG.normal(size=(e, d))
    _, _, idx, gates = route_top_k(x, RNG.normal(size=(d, e)), k)
    got = moe_mlp(x, idx, gates, w1, b1, w2, b2)
    for i in range(t):
        want = np.zeros(d)
        for s in range(k):
            ex = idx[i, s]
            hidden = w1[ex] @ x[i] + b1[ex]
            hidden = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in hidden])
            want += gates[i, s] * (w2[ex] @ hidden + b2[ex])
        np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-12)


def test_dense_mlp_shape_and_value():
    x = np.array([[1.0, -2.0]])
    w1, b1 = np.eye(2), np.zeros(2)
    w2, b2 = np.array([[1.0, 1.0]]), np.array([0.5])
    # GELU(1) + GELU(-2) + 0.5
    want = 0.8413447460685429 - 2 * 0.022750131948179195 + 0.5
    np.testing.assert_allclose(dense_mlp(x, w1, b1, w2, b2), [[want]], rtol=1e-14)


def test_batch_norm_eval():
    x = RNG.normal(size=(3, 2, 2))
    g, b, m, v = np.array([1.0, 2, 3]), np.array([0.0, 1, -1]), np.array([0.5, 0, 1]), np.ones(3)
    got = batch_norm(x, g, b, m, v, eps=0.0)
    for c in range(3):
        np.testing.assert_allclose(got[c], (x[c] - m[c]) * g[c] + b[c], rtol=1e-15)


def _torch_style_up2(x):
    """align_corners=False by source coordinate: src = (dst + 0.5) / 2 - 0.5, clamped at 0."""
    _c, h, w = x.shape

    def weights(n_out, n_in):
        rows = []
        for o in range(n_out):
            src = max((o + 0.5) / 2 - 0.5, 0.0)
            i0 = math.floor(src)
            lam = src - i0
            i1 = min(i0 + 1, n_in - 1)
            row = np.zeros(n_in)
            row[i0] += 1 - lam
            row[i1] += lam
            rows.append(row)
        return np.array(rows)

    wh, ww = weights(2 * h, h), weights(2 * w, w)
    return np.einsum("ah,chw,bw->cab", wh, x, ww)


def test_upsample_constant_ramp_and_reference():
    const = np.full((2, 3, 5), 1.75)
    np.testing.assert_array_equal(upsample2x_bilinear(const), np.full((2, 6, 10), 1.75))
    ramp = np.arange(6, dtype=float)[None, None, :].repeat(2, axis=1)  # (1, 2, 6)
    got = upsample2x_bilinear(ramp)[0, 0]
    want = [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5]
    np.testing.assert_array_equal(got, want)  # exact: multiples of 1/4
    x = RNG.normal(size=(3, 4, 7))
    np.testing.assert_allclose(upsample2x_bilinear(x), _torch_style_up2(x), atol=1e-14)
    # out[2i] = (3 in[i] + in[i-1]) / 4 with clamping at the border
    y = upsample2x_bilinear(x)
    np.testing.assert_allclose(y[:, 0, 0], x[:, 0, 0], atol=1e-15)
