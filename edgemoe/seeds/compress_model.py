"""Structured pruning of an M3ViT's MLP and expert weights to a target tile-skip rate."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from edgemoe.models.layers import gelu
from edgemoe.seeds.pruning import tile_mask, tile_skip_rate
from edgemoe.seeds.turbo_vbi import TurboPrior, infer_support

__all__ = ["PRUNED_SUFFIXES", "compress_weights", "fold_dead_neurons"]

log = logging.getLogger(__name__)

#: The weights pruned: dense MLP and expert matrices (the bulk of the linear engine's work).
PRUNED_SUFFIXES = ("mlp.fc1.weight", "mlp.fc2.weight", "mlp.experts.htoh4.weight",
                   "mlp.experts.h4toh.weight")
#: (fc1, fc2) name stems of a dense MLP and of a block's experts.
_MLP_PAIRS = (("mlp.fc1", "mlp.fc2"), ("mlp.experts.htoh4", "mlp.experts.h4toh"))


def fold_dead_neurons(weights: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """Make every hidden neuron with an all-zero fc1 row contribute nothing.

    Such a neuron's hidden value is the constant GELU(b1_j), so its whole contribution
    W2[:, j] GELU(b1_j) moves into fc2's bias and b1_j and W2[:, j] become zero; the float
    model computes the same function (experts too: fc2's bias sits inside the gate). The
    compiler then drops the neuron (:mod:`edgemoe.compiler.dead_neurons`).

    Returns:
        (weights with the folded neurons, number of neurons folded).
    """
    out = dict(weights)
    folded = 0
    blocks = sorted({n.split(".")[1] for n in weights if n.startswith("blocks.")}, key=int)
    for i in blocks:
        for fc1, fc2 in _MLP_PAIRS:
            p1, p2 = f"blocks.{i}.{fc1}", f"blocks.{i}.{fc2}"
            if f"{p1}.weight" not in weights:
                continue
            w1, b1 = np.asarray(weights[f"{p1}.weight"]), np.asarray(weights[f"{p1}.bias"])
            w2, b2 = np.asarray(weights[f"{p2}.weight"]), np.asarray(weights[f"{p2}.bias"])
            dead = ~np.any(w1 != 0, axis=-1)  # (hidden,) or (experts, hidden)
            if not dead.any():
                continue
            const = np.where(dead, gelu(b1), 0.0)
            shift = np.einsum("...oh,...h->...o", w2.astype(np.float64), const)
            out[f"{p2}.bias"] = (b2 + shift).astype(b2.dtype)
            out[f"{p1}.bias"] = np.where(dead, 0, b1).astype(b1.dtype)
            out[f"{p2}.weight"] = np.where(dead[..., None, :], 0, w2).astype(w2.dtype)
            folded += int(dead.sum())
    return out, folded


def compress_weights(
    weights: Mapping[str, np.ndarray], tile: tuple[int, int], skip: float, rounds: int = 5,
) -> tuple[dict[str, np.ndarray], dict[str, float], int]:
    """Zero whole engine tiles of every MLP/expert matrix, ``skip`` of the tiles in each.

    Per matrix (per expert), Turbo-VBI's support posterior pi~ is inferred on the trained
    weights (:func:`~edgemoe.seeds.turbo_vbi.infer_support`, node prior 1 - skip) and the
    tiles with the largest posterior energy sum(pi~ w^2) are kept. Hidden neurons left
    without fc1 weights are then folded away (:func:`fold_dead_neurons`).

    Returns:
        (all weights with the pruned ones replaced, weight name -> achieved tile-skip rate,
        number of dead hidden neurons).

    Raises:
        ValueError: ``skip`` outside [0, 1).
    """
    if not 0.0 <= skip < 1.0:
        raise ValueError(f"--target-tile-skip {skip}: give a fraction in [0, 1)")
    prior = replace(TurboPrior(), node_prior=min(max(1.0 - skip, 0.01), 0.99))
    out = dict(weights)
    for name, w in weights.items():
        if not (name.startswith("blocks.") and name.endswith(PRUNED_SUFFIXES)):
            continue
        mats = np.asarray(w, dtype=np.float64).reshape(-1, *w.shape[-2:])
        pruned = np.empty_like(mats)
        for e, m in enumerate(mats):
            pi = infer_support(m, tile, prior, rounds)
            pruned[e] = m * tile_mask(pi * m * m, tile, skip)
        out[name] = pruned.reshape(w.shape).astype(w.dtype)
    out, dead = fold_dead_neurons(out)
    rates = {}
    for name in weights:
        if name.startswith("blocks.") and name.endswith(PRUNED_SUFFIXES):
            mats = np.asarray(out[name]).reshape(-1, *out[name].shape[-2:])
            rates[name] = float(np.mean([tile_skip_rate(m, tile) for m in mats]))
            log.info("%s: tile-skip %.3f", name, rates[name])
    log.info("%d dead hidden neurons folded into fc2's bias", dead)
    return out, rates, dead
