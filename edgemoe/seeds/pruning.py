"""Pruning masks on the linear engine's weight tiles, and the magnitude baselines.

A tile is the engine's P_OUT x P_IN block of an (out, in) weight matrix (edgemoe/layout.py
packs weights tile by tile); an all-zero tile is one the engine can skip. The tile-skip
rate is the fraction of all-zero tiles among the ceil(out/P_OUT) x ceil(in/P_IN) tiles.
"""

from __future__ import annotations

import numpy as np

from edgemoe.layout import ceil_div

__all__ = ["dead_neurons", "expand_tiles", "magnitude_mask", "neuron_mask", "tile_mask",
           "tile_skip_rate", "tile_sums"]


def tile_sums(values: np.ndarray, tile: tuple[int, int]) -> np.ndarray:
    """(out/P_OUT, in/P_IN) sums of ``values`` over each tile (zero padded at the edges)."""
    p_out, p_in = tile
    out_f, in_f = values.shape
    to, ti = ceil_div(out_f, p_out), ceil_div(in_f, p_in)
    padded = np.zeros((to * p_out, ti * p_in))
    padded[:out_f, :in_f] = values
    return padded.reshape(to, p_out, ti, p_in).sum(axis=(1, 3))


def expand_tiles(keep: np.ndarray, tile: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Per-tile keep flags -> an element mask of ``shape``."""
    full = np.repeat(np.repeat(keep, tile[0], axis=0), tile[1], axis=1)
    return full[: shape[0], : shape[1]]


def tile_skip_rate(w: np.ndarray, tile: tuple[int, int]) -> float:
    """Fraction of tiles whose weights are all zero."""
    return float((tile_sums(np.abs(w) > 0, tile) == 0).mean())


def _keep_top(scores: np.ndarray, keep_count: int) -> np.ndarray:
    flat = scores.reshape(-1)
    keep = np.zeros(flat.shape, dtype=bool)
    keep[np.argsort(-flat, kind="stable")[:keep_count]] = True  # ties to the lower index
    return keep.reshape(scores.shape)


def magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Unstructured: keep the largest |w| so that ``sparsity`` of the weights are zero."""
    return _keep_top(np.abs(w), round((1 - sparsity) * w.size))


def neuron_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Whole output neurons (rows) by L2 norm, ``sparsity`` of the rows removed."""
    rows = _keep_top((w * w).sum(axis=1), round((1 - sparsity) * w.shape[0]))
    return np.repeat(rows[:, None], w.shape[1], axis=1)


def tile_mask(scores: np.ndarray, tile: tuple[int, int], skip: float) -> np.ndarray:
    """Keep the tiles with the largest summed ``scores`` so that ``skip`` of the tiles are zero.

    With ``scores = w**2`` this is the tile-magnitude baseline.
    """
    per_tile = tile_sums(scores, tile)
    keep = _keep_top(per_tile, round((1 - skip) * per_tile.size))
    return expand_tiles(keep, tile, scores.shape)


def dead_neurons(w: np.ndarray) -> int:
    """Output neurons (rows) whose weights are all zero."""
    return int((np.abs(w).sum(axis=1) == 0).sum())
