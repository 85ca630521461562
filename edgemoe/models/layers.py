"""Float64 numpy layer functions of the M3ViT reference model and its SETR-PUP heads.

Each function is the mathematical definition the fixed-point golden model and the
accelerator approximate; all arrays are float64 and there are no per-pixel Python loops.
Token tensors are (tokens, features); feature maps are planar (channels, height, width).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "KeySelect",
    "attention",
    "batch_norm",
    "conv2d",
    "dense_mlp",
    "gelu",
    "layer_norm",
    "linear",
    "moe_mlp",
    "relu",
    "route_top_k",
    "softmax",
    "upsample2x_bilinear",
]

_ERF = np.frompyfunc(math.erf, 1, 1)

#: Approximate attention's key choice: (q, k) per head -> (heads, queries, keys) bool mask.
KeySelect = Callable[[np.ndarray, np.ndarray], np.ndarray]


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """PyTorch ``nn.Linear``: ``x @ weight.T + bias`` with weight (out, in)."""
    y = x @ weight.T
    return y if bias is None else y + bias


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis with the biased variance (as PyTorch)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x * (1 + erf(x / sqrt 2)) / 2`` using ``math.erf`` element-wise."""
    x = np.asarray(x, dtype=np.float64)
    erf = _ERF(x / math.sqrt(2.0)).astype(np.float64)
    return 0.5 * x * (1.0 + erf)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def attention(
    x: np.ndarray,
    qkv_w: np.ndarray,
    qkv_b: np.ndarray,
    proj_w: np.ndarray,
    proj_b: np.ndarray,
    heads: int,
    trace: dict[str, np.ndarray] | None = None,
    key_select: KeySelect | None = None,
) -> np.ndarray:
    """Multi-head self-attention of timm's ViT ``Attention`` (qkv bias, scale hd**-0.5).

    Args:
        x: (tokens, dim) input (already normalised).
        qkv_w: (3 dim, dim) fused Q/K/V weight; rows [0, dim) are Q, then K, then V,
            each split into ``heads`` consecutive chunks of ``dim // heads``.
        qkv_b: (3 dim,) fused bias.
        proj_w: (dim, dim) output projection.
        proj_b: (dim,) output bias.
        heads: Number of heads.
        trace: If given, receives ``q``, ``k``, ``v`` (tokens, dim), ``attn_scores`` and
            ``attn_probs`` (heads, tokens, tokens) and ``attn_out`` (before proj).
        key_select: Optional approximate mode: called with the per-head queries and keys
            (heads, tokens, head_dim), returns a (heads, tokens, tokens) bool mask of the
            keys each query attends to (softmax over those only). None: exact attention.

    Returns:
        (tokens, dim) projected output.
    """
    n, d = x.shape
    hd = d // heads
    qkv = linear(x, qkv_w, qkv_b)
    q, k, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
    qh = q.reshape(n, heads, hd).transpose(1, 0, 2)
    kh = k.reshape(n, heads, hd).transpose(1, 0, 2)
    vh = v.reshape(n, heads, hd).transpose(1, 0, 2)
    scores = (qh @ kh.transpose(0, 2, 1)) * (hd**-0.5)
    if key_select is not None:
        scores = np.where(key_select(qh, kh), scores, -np.inf)
    probs = softmax(scores, axis=-1)
    out = (probs @ vh).transpose(1, 0, 2).reshape(n, d)
    if trace is not None:
        trace.update(q=q, k=k, v=v, attn_scores=scores, attn_probs=probs, attn_out=out)
    return linear(out, proj_w, proj_b)


