"""A2ATS query-aware vector quantisation of attention keys, approximate scores and top-k.

Plain k-means on keys minimises ||k - c||^2, which weighs every direction of key space
alike. What attention needs is a small score error q.(k - c) for the queries that occur.
With H = E[q q^T] over calibration queries and L L^T = H + eps I,
||(k - c) L||^2 = (k - c) H (k - c)^T + eps ||k - c||^2 = E_q[(q.(k - c))^2] + eps ||k - c||^2,
so k-means on the transformed keys k L minimises the expected score error; the codebook used
at decode time is the transformed centres times L^-1 (back in key space).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgemoe.seeds.kmeans import assign, kmeans

__all__ = ["Codebook", "attention_probs", "captured_mass", "cholesky_factor", "fit_codebook",
           "recall", "top_k"]

#: Ridge added to H before the Cholesky factorisation (A2ATS uses 1e-6).
CHOLESKY_EPS = 1e-6


@dataclass(frozen=True)
class Codebook:
    """A fitted key codebook.

    Attributes:
        centres: (C, d) codewords in key space (what the accelerator scores against).
        transform: (d, d) matrix L that maps keys into the space codes were fitted in
            (identity for plain k-means); codes of new keys are nearest centres there.
    """

    centres: np.ndarray
    transform: np.ndarray

    def encode(self, keys: np.ndarray) -> np.ndarray:
        """Code id of every key (row), nearest codeword in the fitting metric."""
        return assign(np.asarray(keys, dtype=np.float64) @ self.transform,
                      self.centres @ self.transform)

    def approx_scores(self, queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """(queries, keys) approximate dot products: the score table q.c gathered by code id."""
        table = np.asarray(queries, dtype=np.float64) @ self.centres.T  # C x d MACs per query
        return table[:, codes]


def cholesky_factor(queries: np.ndarray, eps: float = CHOLESKY_EPS) -> np.ndarray:
    """Lower-triangular L with L L^T = H + eps I, H = sum q q^T of unit-RMS queries / n.

    Queries are normalised to unit RMS first so a few large queries do not dominate H.
    """
    q = np.asarray(queries, dtype=np.float64)
    rms = np.sqrt((q * q).mean(axis=1, keepdims=True))
    q = q / np.where(rms > 0, rms, 1.0)
    h = q.T @ q / len(q)
    return np.linalg.cholesky(h + eps * np.eye(q.shape[1]))


def fit_codebook(
    keys: np.ndarray,
    n_codes: int,
    rng: np.random.Generator,
    queries: np.ndarray | None = None,
    iters: int = 50,
) -> Codebook:
    """Fit a key codebook: query-aware when ``queries`` are given, plain k-means otherwise.

    Args:
        keys: (n, d) calibration keys.
        n_codes: Codebook size C.
        rng: Random generator for k-means++.
        queries: (m, d) calibration queries; None gives the plain k-means baseline.
        iters: Maximum Lloyd iterations.

    Returns:
        The :class:`Codebook`.
    """
    keys = np.asarray(keys, dtype=np.float64)
    d = keys.shape[1]
    transform = np.eye(d) if queries is None else cholesky_factor(queries)
    centres_t, _ = kmeans(keys @ transform, n_codes, rng, iters=iters)
    # c = c~ L^-1, solved rather than inverted: L^T c^T = c~^T
    centres = np.linalg.solve(transform.T, centres_t.T).T
    return Codebook(centres=centres, transform=transform)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores per row, ties to the lower index, sorted by rank.

    Args:
        scores: (rows, n) scores.
        k: 1 <= k <= n.

    Returns:
        (rows, k) int64 indices.
    """
    scores = np.atleast_2d(scores)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top-k needs 1 <= k <= {scores.shape[1]} (the number of keys), got {k}")
    # a stable sort of the negated scores keeps equal scores in index order
    return np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)


def attention_probs(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Exact softmax(q k^T / sqrt(d)) over the keys, one row per query."""
    s = queries @ keys.T / np.sqrt(keys.shape[1])
    s = np.exp(s - s.max(axis=1, keepdims=True))
    return s / s.sum(axis=1, keepdims=True)


def recall(selected: np.ndarray, exact: np.ndarray) -> float:
    """Mean over rows of |selected & exact| / k."""
    hits = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(selected, exact)]
    return float(np.mean(hits) / exact.shape[1])


def captured_mass(selected: np.ndarray, probs: np.ndarray) -> float:
    """Mean over rows of the exact attention probability carried by the selected keys."""
    return float(np.take_along_axis(probs, selected, axis=1).sum(axis=1).mean())
