"""Lowering rules of the VoVNet layer types (conv, osa, max_pool, avg_pool, global_avg_pool,
linear).

BatchNorm is folded into its conv at compile time.  An OSA block keeps one intermediate
map live (the 3x3 layer being read) plus the concat conv's accumulator: each 3x3 output
``f_i`` is added into the accumulator as soon as it exists (:meth:`GraphLowering.conv`
with ``out=``), never stored as part of a concatenation.  eSE runs as GAP (POOL), the
C->C 1x1 as a LINEAR whose weights carry the hard sigmoid's 1/6 and +3 (ReLU gives the
lower clip), and POOL SCALE (clip at 1, multiply per channel).
"""

from __future__ import annotations

import numpy as np

from ..golden.pool_ops import pool_recip
from ..isa import Op, PoolMode, pack_ksp
from ..models.vovnet_layers import VOVNET_BN_EPS
from ..models.weights import fold_bn
from .graph import FMap, GraphError, GraphLowering, register_lowering


def folded(low: GraphLowering, prefix: str, has_bias: bool = False) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """(weight, bias) of conv ``prefix`` with its BatchNorm (if any) folded in."""
    w = low.w[f"{prefix}.weight"]
    b = low.w[f"{prefix}.bias"] if has_bias else np.zeros(w.shape[0])
    if f"{prefix}.bn.weight" not in low.w:
        return np.asarray(w, np.float64), np.asarray(b, np.float64)
    bn = [low.w[f"{prefix}.bn.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
    return fold_bn(w, b, *bn, VOVNET_BN_EPS)


def _pad(layer) -> int:
    pad = layer.attr("pad")
    return layer.attr("kernel") // 2 if pad < 0 else pad


@register_lowering("conv")
def lower_conv(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """conv + folded BN (+ ReLU)."""
    w, b = folded(low, layer.name, layer.attr("bias"))
    return low.conv(layer.name, inputs[0], w, b, layer.attr("stride"), _pad(layer),
                    layer.attr("relu"))


def global_avg(low: GraphLowering, name: str, x: FMap) -> FMap:
    """POOL GLOBAL_AVG of every group -> a (C, 1, 1) map."""
    if x.h * x.w > 1 << 16:
        raise GraphError(f"layer {name}: a global average over {x.h}x{x.w} > 65536 positions "
                         "does not fit POOL: pool the map down first")
    out = low.map_like(name, x, 1, 1)
    for src, dst in zip(x.groups, out.groups):
        low.b.emit(Op.POOL, comment=name, in_h=x.h, in_w=x.w, channels=src.channels,
                   mode=PoolMode.GLOBAL_AVG, src=src.ref, dst=dst.ref,
                   recip=pool_recip(x.h * x.w))
    return out


def ese(low: GraphLowering, name: str, y: FMap) -> None:
    """eSE on ``y`` in place: y *= hard_sigmoid(W gap(y) + b)."""
    w = low.w[f"{name}.weight"][:, :, 0, 0]
    b = low.w[f"{name}.bias"]
    gap = global_avg(low, f"{name}.gap", y)
    # hard_sigmoid(z) = clip((z + 3) / 6, 0, 1): the affine part folds into the weights
    gate = low.linear(f"{name}.fc", gap, w / 6.0, (b + 3.0) / 6.0, relu=True,
                      out=low.map_like(f"{name}.gate", y, 1, 1))
    for grp, g in zip(y.groups, gate.groups):
        low.b.emit(Op.POOL, comment=f"{name}.scale", in_h=y.h, in_w=y.w,
                   channels=grp.channels, mode=PoolMode.SCALE, src=grp.ref, dst=grp.ref,
                   gate=g.ref)


@register_lowering("osa")
def lower_osa(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """One-shot aggregation, accumulated piece by piece (see the module docstring)."""
    n, x = layer.name, inputs[0]
    n_layers = layer.attr("layers")
    start = len(low.b)
    wc, bc = folded(low, f"{n}.concat")
    acc = low.new_map(f"{n}.concat", x.h, x.w, wc.shape[0])
    # piece 0: the block input's slice of the 1x1 (with the bias)
    low.conv(f"{n}.concat", x, wc, bc, 1, 0, True, out=acc, first=True, last=False)
    cur, cin0 = x, x.channels
    for i in range(n_layers):
        w, b = folded(low, f"{n}.layers.{i}")
        cur = low.conv(f"{n}.layers.{i}", cur, w, b, 1, 1, True)
        low.conv(f"{n}.concat", cur, wc, bc, 1, 0, True, out=acc, first=False,
                 last=i == n_layers - 1, cin0=cin0)
        cin0 += cur.channels
    low.osa_blocks[n] = {"first": start, "last": len(low.b) - 1, "x": x, "stage_ch": cur.channels,
                         "layers": n_layers, "acc": acc, "identity": layer.attr("identity")}
    if layer.attr("ese"):
        ese(low, f"{n}.ese", acc)
    if layer.attr("identity"):
        if [g.channels for g in x.groups] != [g.channels for g in acc.groups] or x.pixels:
            raise GraphError(f"layer {n}: the identity residual needs the input grouped like "
                             "the output: set identity: false")
        for a, r in zip(acc.groups, x.groups):
            low.b.emit(Op.ADD, comment=f"{n}.identity", count=x.h * x.w * a.channels,
                       a=a.ref, b=r.ref, dst=a.ref)
    return acc


@register_lowering("max_pool")
@register_lowering("avg_pool")
def lower_pool(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """POOL MAX or AVG (windowed) per channel group."""
    x, k, s = inputs[0], layer.attr("kernel"), layer.attr("stride")
    mode = PoolMode.MAX if layer.type == "max_pool" else PoolMode.AVG
    if x.pixels:
        raise GraphError(f"layer {layer.name}: {layer.type} cannot read the input image: put a "
                         "conv first")
    if k > min(x.h, x.w) or s > k:
        raise GraphError(f"layer {layer.name}: a {k}x{k}/s{s} pool needs stride <= kernel <= "
                         f"the {x.h}x{x.w} input: change kernel or stride")
    oh, ow = -(-(x.h - k) // s) + 1, -(-(x.w - k) // s) + 1
    out = low.map_like(layer.name, x, oh, ow)
    for src, dst in zip(x.groups, out.groups):
        low.b.emit(Op.POOL, comment=layer.name, in_h=x.h, in_w=x.w, channels=src.channels,
                   kernel_stride_pad=pack_ksp(k, s, 0), mode=mode, src=src.ref,
                   dst=dst.ref)
    return out


@register_lowering("global_avg_pool")
def lower_global_avg_pool(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """POOL GLOBAL_AVG per channel group."""
    if inputs[0].pixels:
        raise GraphError(f"layer {layer.name}: cannot pool the input image: put a conv first")
    return global_avg(low, layer.name, inputs[0])


@register_lowering("linear")
def lower_linear(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """LINEAR on a 1x1 map (the classifier)."""
    w, b = low.w[f"{layer.name}.weight"], low.w[f"{layer.name}.bias"]
    return low.linear(layer.name, inputs[0], np.asarray(w, np.float64),
                      np.asarray(b, np.float64))
