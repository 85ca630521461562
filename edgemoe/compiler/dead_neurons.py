"""Dead-neuron removal: MLP and expert hidden neurons that contribute exactly nothing.

Structured pruning (``edgemoe compress``) leaves hidden neurons whose fc1 row and fc1 bias
are zero (their hidden value is GELU(0) = 0) or whose fc2 input column is zero. In the
device's arithmetic such a neuron adds an exact zero to every fc2 accumulator (sums are
exact integers, one rounding per output), so dropping it gives a smaller dense fc1 (fewer
output rows) and an fc2 with fewer inputs and the same output bytes.

Decisions are taken on the quantized weights (the values the device sees), so a weight
that underflows to zero counts as zero. Experts of one block share one hidden width: each
expert keeps its live neurons in their original order and is padded with all-zero
neurons up to the block's largest live count.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from .quantize import dequantized

__all__ = ["live_neurons", "remove_dead_neurons"]

log = logging.getLogger(__name__)

#: (fc1 weight, fc1 bias, fc2 weight) name stems of a dense MLP and of a block's experts.
_DENSE = ("mlp.fc1", "mlp.fc2")
_EXPERTS = ("mlp.experts.htoh4", "mlp.experts.h4toh")


def live_neurons(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, formats) -> np.ndarray:
    """Hidden neurons of one MLP that can change its output, as a bool vector.

    Args:
        w1: (hidden, dim) fc1 weight; b1: (hidden,) fc1 bias; w2: (dim, hidden) fc2 weight.
        formats: The design point's ``formats`` (``linear_weight`` and ``bias``).

    Returns:
        (hidden,) True where the neuron's quantized fc1 row or bias is non-zero and its
        quantized fc2 column is non-zero.
    """
    q1 = dequantized(w1, formats.linear_weight) != 0
    qb = dequantized(b1, formats.bias) != 0
    q2 = dequantized(w2, formats.linear_weight) != 0
    return (q1.any(axis=1) | qb) & q2.any(axis=0)


def _shrink(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, keep: np.ndarray, width: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``keep`` neurons in order, then all-zero neurons up to ``width``."""
    pad = width - int(keep.sum())
    return (np.concatenate([w1[keep], np.zeros((pad, w1.shape[1]), w1.dtype)]),
            np.concatenate([b1[keep], np.zeros(pad, b1.dtype)]),
            np.concatenate([w2[:, keep], np.zeros((w2.shape[0], pad), w2.dtype)], axis=1))


def remove_dead_neurons(model, formats, weights: Mapping[str, np.ndarray]
                        ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Weights with every dead MLP / expert hidden neuron removed.

    Args:
        model: M3ViT ``ModelConfig``.
        formats: The design point's number formats.
        weights: Canonical (validated) weights.

    Returns:
        (weights where each block's fc1/fc2 or htoh4/h4toh have the reduced hidden width;
        the other entries are the input arrays, block prefix -> hidden neurons removed).
    """
    out = dict(weights)
    removed: dict[str, int] = {}
    for i in range(model.depth):
        p = f"blocks.{i}"
        fc1, fc2 = (f"{p}.{s}" for s in (_EXPERTS if model.is_moe(i) else _DENSE))
        w1, b1, w2 = (np.asarray(weights[n]) for n in (f"{fc1}.weight", f"{fc1}.bias",
                                                        f"{fc2}.weight"))
        stacked = w1.ndim == 3
        if not stacked:
            w1, b1, w2 = w1[None], b1[None], w2[None]
        keep = np.stack([live_neurons(*m, formats) for m in zip(w1, b1, w2, strict=True)])
        width = max(int(keep.sum(axis=1).max()), 1)  # an all-dead MLP keeps one zero neuron
        if width == w1.shape[1]:
            continue
        parts = [_shrink(*m, k, width) for *m, k in zip(w1, b1, w2, keep, strict=True)]
        new = [np.stack(x) if stacked else x[0] for x in zip(*parts, strict=True)]
        out[f"{fc1}.weight"], out[f"{fc1}.bias"], out[f"{fc2}.weight"] = new
        removed[p] = w1.shape[1] - width
        log.info("%s: %d of %d hidden neurons dead, MLP width %d", p, removed[p], w1.shape[1],
                 width)
    return out, removed
