"""Float reference of layer-graph models: one forward rule per layer type.

A rule registered with :func:`register_layer` knows, for one layer type, its output shape,
the shapes of its weights (canonical names ``<layer name>.<suffix>``) and its float64
forward on planar ``(C, H, W)`` maps.  :class:`GraphReference` runs a
:class:`~edgemoe.params.graph_model.GraphModelConfig` layer by layer; the compiler lowers the
same graph (``edgemoe.compiler.graph``).  Register a new type as::

    @register_layer("lif")
    class LifLayer(LayerRule):
        def out_shape(self, layer, in_shapes): ...
        def weight_shapes(self, layer, in_shapes): ...
        def forward(self, layer, weights, inputs): ...

and add its attributes to ``edgemoe.params.graph_model.LAYER_ATTRS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .errors import ImageError, WeightError
from .m3vit import PIXEL_SCALE

if TYPE_CHECKING:
    from edgemoe.params.graph_model import GraphModelConfig, LayerSpec

__all__ = ["LAYER_RULES", "GraphReference", "LayerRule", "graph_random_weights",
           "graph_shapes", "graph_weight_shapes", "register_layer", "validate_graph_weights"]

#: (C, H, W) of a feature map; a vector is (C, 1, 1).
Shape = tuple[int, int, int]


class LayerRule:
    """The float semantics of one layer type (override all three methods)."""

    def out_shape(self, layer: LayerSpec, in_shapes: list[Shape]) -> Shape:
        """Output (C, H, W); raise ValueError with a fix for an impossible shape."""
        raise NotImplementedError

    def weight_shapes(self, layer: LayerSpec, in_shapes: list[Shape]) -> dict[str, tuple]:
        """Canonical weight name -> shape."""
        raise NotImplementedError

    def forward(self, layer: LayerSpec, weights: Mapping[str, np.ndarray],
                inputs: list[np.ndarray]) -> np.ndarray:
        """Float64 output map (C, H, W) from the input maps."""
        raise NotImplementedError


#: Layer type -> its rule.
LAYER_RULES: dict[str, LayerRule] = {}


def register_layer(kind: str):
    """Class decorator: register a :class:`LayerRule` subclass for layer type ``kind``."""
    def wrap(cls):
        LAYER_RULES[kind] = cls()
        return cls
    return wrap


def _rule(layer: LayerSpec) -> LayerRule:
    from . import snn_layers, vovnet_layers  # noqa: F401  (register the layer types)

    try:
        return LAYER_RULES[layer.type]
    except KeyError:
        raise WeightError(f"layer {layer.name}: type {layer.type!r} has no float rule; "
                          f"known: {', '.join(sorted(LAYER_RULES))}") from None


def graph_shapes(model: GraphModelConfig) -> dict[str, Shape]:
    """(C, H, W) of the input and of every layer's output.

    Raises:
        ValueError: A layer cannot take its input's shape (the message names the layer).
    """
    shapes: dict[str, Shape] = {"input": (model.in_chans, model.image_height,
                                          model.image_width)}
    for layer in model.layers:
        ins = [shapes[n] for n in layer.inputs]
        try:
            shapes[layer.name] = _rule(layer).out_shape(layer, ins)
        except ValueError as exc:
            raise ValueError(f"model {model.name}: layer {layer.name} ({layer.type}): {exc}") \
                from None
    c, h, w = shapes[model.output.name]
    if c * h * w != model.task.channels:
        raise ValueError(f"model {model.name}: the output layer {model.output.name} gives "
                         f"{c}x{h}x{w} values but task {model.task.name} has "
                         f"{model.task.channels} channels: make them equal")
    return shapes


def graph_weight_shapes(model: GraphModelConfig) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape of every weight of the model."""
    shapes = graph_shapes(model)
    out: dict[str, tuple[int, ...]] = {}
    for layer in model.layers:
        out.update(_rule(layer).weight_shapes(layer, [shapes[n] for n in layer.inputs]))
    return out


def validate_graph_weights(weights: Mapping[str, np.ndarray], model: GraphModelConfig) -> None:
    """Raise WeightError naming the first missing, extra or wrongly shaped tensor."""
    want = graph_weight_shapes(model)
    missing = sorted(set(want) - set(weights))
    if missing:
        raise WeightError(f"weights for {model.name} lack {len(missing)} tensors "
                          f"(first: {missing[0]} {want[missing[0]]}): export them all")
    extra = sorted(set(weights) - set(want))
    if extra:
        raise WeightError(f"weights for {model.name} have tensors the model does not use "
                          f"(first: {extra[0]}): check the model config matches the weights")
    for name, shape in want.items():
        got = tuple(np.shape(weights[name]))
        if got != shape:
            raise WeightError(f"weight {name} has shape {got}, model {model.name} needs "
                              f"{shape}: check the layer's attributes in the config")


def graph_random_weights(model: GraphModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded weights with trained-like magnitudes (He-scaled kernels, mild BatchNorms)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in graph_weight_shapes(model).items():
        if name.endswith("running_var"):
            out[name] = rng.uniform(0.5, 1.5, shape)
        elif name.endswith((".bn.weight", ".threshold", ".leak")):
            out[name] = rng.uniform(0.5, 1.0, shape)
        elif name.endswith(("bias", "running_mean")):
            out[name] = rng.normal(0.0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            out[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    return out


class GraphReference:
    """Float64 forward of a graph model on its canonical weights.

    Args:
        model: The graph model.
        weights: Canonical float weights (validated).
    """

    def __init__(self, model: GraphModelConfig, weights: Mapping[str, np.ndarray]) -> None:
        validate_graph_weights(weights, model)
        self.model = model
        self.weights = {k: np.asarray(v, np.float64) for k, v in weights.items()}

    def forward(self, pixels: np.ndarray, keep: bool = False) -> np.ndarray | dict:
        """Run the graph on uint8 pixels (C, H, W).

        Args:
            pixels: The image as the accelerator takes it (value = byte / 256).
            keep: Return every layer's output map (name -> (C, H, W)) instead of the
                output vector.

        Returns:
            The output layer's values flattened (C*H*W,), or all maps when ``keep``.
        """
        m = self.model
        want = (m.in_chans, m.image_height, m.image_width)
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.shape != want:
            got = getattr(pixels, "shape", type(pixels).__name__)
            raise ImageError(f"pixels must be uint8 of shape {want} for model {m.name} "
                             f"(got {got} {getattr(pixels, 'dtype', '')}): resize the image")
        maps = {"input": pixels.astype(np.float64) / PIXEL_SCALE}
        for layer in m.layers:
            maps[layer.name] = _rule(layer).forward(layer, self.weights,
                                                    [maps[n] for n in layer.inputs])
        return maps if keep else maps[m.output.name].reshape(-1)
