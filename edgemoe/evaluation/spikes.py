"""Spiking-model statistics of a graph model: spike rates and synaptic operations.

Used by :func:`edgemoe.evaluation.classify.evaluate_digits` for models with ``lif`` layers.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["E_AC_PJ", "E_MAC_PJ", "ac_vs_mac", "lif_layers", "spike_rate_lines"]

#: Energy per 32-bit multiply-accumulate and per accumulate, 45 nm (the DIET-SNN / IIR-SNN
#: line's model, edgemoe/data/snn-digits.md): a model, not a measurement.
E_MAC_PJ, E_AC_PJ = 4.6, 0.9


def ac_vs_mac(model, rates: Mapping[str, float]) -> dict:
    """Synaptic operations of the SNN against the same-shape ANN, and the implied energy.

    A layer over analog inputs (the image) multiplies in both; a layer over spikes adds a
    weight per spike: ``rate * inputs * outputs * T`` accumulates instead of
    ``inputs * outputs`` MACs.

    Args:
        model: The graph model (``lif`` / ``lif_readout`` layers; others count as MACs).
        rates: Mean spikes per neuron per step of every ``lif`` layer.

    Returns:
        ANN MACs, SNN MACs and ACs, and the ANN / SNN energy ratio under E_MAC / E_AC.
    """
    from ..models.graph import graph_shapes

    shapes = graph_shapes(model)
    ann, snn_macs, snn_acs = 0, 0, 0.0
    for layer in model.layers:
        c, h, w = shapes[layer.inputs[0]]
        n = shapes[layer.name][0]
        src = layer.inputs[0]
        if src == "input" or layer.type not in ("lif", "lif_readout"):
            k = c * h * w
            ann += k * n
            snn_macs += k * n
        else:  # spikes in: (neurons, T, 1)
            ann += c * n
            snn_acs += rates[src] * c * n * h
    energy = (ann * E_MAC_PJ) / (snn_macs * E_MAC_PJ + snn_acs * E_AC_PJ)
    return {"ann_macs": ann, "snn_macs": snn_macs, "snn_acs": snn_acs, "energy_ratio": energy}


def lif_layers(model) -> list[str]:
    """Names of the model's ``lif`` layers (their outputs are spike trains)."""
    return [layer.name for layer in model.layers if layer.type == "lif"]


def spike_rate_lines(r: Mapping) -> list[str]:
    """Report lines of the spike rates and synaptic operations in an evaluation result."""
    lines = [f"  spike rate {name}: {rate:.3f} spikes per neuron per step (float)"
             for name, rate in r.get("spike_rates", {}).items()]
    ops = r.get("synaptic_ops")
    if ops:
        lines.append(f"  per image: ANN {ops['ann_macs']:,} MACs; SNN {ops['snn_macs']:,} MACs "
                     f"(analog input layer) + {ops['snn_acs']:,.0f} ACs; implied energy ANN / "
                     f"SNN {ops['energy_ratio']:.2f}x (modelled: E_MAC {E_MAC_PJ} pJ, "
                     f"E_AC {E_AC_PJ} pJ, 45 nm)")
    return lines
