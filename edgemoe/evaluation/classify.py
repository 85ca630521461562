"""Accuracy of a graph-model classifier on scikit-learn's digits: float vs accelerator."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["evaluate_digits", "format_digits_report"]


def evaluate_digits(model, accel, weights: Mapping[str, np.ndarray], backend: str = "golden",
                    split: str = "test", n: int | None = None,
                    progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, Any]:
    """Top-1 accuracy of the float reference and the accelerator on the digits split.

    Args:
        model: A graph model with a 1x8x8 input and 10 classes.
        accel: Design point to compile for.
        weights: Canonical float weights.
        backend: ``golden`` or ``csim``.
        split: ``train`` or ``test`` (the reference split of edgemoe.data.digits).
        n: Number of images (default: the whole split).
        progress: Optional wrapper of the image iterator.

    Raises:
        ValueError: The model does not take digits, or ``split`` / ``n`` is out of range.
    """
    from edgemoe.compiler import compile_model
    from edgemoe.data.digits import DIGITS_CLASSES, load_digits_split
    from edgemoe.host import Accelerator
    from edgemoe.models.graph import GraphReference

    from .spikes import ac_vs_mac, lif_layers

    if (model.in_chans, model.image_height, model.image_width) != (1, 8, 8) or \
            model.task.channels != DIGITS_CLASSES:
        raise ValueError(f"model '{model.name}' does not take 1x8x8 digits into 10 classes")
    if split not in ("train", "test"):
        raise ValueError(f"split '{split}': the digits have a train and a test split")
    x_tr, y_tr, x_te, y_te = load_digits_split()
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    count = len(y) if n is None else n
    if not 1 <= count <= len(y):
        raise ValueError(f"--n {count} is out of range: split '{split}' has {len(y)} images")
    x, y = x[:count], y[:count]
    ref = GraphReference(model, weights)
    compiled = compile_model(model, accel, weights)
    task = model.task.name
    lif = lif_layers(model)  # spiking layers: their mean spike rates (float reference)
    float_pred, accel_pred, rates, overflows = [], [], {k: [] for k in lif}, 0
    with Accelerator(compiled, backend, accel=accel) as acc:
        for p in progress(x) if progress else x:
            maps = ref.forward(p, keep=True)
            float_pred.append(int(maps[model.output.name].argmax()))
            for name in lif:
                rates[name].append(float(maps[name].mean()))
            res = acc.run(p, task=task)[0]
            accel_pred.append(int(res.predictions[task].reshape(-1)[0]))
            overflows += sum(e.overflows for e in res.profiles[task].entries)
    fp, ap = np.array(float_pred), np.array(accel_pred)
    out = {"model": model.name, "design_point": accel.name, "backend": backend,
           "split": split, "images": count, "float_accuracy": float((fp == y).mean()),
           "accelerator_accuracy": float((ap == y).mean()),
           "agreement": float((fp == ap).mean()),
           "drop_points": float(100 * ((fp == y).mean() - (ap == y).mean())),
           "overflows": overflows}
    if lif:
        out["spike_rates"] = {k: float(np.mean(v)) for k, v in rates.items()}
        out["synaptic_ops"] = ac_vs_mac(model, out["spike_rates"])
    return out


def format_digits_report(r: Mapping[str, Any]) -> str:
    """One-paragraph text of an :func:`evaluate_digits` result."""
    from .spikes import spike_rate_lines

    head = (f"{r['model']} on {r['design_point']} ({r['backend']}), digits {r['split']} split, "
            f"{r['images']} image(s)\n"
            f"  top-1 float {100 * r['float_accuracy']:.2f}%, accelerator "
            f"{100 * r['accelerator_accuracy']:.2f}% (drop {r['drop_points']:+.2f} points); "
            f"same class on {100 * r['agreement']:.2f}% of images")
    return "\n".join([head, *spike_rate_lines(r),
                      f"  values wrapped or saturated on the accelerator: {r['overflows']}"])
