"""MixLLM channel salience and the choice of high-precision output channels.

Salience of output channel o of a weight W (second-order Taylor expansion of the loss with
the empirical Fisher as the Hessian): with dw_o = Q_low(w_o) - w_o and g_o the gradient
of one calibration sample's loss with respect to w_o,
score_o = sum over samples of |g_o . dw_o + (g_o . dw_o)^2 / 2|.
Global selection ranks the channels of all layers together; the baselines rank within
each layer or pick at random, all with the same number of high-precision channels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import torch

__all__ = ["channel_salience", "high_channel_count", "select_global", "select_per_layer",
           "select_random"]


def channel_salience(
    weights: Mapping[str, torch.Tensor],
    quantize: Callable[[np.ndarray], np.ndarray],
    sample_losses: Iterable[Callable[[], torch.Tensor]],
) -> dict[str, np.ndarray]:
    """Salience of every output channel of every weight.

    Args:
        weights: Name -> weight parameter (..., out, in) of the model the losses use; a
            leading expert axis counts as more output channels.
        quantize: Low-precision fake quantiser of an (out, in) float64 matrix.
        sample_losses: One callable per calibration sample returning that sample's loss
            (a fresh forward pass), so its gradient is the per-sample gradient.

    Returns:
        Name -> (channels,) float64 scores.
    """
    deltas = {}
    for name, w in weights.items():
        flat = w.detach().double().reshape(-1, w.shape[-1]).numpy()
        deltas[name] = torch.from_numpy(quantize(flat) - flat)
    scores = {name: np.zeros(d.shape[0]) for name, d in deltas.items()}
    for loss_fn in sample_losses:
        grads = torch.autograd.grad(loss_fn(), list(weights.values()), allow_unused=True)
        for (name, w), g in zip(weights.items(), grads):
            if g is None:  # e.g. an expert no token of this sample was routed to
                continue
            t = (g.detach().double().reshape(-1, w.shape[-1]) * deltas[name]).sum(dim=1)
            scores[name] += (t + 0.5 * t * t).abs().numpy()
    return scores


def high_channel_count(sizes: Mapping[str, int], fraction: float) -> int:
    """Number of high-precision channels for ``fraction`` of all channels (rounded)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"high-bits fraction {fraction} must be in [0, 1]")
    return round(fraction * sum(sizes.values()))


def _masks(sizes: Mapping[str, int], chosen: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, n in sizes.items():
        mask = np.zeros(n, dtype=bool)
        mask[chosen.get(name, np.zeros(0, dtype=np.int64))] = True
        out[name] = mask
    return out


def select_global(scores: Mapping[str, np.ndarray], fraction: float) -> dict[str, np.ndarray]:
    """Top ``fraction`` of all channels by score across layers (ties to the earlier channel)."""
    sizes = {k: len(v) for k, v in scores.items()}
    count = high_channel_count(sizes, fraction)
    names = list(scores)
    flat = np.concatenate([scores[k] for k in names])
    owner = np.concatenate([np.full(sizes[k], i) for i, k in enumerate(names)])
    local = np.concatenate([np.arange(sizes[k]) for k in names])
    top = np.argsort(-flat, kind="stable")[:count]
    return _masks(sizes, {k: local[top][owner[top] == i] for i, k in enumerate(names)})


def select_per_layer(scores: Mapping[str, np.ndarray], fraction: float) -> dict[str, np.ndarray]:
    """Top channels within each layer; layer shares ``fraction x channels`` rounded by
    largest remainder, so the total equals :func:`select_global`'s."""
    sizes = {k: len(v) for k, v in scores.items()}
    count = high_channel_count(sizes, fraction)
    exact = {k: fraction * n for k, n in sizes.items()}
    share = {k: int(np.floor(v)) for k, v in exact.items()}
    by_remainder = sorted(sizes, key=lambda k: -(exact[k] - share[k]))  # stable: layer order
    for k in by_remainder[: count - sum(share.values())]:
        share[k] += 1
    return _masks(sizes, {k: np.argsort(-scores[k], kind="stable")[: share[k]] for k in scores})


def select_random(sizes: Mapping[str, int], fraction: float,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A uniformly random ``fraction`` of all channels."""
    count = high_channel_count(sizes, fraction)
    names = list(sizes)
    pick = rng.choice(sum(sizes.values()), size=count, replace=False)
    bounds = np.cumsum([0] + [sizes[k] for k in names])
    return _masks(sizes, {k: pick[(pick >= bounds[i]) & (pick < bounds[i + 1])] - bounds[i]
                          for i, k in enumerate(names)})
