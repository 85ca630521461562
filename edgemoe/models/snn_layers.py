"""Float rules of the spiking layer types of graph models (``lif``, ``lif_readout``).

A spike train travels between layers as a map of shape (neurons, T, 1): channel n, row t
holds o_t[n], so its HWC storage is the LIF op's [t][neuron] spike layout.  A ``lif``
layer reading the image (``input``) takes the analog pixels at every step (direct input);
any other ``lif`` or ``lif_readout`` reads the spike train of the layer before it and
inherits its T.  Weights: ``<name>.weight`` (out, in), ``.bias``; a ``lif`` layer also has
the scalars ``.threshold`` and ``.leak`` (shape (1,)).  The dynamics are edgemoe.models.snn's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .graph import LayerRule, register_layer
from .snn import lif_train, scalar


def _spike_input(layer, in_shape) -> tuple[int, int]:
    """(inputs, T) of a layer: the flattened image (T from the layer) or a spike train."""
    c, h, w = in_shape
    if layer.inputs[0] == "input":
        return c * h * w, layer.attr("timesteps")
    if w != 1:
        raise ValueError(f"reads a {c}x{h}x{w} map, not a spike train (N, T, 1): put it "
                         "after 'input' or after a lif layer")
    if layer.type == "lif" and layer.attr("timesteps") != h:
        raise ValueError(f"timesteps={layer.attr('timesteps')} differs from the T={h} of its "
                         "input spike train: give every lif layer the same timesteps")
    return c, h


def _as_rows(layer, x: np.ndarray, steps: int) -> np.ndarray:
    """(T, inputs) rows of the layer's input: the image repeated, or the spike train."""
    if layer.inputs[0] == "input":
        return np.broadcast_to(x.reshape(-1), (steps, x.size))
    return x[:, :, 0].T


@register_layer("lif")
class LifLayer(LayerRule):
    """Fully connected leaky integrate-and-fire layer with reset by subtraction."""

    def out_shape(self, layer, in_shapes):
        if len(in_shapes) != 1:
            raise ValueError("a lif layer has exactly one input")
        _, steps = _spike_input(layer, in_shapes[0])
        return (layer.attr("out_features"), steps, 1)

    def weight_shapes(self, layer, in_shapes):
        k, _ = _spike_input(layer, in_shapes[0])
        n = layer.attr("out_features")
        return {f"{layer.name}.weight": (n, k), f"{layer.name}.bias": (n,),
                f"{layer.name}.threshold": (1,), f"{layer.name}.leak": (1,)}

    def forward(self, layer, weights: Mapping[str, np.ndarray], inputs):
        _, steps = _spike_input(layer, inputs[0].shape)
        p = layer.name
        rows = _as_rows(layer, inputs[0], steps)
        currents = rows @ weights[f"{p}.weight"].T + weights[f"{p}.bias"]
        spikes = lif_train(currents, scalar(weights[f"{p}.leak"]), scalar(weights[f"{p}.threshold"]))
        return spikes.T[:, :, None]


@register_layer("lif_readout")
class LifReadout(LayerRule):
    """Output layer: membrane sum_t (W o_t + b) over the spike train, no spike, no division."""

    def out_shape(self, layer, in_shapes):
        if len(in_shapes) != 1 or layer.inputs[0] == "input":
            raise ValueError("a lif_readout reads the spike train of one lif layer")
        _spike_input(layer, in_shapes[0])
        return (layer.attr("out_features"), 1, 1)

    def weight_shapes(self, layer, in_shapes):
        k, _ = _spike_input(layer, in_shapes[0])
        n = layer.attr("out_features")
        return {f"{layer.name}.weight": (n, k), f"{layer.name}.bias": (n,)}

    def forward(self, layer, weights, inputs):
        rows = inputs[0][:, :, 0].T
        p = layer.name
        return (rows @ weights[f"{p}.weight"].T + weights[f"{p}.bias"]).sum(axis=0)[:, None, None]
