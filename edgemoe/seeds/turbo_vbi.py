"""Turbo-VBI (module A: mean-field VBI; module B: sum-product on the support MRF).

Three-layer prior on one weight matrix W (out x in): support s_i in {0, 1} with an MRF
over the weight grid, precision gamma_i ~ Gamma(a, b) if active and Gamma(a_bar, b_bar)
if not, weight w_i ~ N(0, 1 / gamma_i).

Module A keeps q(w) = N(mu, sigma^2) (trained by backprop with the local
reparameterisation trick; the prior enters the loss as E_q[-log p(w | gamma)] with
E[gamma] from q(gamma)), the closed-form Gamma posterior
a~ = pi~ a + (1 - pi~) a_bar + 1, b~ = E[w^2] + pi~ b + (1 - pi~) b_bar (the paper's
updates), and q(s). Its message to module B is the evidence
E[log Gamma(gamma; a, b)] - E[log Gamma(gamma; a_bar, b_bar)] per weight; module B runs
sum-product on the MRF and returns the support posterior pi~ that module A uses next.
The two alternate with rounds of training in between.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgemoe.seeds.digits import Digits
from edgemoe.seeds.mrf import GridMRF, pair_log_factor

__all__ = ["TurboPrior", "VariationalLinear", "gamma_evidence", "infer_support", "support_mrf",
           "turbo_vbi"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurboPrior:
    """Hyper-parameters of the hierarchical prior.

    Attributes:
        a, b: Gamma shape/rate of active weights' precision (weak shrinkage); b is in
            units of the layer's mean squared weight, so the prior fits any weight scale.
        a_bar, b_bar: The same for inactive weights (strong shrinkage).
        node_prior: P(active) of a weight before its neighbours are seen.
        p11_tile, p01_tile: P(active | neighbour active), P(active | neighbour inactive)
            for neighbours in the same engine tile.
        p11_cross, p01_cross: the same across a tile boundary (the reference's demo
            values: 0.49 and 0.288).
    """

    a: float = 1.0
    b: float = 1.0
    a_bar: float = 1.0
    b_bar: float = 0.01
    node_prior: float = 0.2
    p11_tile: float = 0.7
    p01_tile: float = 0.3
    p11_cross: float = 0.49
    p01_cross: float = 0.288


class VariationalLinear(nn.Module):
    """Linear layer with a factorised Gaussian q(w) and the local reparameterisation trick."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.mu = nn.Parameter(weight.detach().clone())
        self.log_var = nn.Parameter(torch.full_like(weight, -10.0))
        self.bias = nn.Parameter(bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = F.linear(x, self.mu, self.bias)
        if not self.training:
            return mean
        var = F.linear(x * x, self.log_var.exp())
        return mean + var.clamp_min(1e-16).sqrt() * torch.randn_like(mean)

    def prior_energy(self, e_gamma: torch.Tensor) -> torch.Tensor:
        """E_q[-log p(w | gamma)] - entropy of q(w), up to constants."""
        e_w2 = self.mu**2 + self.log_var.exp()
        return 0.5 * (e_gamma * e_w2).sum() - 0.5 * self.log_var.sum()


def _e_log_gamma_pdf(a: float, b: float, e_g: torch.Tensor, e_log_g: torch.Tensor
                     ) -> torch.Tensor:
    return a * math.log(b) - math.lgamma(a) + (a - 1) * e_log_g - b * e_g


def gamma_evidence(e_w2: torch.Tensor, pi: torch.Tensor, prior: TurboPrior, scale: float
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Module A's closed-form q(gamma) and its evidence about the support.

    Args:
        e_w2: E[w^2] under q(w).
        pi: Support posterior pi~.
        prior: Hyper-parameters.
        scale: The layer's mean squared weight (unit of b and b_bar).

    Returns:
        (E[gamma], evidence = E log Gamma(gamma; a, b) - E log Gamma(gamma; a_bar, b_bar)).
    """
    b, b_bar = prior.b * scale, prior.b_bar * scale
    a_t = pi * prior.a + (1 - pi) * prior.a_bar + 1.0
    b_t = e_w2 + pi * b + (1 - pi) * b_bar
    e_g = a_t / b_t
    e_log_g = torch.digamma(a_t) - torch.log(b_t)
    evidence = (_e_log_gamma_pdf(prior.a, b, e_g, e_log_g)
                - _e_log_gamma_pdf(prior.a_bar, b_bar, e_g, e_log_g))
    return e_g, evidence


def support_mrf(shape: tuple[int, int], tile: tuple[int, int], prior: TurboPrior) -> GridMRF:
    """The support MRF of an (out, in) weight: tile-internal edges coupled more strongly."""
    rows, cols = shape
    inside, across = (pair_log_factor(prior.p11_tile, prior.p01_tile),
                      pair_log_factor(prior.p11_cross, prior.p01_cross))
    # edge (c, c + 1) stays inside a tile unless c + 1 starts a new tile column
    row_same = ((np.arange(cols - 1) + 1) % tile[1] != 0)[None, :, None, None]
    col_same = ((np.arange(rows - 1) + 1) % tile[0] != 0)[:, None, None, None]
    row_factor = np.where(row_same, inside, across) * np.ones((rows, 1, 1, 1))
    col_factor = np.where(col_same, inside, across) * np.ones((1, cols, 1, 1))
    return GridMRF(prior.node_prior, row_factor, col_factor)


def turbo_vbi(
    net: nn.Sequential, data: Digits, tile: tuple[int, int], seed: int,
    prior: TurboPrior = TurboPrior(), rounds: int = 10, epochs_per_round: int = 3,
    lr: float = 2e-3, batch: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Run Turbo-VBI on the first Linear layer of a trained ``net`` (in place).

    Args:
        net: Sequential MLP; layer 0 must be ``nn.Linear`` (it is replaced by a
            :class:`VariationalLinear`).
        data: Training data.
        tile: (P_OUT, P_IN) engine tile.
        seed: Seeds batch order and reparameterisation noise.
        prior: Prior hyper-parameters.
        rounds: Module A / module B alternations.
        epochs_per_round: Training epochs of q(w) between alternations.
        lr: Adam learning rate.
        batch: Mini-batch size.

    Returns:
        (posterior mean of W (out, in), support posterior pi~ (out, in)).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    first = net[0]
    layer = VariationalLinear(first.weight, first.bias)
    net[0] = layer
    mrf = support_mrf(tuple(layer.mu.shape), tile, prior)
    scale = float((layer.mu.detach() ** 2).mean())
    pi = torch.full_like(layer.mu, prior.node_prior).detach()
    e_gamma, _ = gamma_evidence((layer.mu**2).detach(), pi, prior, scale)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(data.x_train)
    for r in range(rounds):
        net.train()
        for _ in range(epochs_per_round):
            order = torch.randperm(n, generator=gen)
            for i in range(0, n, batch):
                idx = order[i : i + batch]
                loss = (F.cross_entropy(net(data.x_train[idx]), data.y_train[idx])
                        + layer.prior_energy(e_gamma) / n)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():  # module A, then module B, then module A with the new pi~
            e_w2 = layer.mu**2 + layer.log_var.exp()
            _, evidence = gamma_evidence(e_w2, pi, prior, scale)
            _, post = mrf.propagate(evidence.double().numpy())
            pi = torch.from_numpy(post).to(layer.mu.dtype)
            e_gamma, _ = gamma_evidence(e_w2, pi, prior, scale)
        log.debug("round %d: mean pi~ %.3f, active > 0.5: %.3f", r, float(pi.mean()),
                  float((pi > 0.5).float().mean()))
    net.eval()
    return layer.mu.detach().double().numpy(), pi.double().numpy()


def infer_support(w: np.ndarray, tile: tuple[int, int], prior: TurboPrior, rounds: int = 5
                  ) -> np.ndarray:
    """Module A / module B alternation on fixed weights (q(w) = a point mass at ``w``).

    For a trained layer without retraining: E[w^2] = w^2, the Gamma posterior and the MRF
    exchange messages ``rounds`` times.

    Returns:
        Support posterior pi~ of every weight, shape of ``w``.
    """
    e_w2 = torch.from_numpy(np.asarray(w, dtype=np.float64) ** 2)
    scale = float(e_w2.mean()) or 1.0
    mrf = support_mrf(w.shape, tile, prior)
    pi = torch.full_like(e_w2, prior.node_prior)
    for _ in range(rounds):
        _, evidence = gamma_evidence(e_w2, pi, prior, scale)
        pi = torch.from_numpy(mrf.propagate(evidence.numpy())[1])
    return pi.numpy()
