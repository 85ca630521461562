"""The scikit-learn 8x8 digits task and small torch MLPs for the seeds experiments.

Split as in docs/seeds.md: X / 16, ``train_test_split(test_size=0.3, random_state=0,
stratify=y)``; the data ships inside scikit-learn (nothing downloads).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Digits", "accuracy", "float_logits", "kl_divergence", "linear_layers",
           "load_digits_split", "make_mlp", "seeded_mlp", "train_mlp"]


@dataclass(frozen=True)
class Digits:
    """Train/test tensors of the digits split."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_split() -> Digits:
    """The fixed 70/30 stratified split (1257 train, 540 test images)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data / 16.0, data.target, test_size=0.3,
                                              random_state=0, stratify=data.target)
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)
    i64 = lambda a: torch.tensor(a, dtype=torch.int64)
    return Digits(f32(x_tr), i64(y_tr), f32(x_te), i64(y_te))


def make_mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of ``sizes`` (e.g. 64, 128, 10) with ReLU between them."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def linear_layers(net: nn.Sequential) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``net`` in order."""
    return [m for m in net if isinstance(m, nn.Linear)]


def train_mlp(
    net: nn.Sequential,
    data: Digits,
    seed: int,
    epochs: int = 60,
    lr: float = 3e-3,
    batch: int = 32,
    masks: dict[int, torch.Tensor] | None = None,
    extra_loss=None,
    label_smoothing: float = 0.0,
    input_noise: float = 0.0,
) -> nn.Sequential:
    """Adam on cross-entropy (in place; returns ``net``).

    Args:
        net: The MLP.
        data: Digits split.
        seed: Seeds the batch order.
        epochs: Passes over the training set.
        lr: Adam learning rate (cosine-decayed to 0).
        batch: Mini-batch size.
        masks: Layer index -> 0/1 mask of that layer's weight, re-applied after every
            step (fine-tuning with a fixed sparsity pattern).
        extra_loss: Optional callable ``() -> tensor`` added to each step's loss.
        label_smoothing: Cross-entropy label smoothing (regularises the small MLP).
        input_noise: Standard deviation of Gaussian noise added to each training batch's
            pixels (augmentation; drawn from the seeded generator).
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(data.x_train)
    steps = epochs * -(-n // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    layers = linear_layers(net)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            x = data.x_train[idx]
            if input_noise:
                x = x + input_noise * torch.randn(x.shape, generator=gen)
            loss = F.cross_entropy(net(x), data.y_train[idx], label_smoothing=label_smoothing)
            if extra_loss is not None:
                loss = loss + extra_loss()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if masks:
                with torch.no_grad():
                    for j, m in masks.items():
                        layers[j].weight.mul_(m)
    net.eval()
    return net


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy."""
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def kl_divergence(logits_ref: torch.Tensor, logits: torch.Tensor) -> float:
    """Mean over samples of KL(softmax(ref) || softmax(logits)) in nats."""
    p_log = F.log_softmax(logits_ref.double(), dim=1)
    q_log = F.log_softmax(logits.double(), dim=1)
    return float((p_log.exp() * (p_log - q_log)).sum(1).mean())


def seeded_mlp(sizes: Sequence[int], seed: int) -> nn.Sequential:
    """A freshly initialised MLP whose initial weights depend on ``seed`` only."""
    torch.manual_seed(seed)
    return make_mlp(sizes)


def float_logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits without autograd."""
    with torch.no_grad():
        return net(x)