def route_top_k(
    x_norm: np.ndarray, w_gate: np.ndarray, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """M3ViT router: logits, softmax over experts, top-k with ties to the lower index.

    Selection uses the logits (softmax is strictly increasing, so this is the same
    choice without rounding ties); gates are the softmax probabilities of the chosen
    experts, not renormalised.

    Args:
        x_norm: (tokens, dim) norm2 output.
        w_gate: (dim, experts) router weight of the task.
        top_k: Experts per token.

    Returns:
        (logits (tokens, E), probs (tokens, E), indices (tokens, k) int64 in rank order,
        gates (tokens, k)).
    """
    logits = x_norm @ w_gate
    probs = softmax(logits, axis=-1)
    idx = np.argsort(-logits, axis=-1, kind="stable")[:, :top_k].astype(np.int64)
    gates = np.take_along_axis(probs, idx, axis=-1)
    return logits, probs, idx, gates


def dense_mlp(
    x: np.ndarray, fc1_w: np.ndarray, fc1_b: np.ndarray, fc2_w: np.ndarray, fc2_b: np.ndarray
) -> np.ndarray:
    """ViT MLP: fc2(GELU(fc1(x)))."""
    return linear(gelu(linear(x, fc1_w, fc1_b)), fc2_w, fc2_b)


def moe_mlp(
    x_norm: np.ndarray,
    indices: np.ndarray,
    gates: np.ndarray,
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
) -> np.ndarray:
    """Mixture of experts: ``y[t] = sum_k gates[t,k] * expert_{indices[t,k]}(x[t])``.

    Computed expert by expert over the tokens routed to it (Edge-MoE's patch reordering).

    Args:
        x_norm: (tokens, dim) expert input.
        indices: (tokens, k) chosen experts.
        gates: (tokens, k) their gate values.
        w1: (E, hidden, dim) fc1 weights; b1: (E, hidden).
        w2: (E, dim, hidden) fc2 weights; b2: (E, dim).

    Returns:
        (tokens, dim) mixture output.
    """
    y = np.zeros_like(x_norm, dtype=np.float64)
    for e in np.unique(indices):
        tok, slot = np.nonzero(indices == e)
        out = dense_mlp(x_norm[tok], w1[e], b1[e], w2[e], b2[e])
        np.add.at(y, tok, gates[tok, slot][:, None] * out)
    return y


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """2-D convolution (cross-correlation, as PyTorch) on a planar (C, H, W) map.

    Non-overlapping kernels (stride == kernel, no padding: patch embedding) are one
    im2col reshape + matmul; other kernels accumulate one matmul per kernel tap over
    shifted views of the zero-padded input.

    Args:
        x: (C_in, H, W) input.
        weight: (C_out, C_in, kh, kw) kernel.
        bias: (C_out,) or None.
        stride: Stride in both directions.
        pad: Zero padding on every side.

    Returns:
        (C_out, H_out, W_out) output.
    """
    c_out, c_in, kh, kw = weight.shape
    if x.shape[0] != c_in:
        raise ValueError(f"conv2d: input has {x.shape[0]} channels, weight expects {c_in}")
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    _, h, w = x.shape
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    if stride == kh == kw and h % kh == 0 and w % kw == 0:
        cols = x.reshape(c_in, ho, kh, wo, kw).transpose(1, 3, 0, 2, 4).reshape(ho * wo, -1)
        out = (cols @ weight.reshape(c_out, -1).T).T
    else:
        taps = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # BLAS needs unit strides
        out = np.zeros((c_out, ho * wo), dtype=np.float64)
        for dy in range(kh):
            for dx in range(kw):
                view = x[:, dy : dy + stride * ho : stride, dx : dx + stride * wo : stride]
                out += taps[dy, dx] @ np.ascontiguousarray(view).reshape(c_in, ho * wo)
    out = out.reshape(c_out, ho, wo)
    return out if bias is None else out + bias[:, None, None]


def batch_norm(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float,
) -> np.ndarray:
    """Eval-mode BatchNorm on (C, H, W) with running statistics."""
    scale = gamma / np.sqrt(var + eps)
    return (x - mean[:, None, None]) * scale[:, None, None] + beta[:, None, None]


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0.0)


def _up2_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """Double one axis: out[2i] = (3 in[i] + in[i-1]) / 4, out[2i+1] = (3 in[i] + in[i+1]) / 4."""
    n = x.shape[axis]
    prev = np.take(x, np.maximum(np.arange(n) - 1, 0), axis=axis)
    nxt = np.take(x, np.minimum(np.arange(n) + 1, n - 1), axis=axis)
    even = (3.0 * x + prev) / 4.0
    odd = (3.0 * x + nxt) / 4.0
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(x.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)


def upsample2x_bilinear(x: np.ndarray) -> np.ndarray:
    """Bilinear x2 upsampling with ``align_corners=False`` on (C, H, W), edges clamped.

    Separable: rows then columns, each output sample ``(3 a + b) / 4`` where ``a`` is the
    nearest input sample and ``b`` its other neighbour (clamped at the border).
    """
    return _up2_axis(_up2_axis(x, 1), 2)
