"""Float rules of the VoVNet layer types: conv, osa, max_pool, avg_pool, global_avg_pool,
linear.

Canonical weight names (``edgemoe.models.vovnet_import`` maps the official VoVNet names
onto them): a conv ``N`` has ``N.weight`` (out, in, k, k), ``N.bias`` when it has one, and
``N.bn.{weight,bias,running_mean,running_var}`` when BatchNorm follows; an OSA block ``N``
has its 3x3 layers ``N.layers.<i>.*``, the aggregation 1x1 ``N.concat.*`` (both conv + BN)
and, with eSE, ``N.ese.weight`` (C, C, 1, 1) and ``N.ese.bias``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .graph import LayerRule, Shape, register_layer
from .layers import batch_norm, conv2d, relu

#: BatchNorm epsilon of VoVNet (PyTorch's default).
VOVNET_BN_EPS = 1e-5
_BN = ("weight", "bias", "running_mean", "running_var")


def conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output size of a convolution (floor mode)."""
    return (size + 2 * pad - kernel) // stride + 1


def pool_out(size: int, kernel: int, stride: int) -> int:
    """Output size of an unpadded ceil-mode pooling (no window starts past the input)."""
    out = -(-(size - kernel) // stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """ReLU6(x + 3) / 6, eSE's gate."""
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def conv_bn_shapes(prefix: str, c_in: int, c_out: int, kernel: int, bn: bool = True,
                   bias: bool = False) -> dict[str, tuple]:
    """Weight shapes of a conv (+ BatchNorm)."""
    out: dict[str, tuple] = {f"{prefix}.weight": (c_out, c_in, kernel, kernel)}
    if bias:
        out[f"{prefix}.bias"] = (c_out,)
    if bn:
        out.update({f"{prefix}.bn.{k}": (c_out,) for k in _BN})
    return out


def conv_bn(x: np.ndarray, w: Mapping[str, np.ndarray], prefix: str, stride: int, pad: int,
            use_relu: bool = True) -> np.ndarray:
    """conv (+ BN when its weights exist) (+ ReLU) on a (C, H, W) map."""
    y = conv2d(x, w[f"{prefix}.weight"], w.get(f"{prefix}.bias"), stride, pad)
    if f"{prefix}.bn.weight" in w:
        y = batch_norm(y, *(w[f"{prefix}.bn.{k}"] for k in _BN), VOVNET_BN_EPS)
    return relu(y) if use_relu else y


def _pad(layer) -> int:
    pad = layer.attr("pad")
    return layer.attr("kernel") // 2 if pad < 0 else pad


@register_layer("conv")
class ConvLayer(LayerRule):
    """conv kxk / stride / pad, optional bias, BatchNorm and ReLU."""

    def out_shape(self, layer, in_shapes: list[Shape]) -> Shape:
        (_, h, w), k, s = in_shapes[0], layer.attr("kernel"), layer.attr("stride")
        oh, ow = conv_out(h, k, s, _pad(layer)), conv_out(w, k, s, _pad(layer))
        if min(oh, ow) < 1 or _pad(layer) >= k:
            raise ValueError(f"kernel {k} / pad {_pad(layer)} does not fit a {h}x{w} input: "
                             "use a smaller kernel or a larger input")
        return layer.attr("out_ch"), oh, ow

    def weight_shapes(self, layer, in_shapes):
        return conv_bn_shapes(layer.name, in_shapes[0][0], layer.attr("out_ch"),
                              layer.attr("kernel"), layer.attr("bn"), layer.attr("bias"))

    def forward(self, layer, weights, inputs):
        return conv_bn(inputs[0], weights, layer.name, layer.attr("stride"), _pad(layer),
                       layer.attr("relu"))


@register_layer("osa")
class OsaLayer(LayerRule):
    """One-shot aggregation: L conv3x3s, one 1x1 over [x, f_1..f_L], eSE, identity."""

    def out_shape(self, layer, in_shapes):
        c, h, w = in_shapes[0]
        if layer.attr("identity") and c != layer.attr("concat_ch"):
            raise ValueError(f"an identity residual needs input channels {c} == concat_ch "
                             f"{layer.attr('concat_ch')}: set identity: false")
        return layer.attr("concat_ch"), h, w

    def weight_shapes(self, layer, in_shapes):
        n, c_in = layer.name, in_shapes[0][0]
        g, cat, n_layers = layer.attr("stage_ch"), layer.attr("concat_ch"), layer.attr("layers")
        out: dict[str, tuple] = {}
        for i in range(n_layers):
            out.update(conv_bn_shapes(f"{n}.layers.{i}", c_in if i == 0 else g, g, 3))
        out.update(conv_bn_shapes(f"{n}.concat", c_in + n_layers * g, cat, 1))
        if layer.attr("ese"):
            out[f"{n}.ese.weight"] = (cat, cat, 1, 1)
            out[f"{n}.ese.bias"] = (cat,)
        return out

    def forward(self, layer, weights, inputs):
        n, x = layer.name, inputs[0]
        feats, cur = [x], x
        for i in range(layer.attr("layers")):
            cur = conv_bn(cur, weights, f"{n}.layers.{i}", 1, 1)
            feats.append(cur)
        y = conv_bn(np.concatenate(feats, axis=0), weights, f"{n}.concat", 1, 0)
        if layer.attr("ese"):
            gate = weights[f"{n}.ese.weight"][:, :, 0, 0] @ y.mean(axis=(1, 2)) \
                + weights[f"{n}.ese.bias"]
            y = y * hard_sigmoid(gate)[:, None, None]
        return y + x if layer.attr("identity") else y


@register_layer("max_pool")
class MaxPoolLayer(LayerRule):
    """kxk / stride s max pooling, ceil mode, no padding."""

    def out_shape(self, layer, in_shapes):
        (c, h, w), k, s = in_shapes[0], layer.attr("kernel"), layer.attr("stride")
        if k > min(h, w) or s > k:  # the POOL op's window rule (stride <= kernel <= size)
            raise ValueError(f"a {k}x{k}/s{s} pool does not fit a {h}x{w} input: drop the "
                             "pool, use a larger input or a stride <= kernel")
        oh, ow = pool_out(h, k, s), pool_out(w, k, s)
        return c, oh, ow

    def weight_shapes(self, layer, in_shapes):
        return {}

    #: How a window reduces to one value per channel (ceil mode: edge windows are clipped).
    reduce = staticmethod(np.max)

    def forward(self, layer, weights, inputs):
        x, k, s = inputs[0], layer.attr("kernel"), layer.attr("stride")
        c, oh, ow = self.out_shape(layer, [x.shape])
        out = np.empty((c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                out[:, i, j] = self.reduce(x[:, i * s:i * s + k, j * s:j * s + k], axis=(1, 2))
        return out


@register_layer("avg_pool")
class AvgPoolLayer(MaxPoolLayer):
    """kxk / stride s average pooling, ceil mode, no padding: a window clipped at the
    bottom/right edge averages the values it holds (PyTorch's ceil_mode without padding)."""

    reduce = staticmethod(np.mean)


@register_layer("global_avg_pool")
class GlobalAvgPoolLayer(LayerRule):
    """Mean over H and W -> (C, 1, 1)."""

    def out_shape(self, layer, in_shapes):
        return in_shapes[0][0], 1, 1

    def weight_shapes(self, layer, in_shapes):
        return {}

    def forward(self, layer, weights, inputs):
        return inputs[0].mean(axis=(1, 2), keepdims=True)


@register_layer("linear")
class LinearLayer(LayerRule):
    """Fully connected layer on a (C, 1, 1) vector (the classifier)."""

    def out_shape(self, layer, in_shapes):
        c, h, w = in_shapes[0]
        if (h, w) != (1, 1):
            raise ValueError(f"a linear layer takes a (C, 1, 1) vector, not {c}x{h}x{w}: "
                             "put a global_avg_pool before it")
        return layer.attr("out_features"), 1, 1

    def weight_shapes(self, layer, in_shapes):
        n, c = layer.name, in_shapes[0][0]
        return {f"{n}.weight": (layer.attr("out_features"), c),
                f"{n}.bias": (layer.attr("out_features"),)}

    def forward(self, layer, weights, inputs):
        n = layer.name
        y = weights[f"{n}.weight"] @ inputs[0].reshape(-1) + weights[f"{n}.bias"]
        return y[:, None, None]
