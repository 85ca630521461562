"""Structured pruning of an M3ViT's MLP and expert weights to a target tile-skip rate."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from edgemoe.seeds.pruning import tile_mask, tile_skip_rate
from edgemoe.seeds.turbo_vbi import TurboPrior, infer_support

__all__ = ["PRUNED_SUFFIXES", "compress_weights"]

log = logging.getLogger(__name__)

#: The weights pruned: dense MLP and expert matrices (the bulk of the linear engine's work).
PRUNED_SUFFIXES = ("mlp.fc1.weight", "mlp.fc2.weight", "mlp.experts.htoh4.weight",
                   "mlp.experts.h4toh.weight")


def compress_weights(
    weights: Mapping[str, np.ndarray], tile: tuple[int, int], skip: float, rounds: int = 5,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Zero whole engine tiles of every MLP/expert matrix, ``skip`` of the tiles in each.

    Per matrix (per expert), Turbo-VBI's support posterior pi~ is inferred on the trained
    weights (:func:`~edgemoe.seeds.turbo_vbi.infer_support`, node prior 1 - skip) and the
    tiles with the largest posterior energy sum(pi~ w^2) are kept.

    Returns:
        (all weights with the pruned ones replaced, weight name -> achieved tile-skip rate).

    Raises:
        ValueError: ``skip`` outside [0, 1).
    """
    if not 0.0 <= skip < 1.0:
        raise ValueError(f"--target-tile-skip {skip}: give a fraction in [0, 1)")
    prior = replace(TurboPrior(), node_prior=min(max(1.0 - skip, 0.01), 0.99))
    out = dict(weights)
    rates = {}
    for name, w in weights.items():
        if not (name.startswith("blocks.") and name.endswith(PRUNED_SUFFIXES)):
            continue
        mats = np.asarray(w, dtype=np.float64).reshape(-1, *w.shape[-2:])
        pruned = np.empty_like(mats)
        for e, m in enumerate(mats):
            pi = infer_support(m, tile, prior, rounds)
            pruned[e] = m * tile_mask(pi * m * m, tile, skip)
        out[name] = pruned.reshape(w.shape).astype(w.dtype)
        rates[name] = float(np.mean([tile_skip_rate(p, tile) for p in pruned]))
        log.info("%s: tile-skip %.3f", name, rates[name])
    return out, rates
