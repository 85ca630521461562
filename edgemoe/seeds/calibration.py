"""Calibration data from a model's float reference on the synthetic training scenes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from edgemoe.data.synthetic import iter_split, split_size
from edgemoe.models import M3ViTReference
from edgemoe.params import ModelConfig

__all__ = ["CALIB_SPLIT", "attention_qk", "calibration_scenes"]

#: Calibration comes from the training split: never from the scenes accuracy is scored on.
CALIB_SPLIT = "train"


def calibration_scenes(n: int) -> Iterator:
    """The first ``n`` training scenes.

    Raises:
        ValueError: ``n`` is not in [1, size of the training split].
    """
    size = split_size(CALIB_SPLIT)
    if not 1 <= n <= size:
        raise ValueError(f"--calib {n}: give a number of calibration scenes in 1..{size}")
    return iter_split(CALIB_SPLIT, n)


def attention_qk(
    model: ModelConfig, weights: Mapping[str, np.ndarray], n_scenes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Queries and keys of every block and head over calibration scenes and all tasks.

    Args:
        model: An M3ViT model config.
        weights: Its canonical weights.
        n_scenes: Number of calibration scenes.

    Returns:
        (queries, keys), each (depth, heads, samples, head_dim) float64 with
        samples = n_scenes x tasks x tokens.
    """
    ref = M3ViTReference(model, weights)
    hd = model.dim // model.heads
    qs: list[list[np.ndarray]] = [[] for _ in range(model.depth)]
    ks: list[list[np.ndarray]] = [[] for _ in range(model.depth)]
    for scene in calibration_scenes(n_scenes):
        pixels = scene.pixels()
        for task in range(len(model.tasks)):
            x = ref.patch_embed(pixels)
            for i in range(model.depth):
                trace: dict[str, np.ndarray] = {}
                x = ref.block(x, i, task, trace)
                qs[i].append(trace["q"].reshape(-1, model.heads, hd).transpose(1, 0, 2))
                ks[i].append(trace["k"].reshape(-1, model.heads, hd).transpose(1, 0, 2))
    return (np.stack([np.concatenate(q, axis=1) for q in qs]),
            np.stack([np.concatenate(k, axis=1) for k in ks]))
