"""Digits accuracy of a graph classifier (SNN, VoVNet): float reference vs accelerator.

Both run the same pixels (edgemoe.data.digits: the test split as accelerator bytes); the
float side is :class:`~edgemoe.models.graph.GraphReference`, the accelerator side the
compiled program on an executor through :class:`~edgemoe.host.Accelerator`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

__all__ = ["E_AC_PJ", "E_MAC_PJ", "ac_vs_mac", "evaluate_digits", "format_digits_report"]

#: Energy per 32-bit multiply-accumulate and per accumulate, 45 nm (the DIET-SNN / IIR-SNN
#: line's model, docs/snn-digits.md): a model, not a measurement.
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


def evaluate_digits(model, accel, weights: Mapping[str, np.ndarray], backend: str = "golden",
                    n: int | None = None,
                    progress: Callable[[Iterable], Iterable] | None = None) -> dict:
    """Accuracy on the digits test split, float vs accelerator, plus SNN spike rates.

    Args:
        model: A graph model whose input is 1x8x8 and whose task has 10 classes.
        accel: Design point.
        weights: Canonical float weights.
        backend: ``golden`` or ``csim``.
        n: First ``n`` test samples (default: all 540).
        progress: Wrapper of the sample iterator (e.g. ``tqdm``).

    Returns:
        JSON-ready dict: accuracies (fractions), the drop in points, agreement of the two
        predictions, the mean spike rate of every ``lif`` layer (float reference) and the
        wrapped/saturated count of the accelerator runs.

    Raises:
        ValueError: The model does not take 8x8 one-channel images with 10 classes.
    """
    from ..compiler import compile_model
    from ..data.digits import load_digits_split
    from ..host import Accelerator
    from ..models.graph import GraphReference

    shape = (model.in_chans, model.image_height, model.image_width)
    if shape != (1, 8, 8) or model.task.channels != 10:
        raise ValueError(f"model {model.name} takes {shape} images with {model.task.channels} "
                         "classes; the digits need (1, 8, 8) and 10")
    _, _, pixels, labels = load_digits_split()
    if n is not None:
        if n < 1:
            raise ValueError(f"n={n}: give a positive number of samples")
        pixels, labels = pixels[:n], labels[:n]
    images = [p.reshape(shape) for p in pixels]
    ref = GraphReference(model, weights)
    lif = [layer.name for layer in model.layers if layer.type == "lif"]
    float_pred, rates = [], {name: [] for name in lif}
    for img in images:
        maps = ref.forward(img, keep=True)
        float_pred.append(int(np.argmax(maps[model.output.name])))
        for name in lif:
            rates[name].append(float(maps[name].mean()))
    compiled = compile_model(model, accel, weights)
    task = model.task.name
    with Accelerator(compiled, backend=backend) as acc:
        seq = progress(images) if progress else images
        results = [acc.run(img, task=task)[0] for img in seq]
    accel_pred = [int(np.argmax(r[task])) for r in results]
    overflows = sum(e.overflows for r in results for e in r.profiles[task].entries)
    fa = float(np.mean(np.array(float_pred) == labels))
    aa = float(np.mean(np.array(accel_pred) == labels))
    return {"model": model.name, "design_point": accel.name, "backend": backend,
            "samples": len(labels), "float_accuracy": fa, "accelerator_accuracy": aa,
            "drop_points": 100 * (fa - aa),
            "agreement": float(np.mean(np.array(float_pred) == np.array(accel_pred))),
            "spike_rates": {k: float(np.mean(v)) for k, v in rates.items()},
            "synaptic_ops": ac_vs_mac(model, {k: float(np.mean(v)) for k, v in rates.items()})
            if lif else None,
            "overflows": overflows}


def format_digits_report(r: dict) -> str:
    """Human-readable lines of an :func:`evaluate_digits` result."""
    lines = [(f"{r['model']} on {r['design_point']} ({r['backend']}), digits test split, "
             f"{r['samples']} samples"),
             (f"  accuracy: float {100 * r['float_accuracy']:.2f}%, accelerator "
             f"{100 * r['accelerator_accuracy']:.2f}% (drop {r['drop_points']:+.2f} points; "
             f"same prediction on {100 * r['agreement']:.2f}%)")]
    for name, rate in r["spike_rates"].items():
        lines.append(f"  spike rate {name}: {rate:.3f} spikes per neuron per step (float)")
    ops = r.get("synaptic_ops")
    if ops:
        lines.append(f"  per image: ANN {ops['ann_macs']:,} MACs; SNN {ops['snn_macs']:,} MACs "
                     f"(analog input layer) + {ops['snn_acs']:,.0f} ACs; implied energy ANN / "
                     f"SNN {ops['energy_ratio']:.2f}x (modelled: E_MAC {E_MAC_PJ} pJ, "
                     f"E_AC {E_AC_PJ} pJ, 45 nm)")
    lines.append(f"  values wrapped or saturated on the accelerator: {r['overflows']}")
    return "\n".join(lines)
