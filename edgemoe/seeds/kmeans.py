"""Lloyd's k-means with k-means++ seeding, in numpy (deterministic for a given seed)."""

from __future__ import annotations

import numpy as np

__all__ = ["assign", "kmeans", "kmeans_pp_init", "squared_distances"]


def squared_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, C) squared Euclidean distances between rows of ``x`` and ``centres``."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
    return np.maximum(d, 0.0)  # cancellation can make tiny distances negative


def assign(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every row (ties to the lower index)."""
    return np.argmin(squared_distances(x, centres), axis=1)


def kmeans_pp_init(x: np.ndarray, n_centres: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding.

    Each new centre is the best (lowest total D^2) of 2 + ln(C) candidates drawn with
    probability proportional to D(x)^2; plain k-means++ (one candidate) lands in poor local
    minima more often when clusters are well separated.
    """
    n = x.shape[0]
    trials = 2 + int(np.log(n_centres))
    centres = np.empty((n_centres, x.shape[1]), dtype=np.float64)
    centres[0] = x[rng.integers(n)]
    d2 = squared_distances(x, centres[:1])[:, 0]
    for c in range(1, n_centres):
        total = d2.sum()
        if total <= 0:  # every point already sits on a centre: any point will do
            centres[c] = x[rng.integers(n)]
            continue
        cand = np.searchsorted(np.cumsum(d2), rng.random(trials) * total).clip(max=n - 1)
        cand_d2 = np.minimum(d2[None, :], squared_distances(x, x[cand]).T)
        best = int(np.argmin(cand_d2.sum(axis=1)))
        centres[c] = x[cand[best]]
        d2 = cand_d2[best]
    return centres


def kmeans(
    x: np.ndarray, n_centres: int, rng: np.random.Generator, iters: int = 50, tol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``n_centres`` centres to the rows of ``x``.

    Args:
        x: (n, d) points, n >= n_centres.
        n_centres: Number of centres C.
        rng: Random generator (seeding and re-seeding of empty clusters).
        iters: Maximum Lloyd iterations.
        tol: Stop when the mean squared error improves by less than this fraction.

    Returns:
        (centres (C, d), labels (n,)).

    Raises:
        ValueError: Fewer points than centres.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < n_centres:
        raise ValueError(f"k-means needs at least as many points as centres: {x.shape[0]} "
                         f"points < {n_centres} centres; use more calibration data or a "
                         "smaller codebook")
    centres = kmeans_pp_init(x, n_centres, rng)
    prev = np.inf
    for _ in range(iters):
        d = squared_distances(x, centres)
        labels = np.argmin(d, axis=1)
        err = d[np.arange(len(x)), labels].mean()
        counts = np.bincount(labels, minlength=n_centres)
        sums = np.stack([np.bincount(labels, weights=col, minlength=n_centres) for col in x.T],
                        axis=1)  # per-column bincount: far faster than np.add.at
        empty = counts == 0
        centres[~empty] = sums[~empty] / counts[~empty, None]
        if empty.any():  # re-seed empty clusters on the worst-fitted points
            worst = np.argsort(-d[np.arange(len(x)), labels])[: int(empty.sum())]
            centres[empty] = x[worst]
        if prev - err <= tol * prev:
            break
        prev = err
    return centres, assign(x, centres)
