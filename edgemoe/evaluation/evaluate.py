"""Accuracy of a trained M3ViT on the synthetic scenes: float reference vs accelerator.

Each scene of a split runs through the float64 reference (:class:`M3ViTReference`, on the
trained float weights) and through the compiled program on an executor (``golden`` or
``csim``), both tasks each. Both sides get the same metrics (:mod:`.metrics`); the
report adds the pixels where the two segmentations agree, the expert loads of every MoE
block per task (tokens the float router sends to each expert, counted over the k choices)
and the majority-class / mean-depth baselines for scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgemoe.data import synthetic
from edgemoe.evaluation.metrics import DepthMetrics, SegMetrics
from edgemoe.models import M3ViTReference
from edgemoe.params import AccelConfig, ModelConfig

__all__ = ["BASELINE_SCENES", "EvalSide", "baselines", "evaluate"]

log = logging.getLogger(__name__)

BASELINE_SCENES = 200
"""Train scenes whose statistics define the majority class and the mean depth."""


@dataclass
class EvalSide:
    """Segmentation and depth metrics of one side (float reference or accelerator)."""

    seg: SegMetrics
    depth: DepthMetrics

    @classmethod
    def empty(cls) -> EvalSide:
        """Zeroed accumulators for the synthetic classes."""
        return cls(SegMetrics(len(synthetic.CLASSES)), DepthMetrics())

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures: mIoU and IoU per class, pixel accuracy, abs-rel, RMSE."""
        return {
            "miou": self.seg.miou(),
            "iou": dict(zip(synthetic.CLASSES, map(float, self.seg.iou()))),
            "pixel_acc": self.seg.pixel_accuracy(),
            "abs_rel": self.depth.abs_rel(),
            "rmse": self.depth.rmse(),
        }


def baselines(scenes: Iterable[synthetic.Scene], n_stats: int = BASELINE_SCENES
              ) -> dict[str, float]:
    """Majority-class and mean-depth predictors (statistics of the first train scenes).

    Args:
        scenes: Scenes to score the constant predictors on.
        n_stats: Train scenes the majority class and mean depth are taken from.

    Returns:
        ``majority_class``, ``mean_depth_m`` and their ``miou``, ``pixel_acc``, ``abs_rel``
        and ``rmse``.
    """
    counts = np.zeros(len(synthetic.CLASSES), np.int64)
    depth_sum, pixels = 0.0, 0
    for s in synthetic.iter_split("train", n_stats):
        counts += np.bincount(s.labels.ravel(), minlength=len(counts))
        depth_sum += float(s.depth.sum(dtype=np.float64))
        pixels += s.depth.size
    major, mean_depth = int(counts.argmax()), depth_sum / pixels
    seg, dep = SegMetrics(len(counts)), DepthMetrics()
    for s in scenes:
        seg.add(np.full(s.labels.shape, major), s.labels)
        dep.add(np.full(s.depth.shape, mean_depth), s.depth)
    return {"majority_class": synthetic.CLASSES[major], "mean_depth_m": mean_depth,
            "miou": seg.miou(), "pixel_acc": seg.pixel_accuracy(), "abs_rel": dep.abs_rel(),
            "rmse": dep.rmse()}


