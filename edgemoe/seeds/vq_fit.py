"""Per-block, per-head A2ATS key codebooks for an M3ViT model (`edgemoe vq-fit`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from edgemoe.params import ModelConfig
from edgemoe.seeds.a2ats import CHOLESKY_EPS, fit_codebook
from edgemoe.seeds.calibration import attention_qk

__all__ = ["fit_model_codebooks"]

log = logging.getLogger(__name__)


def fit_model_codebooks(
    model: ModelConfig, weights: Mapping[str, np.ndarray], n_codes: int, n_scenes: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit one query-aware codebook per block and head from float-reference calibration.

    Args:
        model: M3ViT model config.
        weights: Canonical weights.
        n_codes: Codebook size C (at most the number of calibration keys per head).
        n_scenes: Calibration scenes (each contributes tokens x tasks keys and queries).
        seed: k-means++ seed.

    Returns:
        (centres (depth, heads, C, head_dim), transform (depth, heads, hd, hd), meta).

    Raises:
        ValueError: ``n_codes`` < 1 or larger than the calibration keys per head.
    """
    samples = n_scenes * len(model.tasks) * model.num_tokens
    if not 1 <= n_codes <= samples:
        raise ValueError(f"--codebook {n_codes}: {n_scenes} calibration scene(s) give "
                         f"{samples} keys per head; use a codebook of 1..{samples} or more "
                         "--calib scenes")
    queries, keys = attention_qk(model, weights, n_scenes)
    depth, heads, _, hd = keys.shape
    centres = np.zeros((depth, heads, n_codes, hd))
    transform = np.zeros((depth, heads, hd, hd))
    rng = np.random.default_rng(seed)
    for i in range(depth):
        for h in range(heads):
            book = fit_codebook(keys[i, h], n_codes, rng, queries=queries[i, h])
            centres[i, h], transform[i, h] = book.centres, book.transform
            codes = book.encode(keys[i, h])
            err = np.mean((queries[i, h] * (keys[i, h] - book.centres[codes])).sum(1) ** 2)
            log.info("block %d head %d: %d codes, calibration score MSE %.4g", i, h, n_codes, err)
    meta = {"model": model.name, "codebook": n_codes, "calib_scenes": n_scenes,
            "calib_samples_per_head": samples, "eps": CHOLESKY_EPS, "seed": seed,
            "depth": depth, "heads": heads, "head_dim": hd}
    return centres, transform, meta
