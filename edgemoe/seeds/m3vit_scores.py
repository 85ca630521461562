"""mIoU and depth abs-rel of an M3ViT on synthetic scenes: float reference or golden executor."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from edgemoe.data import synthetic
from edgemoe.evaluation.evaluate import EvalSide
from edgemoe.models import M3ViTReference
from edgemoe.models.layers import KeySelect
from edgemoe.params import AccelConfig, ModelConfig

__all__ = ["EVAL_SPLIT", "score_float", "score_golden"]

#: Accuracy is scored on the test split; calibration uses train scenes only.
EVAL_SPLIT = "test"


def _check(model: ModelConfig, n: int) -> None:
    names = [t.name for t in model.tasks]
    if names != ["seg", "depth"]:
        raise ValueError(f"model '{model.name}' has tasks {names}; the synthetic scenes score "
                         "tasks [seg, depth]: use m3vit-demo")
    size = synthetic.split_size(EVAL_SPLIT)
    if not 1 <= n <= size:
        raise ValueError(f"{n} scenes: the {EVAL_SPLIT} split has 1..{size}")


def _summary(side: EvalSide) -> dict[str, float]:
    return {"miou": side.seg.miou(), "abs_rel": side.depth.abs_rel()}


def score_float(model: ModelConfig, weights: Mapping[str, np.ndarray], n: int,
                key_select: Callable[[int], KeySelect] | None = None) -> dict[str, float]:
    """The float64 reference on the first ``n`` test scenes.

    Args:
        model: M3ViT with tasks seg and depth (m3vit-demo).
        weights: Canonical weights.
        n: Test scenes.
        key_select: Optional approximate attention (see :class:`M3ViTReference`).

    Returns:
        {"miou", "abs_rel"}.
    """
    _check(model, n)
    ref = M3ViTReference(model, weights, key_select=key_select)
    side = EvalSide.empty()
    for s in synthetic.iter_split(EVAL_SPLIT, n):
        px = s.pixels()
        side.seg.add(ref.predict(px, "seg"), s.labels)
        side.depth.add(ref.predict(px, "depth"), s.depth)
    return _summary(side)


def score_golden(model: ModelConfig, accel: AccelConfig, weights: Mapping[str, np.ndarray],
                 n: int, topk=None) -> dict[str, float]:
    """The compiled program on the bit-exact golden executor, first ``n`` test scenes.

    Args:
        model: M3ViT with tasks seg and depth (m3vit-demo).
        accel: Design point.
        weights: Canonical weights.
        n: Test scenes.
        topk: Optional top-k attention codebooks (:class:`edgemoe.compiler.AttnTopK`).

    Returns:
        {"miou", "abs_rel"}.
    """
    from edgemoe.compiler import compile_model
    from edgemoe.host import Accelerator

    _check(model, n)
    side = EvalSide.empty()
    with Accelerator(compile_model(model, accel, dict(weights), topk=topk),
                     backend="golden") as acc:
        for s in synthetic.iter_split(EVAL_SPLIT, n):
            pred = acc.run(s.pixels(), task="all")[0].predictions
            side.seg.add(pred["seg"], s.labels)
            side.depth.add(pred["depth"], s.depth)
    return _summary(side)
