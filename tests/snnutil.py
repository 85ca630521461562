"""SNN graph models for tests: the shipped config at any T and random LIF weights."""

from __future__ import annotations

import numpy as np

from edgemoe.params import load_model
from edgemoe.params.graph_model import graph_model_from_mapping


def snn_model(timesteps: int = 1, widths: tuple[int, ...] = (128, 128, 128)):
    """snn-digits with ``timesteps`` on every lif layer (and other hidden widths)."""
    base = load_model("snn-digits").to_dict()
    layers, prev = [], "input"
    for i, width in enumerate(widths):
        layers.append({"name": f"hidden{i + 1}", "type": "lif", "inputs": [prev],
                       "out_features": width, "timesteps": timesteps})
        prev = f"hidden{i + 1}"
    layers.append({"name": "readout", "type": "lif_readout", "inputs": [prev], "out_features": 10})
    doc = {k: v for k, v in base.items() if k != "name"} | {"layers": layers}
    return graph_model_from_mapping(doc, f"snn-digits-t{timesteps}", "<test>")


def snn_weights(model, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights that make every layer fire at a moderate rate (not all, not none)."""
    rng = np.random.default_rng(seed)
    out, fan_in = {}, 64
    for layer in model.layers:
        n = layer.attr("out_features")
        p = layer.name
        out[f"{p}.weight"] = rng.normal(0.0, 1.5 / np.sqrt(fan_in), (n, fan_in))
        out[f"{p}.bias"] = rng.normal(0.0, 0.1, n)
        if layer.type == "lif":
            out[f"{p}.threshold"] = rng.uniform(0.3, 0.6, 1)
            out[f"{p}.leak"] = rng.uniform(0.7, 1.0, 1)
        fan_in = n
    return out