def _reference_run(ref: M3ViTReference, pixels: np.ndarray, task: int,
                   loads: dict[int, np.ndarray]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Float prediction of one task and its top-k choices per MoE block (added to ``loads``)."""
    m = ref.model
    x = ref.patch_embed(pixels)
    chosen = {}
    for i in range(m.depth):
        trace: dict[str, np.ndarray] = {}
        x = ref.block(x, i, task, trace)
        if m.is_moe(i):
            chosen[i] = trace["topk_indices"]
            loads[i] += np.bincount(chosen[i].ravel(), minlength=m.num_experts)
    return ref.head_to_prediction(ref.head(x, task)), chosen


def _shared_choices(a: np.ndarray, b: np.ndarray) -> int:
    """Number of (token, expert) choices two routings of the same tokens have in common."""
    return int(sum(np.isin(a[t], b[t]).sum() for t in range(len(a))))


def evaluate(model: ModelConfig, accel: AccelConfig, weights: Mapping[str, np.ndarray],
             backend: str = "golden", split: str = "test", n: int | None = None,
             progress: Callable[[Iterable], Iterable] | None = None,
             int8: Mapping[str, float] | None = None,
             mixed: Mapping | None = None) -> dict[str, Any]:
    """Score the float reference and the accelerator on ``n`` scenes of ``split``.

    Args:
        model: M3ViT model with tasks ``seg`` (7 classes) and ``depth``.
        accel: Design point to compile for.
        weights: Canonical float weights.
        backend: Executor of the compiled program (``golden`` or ``csim``).
        split: ``train``, ``val`` or ``test``.
        n: Number of scenes (default: the whole split).
        progress: Optional wrapper of the scene iterator (a tqdm bar).
        int8: W8A8 layers and their calibrated input ranges (``compile_model``'s ``int8``);
            None compiles every layer in the design point's own formats.
        mixed: mixed int4/int8 LINEARs (``compile_model``'s ``mixed``, from a precision map).

    Returns:
        JSON-ready dict: ``float`` and ``accelerator`` summaries (see :meth:`EvalSide.summary`),
        ``seg_agreement`` (fraction of pixels with the same class on both sides),
        ``expert_loads`` (task -> MoE block -> tokens per expert, float router),
        ``routing_overlap`` (MoE block -> share of a token's top-k experts that the two
        tasks' routers have in common),
        ``baselines``, ``deltas`` (accelerator minus float) and the run's parameters.

    Raises:
        ValueError: The model's tasks do not match the synthetic data.
    """
    from edgemoe.compiler import compile_model  # lazy: keeps this module light to import
    from edgemoe.host import Accelerator

    names = [t.name for t in model.tasks]
    if names != ["seg", "depth"] or model.tasks[0].channels != len(synthetic.CLASSES):
        raise ValueError(f"model '{model.name}' has tasks {names}; evaluation on the synthetic "
                         f"scenes needs tasks [seg ({len(synthetic.CLASSES)} classes), depth]")
    count = synthetic.split_size(split) if n is None else n
    if not 1 <= count <= synthetic.split_size(split):
        raise ValueError(f"--n {count} is out of range: split '{split}' has "
                         f"{synthetic.split_size(split)} scenes")
    ref = M3ViTReference(model, weights)
    sides = {"float": EvalSide.empty(), "accelerator": EvalSide.empty()}
    loads = {t: {b: np.zeros(model.num_experts, np.int64) for b in model.moe_blocks}
             for t in names}
    agree = 0
    shared = dict.fromkeys(model.moe_blocks, 0)
    compiled = compile_model(model, accel, dict(weights), int8=int8, mixed=mixed)
    indices = range(count)
    with Accelerator(compiled, backend=backend, accel=accel) as acc:  # (may be --set)
        for i in progress(indices) if progress else indices:
            s = synthetic.scene(split, i)
            px = s.pixels()
            result = acc.run(px, task="all")[0]
            chosen = {}
            for t, task in enumerate(names):
                pred_f, chosen[task] = _reference_run(ref, px, t, loads[task])
                pred_a = result.predictions[task]
                for side, pred in (("float", pred_f), ("accelerator", pred_a)):
                    if task == "seg":
                        sides[side].seg.add(pred, s.labels)
                    else:
                        sides[side].depth.add(pred, s.depth)
                if task == "seg":
                    agree += int(np.count_nonzero(pred_f == pred_a))
            for b in model.moe_blocks:
                shared[b] += _shared_choices(chosen["seg"][b], chosen["depth"][b])
    out = {k: v.summary() for k, v in sides.items()}
    f, a = out["float"], out["accelerator"]
    return {
        "model": model.name, "design_point": accel.name, "backend": backend, "split": split,
        "int8_layers": len(int8 or {}), "mixed_layers": len(mixed or {}),
        "scenes": count, **out,
        "seg_agreement": agree / (count * model.image_height * model.image_width),
        "expert_loads": {t: {str(b): v.tolist() for b, v in per.items()}
                         for t, per in loads.items()},
        "routing_overlap": {str(b): v / (count * model.num_tokens * model.top_k)
                            for b, v in shared.items()},
        "baselines": baselines(synthetic.iter_split(split, count)),
        "deltas": {"miou_points": 100.0 * (a["miou"] - f["miou"]),
                   "abs_rel_relative": (a["abs_rel"] - f["abs_rel"]) / f["abs_rel"],
                   "rmse_relative": (a["rmse"] - f["rmse"]) / f["rmse"]},
    }
