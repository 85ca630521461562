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
    float_pred, accel_pred = [], []
    with Accelerator(compiled, backend, accel=accel) as acc:
        for p in progress(x) if progress else x:
            float_pred.append(int(ref.forward(p).argmax()))
            accel_pred.append(int(acc.run(p, task=task)[0].predictions[task].reshape(-1)[0]))
    fp, ap = np.array(float_pred), np.array(accel_pred)
    return {"model": model.name, "design_point": accel.name, "backend": backend,
            "split": split, "images": count, "float_accuracy": float((fp == y).mean()),
            "accelerator_accuracy": float((ap == y).mean()),
            "agreement": float((fp == ap).mean()),
            "drop_points": float(100 * ((fp == y).mean() - (ap == y).mean()))}


def format_digits_report(r: Mapping[str, Any]) -> str:
    """One-paragraph text of an :func:`evaluate_digits` result."""
    return (f"{r['model']} on {r['design_point']} ({r['backend']}), digits {r['split']} split, "
            f"{r['images']} image(s)\n"
            f"  top-1 float {100 * r['float_accuracy']:.2f}%, accelerator "
            f"{100 * r['accelerator_accuracy']:.2f}% (drop {r['drop_points']:+.2f} points); "
            f"same class on {100 * r['agreement']:.2f}% of images")
