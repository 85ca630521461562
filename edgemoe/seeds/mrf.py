"""Sum-product (loopy belief propagation) on a binary Markov random field over a 2-D grid.

Module B of Turbo-VBI: the support s (1 = active weight) of a weight matrix is an MRF
with pair factors between horizontal and vertical neighbours. Given each node's evidence
from module A, BP returns per node the *extrinsic* prior (the node prior times the
messages of its neighbours, without its own evidence) and the full posterior marginal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GridMRF", "pair_log_factor"]


def pair_log_factor(p_act_given_act: float, p_act_given_inact: float) -> np.ndarray:
    """(2, 2) log pair factor log P(s_j | s_i) indexed [s_i, s_j] (a Markov transition)."""
    for p in (p_act_given_act, p_act_given_inact):
        if not 0.0 < p < 1.0:
            raise ValueError(f"MRF transition probability {p} must be in (0, 1)")
    t = np.array([[1 - p_act_given_inact, p_act_given_inact],
                  [1 - p_act_given_act, p_act_given_act]])
    return np.log(t)


def _logsumexp2(a: np.ndarray, axis: int) -> np.ndarray:
    """log(exp(a_0) + exp(a_1)) over a length-2 ``axis`` (one ufunc call, no temporaries)."""
    return np.logaddexp(np.take(a, 0, axis=axis), np.take(a, 1, axis=axis))


@dataclass(frozen=True)
class GridMRF:
    """A binary MRF over an (rows, cols) grid.

    Attributes:
        node_prior: P(s = 1) of every node before any neighbour is seen.
        row_factor: (rows, cols - 1, 2, 2) log factors between (r, c) and (r, c + 1).
        col_factor: (rows - 1, cols, 2, 2) log factors between (r, c) and (r + 1, c).
    """

    node_prior: float
    row_factor: np.ndarray
    col_factor: np.ndarray

    def propagate(self, evidence: np.ndarray, iters: int = 20
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Run sum-product with per-node evidence (log-likelihood ratio, active vs not).

        Args:
            evidence: (rows, cols) log p(data | s = 1) - log p(data | s = 0).
            iters: Parallel message-passing sweeps.

        Returns:
            (extrinsic prior P(s = 1) from the neighbours, posterior P(s = 1)), each
            (rows, cols).
        """
        rows, cols = evidence.shape
        unary = np.zeros((rows, cols, 2))
        unary[..., 1] = np.log(self.node_prior) + evidence
        unary[..., 0] = np.log(1 - self.node_prior)
        # log messages arriving at each node from its left/right/upper/lower neighbour
        left, right, up, down = (np.zeros((rows, cols, 2)) for _ in range(4))
        for _ in range(iters):
            total = unary + left + right + up + down
            # message from (r, c) to (r, c + 1): exclude what (r, c + 1) sent to (r, c)
            out = (total - right)[:, :-1, :, None] + self.row_factor
            new_left = np.zeros_like(left)
            new_left[:, 1:] = _logsumexp2(out, axis=2)
            # message from (r, c + 1) to (r, c): factor indexed [s_(r,c), s_(r,c+1)]
            out = (total - left)[:, 1:, None, :] + self.row_factor
            new_right = np.zeros_like(right)
            new_right[:, :-1] = _logsumexp2(out, axis=3)
            out = (total - down)[:-1, :, :, None] + self.col_factor
            new_up = np.zeros_like(up)
            new_up[1:] = _logsumexp2(out, axis=2)
            out = (total - up)[1:, :, None, :] + self.col_factor
            new_down = np.zeros_like(down)
            new_down[:-1] = _logsumexp2(out, axis=3)
            left, right, up, down = (m - m.max(axis=2, keepdims=True)
                                     for m in (new_left, new_right, new_up, new_down))
        prior = unary.copy()
        prior[..., 1] -= evidence
        prior += left + right + up + down
        post = prior.copy()
        post[..., 1] += evidence
        return _prob1(prior), _prob1(post)


def _prob1(log_p: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(np.clip(log_p[..., 0] - log_p[..., 1], -500, 500)))
