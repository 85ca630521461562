"""The MixLLM digits experiment: global vs per-layer vs random high-precision channels.

MLP 64-64-32-10 on digits, low precision W2 (asymmetric), high precision W8 (symmetric)
for 10 % of all output channels, groups of 32 inputs, float activations (seeds.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edgemoe.seeds.digits import (
    Digits,
    accuracy,
    float_logits,
    kl_divergence,
    linear_layers,
    seeded_mlp,
    train_mlp,
)
from edgemoe.seeds.quant import fake_quant, mixed_fake_quant
from edgemoe.seeds.salience import (
    channel_salience,
    select_global,
    select_per_layer,
    select_random,
)

__all__ = ["MixSetup", "run_mixllm_digits"]

METHODS = ("uniform", "random", "per_layer", "global")


@dataclass(frozen=True)
class MixSetup:
    """One configuration of the experiment."""

    sizes: tuple[int, ...] = (64, 64, 32, 10)
    low_bits: int = 2
    high_bits: int = 8
    group: int = 32
    fraction: float = 0.1
    calib: int = 128
    epochs: int = 30


def _quantized(net, masks: dict[str, np.ndarray] | None, s: MixSetup):
    """A copy of ``net`` with every Linear weight fake-quantised (biases stay float)."""
    q = seeded_mlp(s.sizes, 0)
    q.load_state_dict(net.state_dict())
    with torch.no_grad():
        for i, layer in enumerate(linear_layers(q)):
            w = layer.weight.double().numpy()
            high = masks[str(i)] if masks else np.zeros(w.shape[0], dtype=bool)
            layer.weight.copy_(torch.from_numpy(
                mixed_fake_quant(w, high, s.low_bits, s.high_bits, s.group)))
    return q


def run_mixllm_digits(data: Digits, seed: int, setup: MixSetup = MixSetup()) -> dict:
    """Train one float MLP (seeded) and score every selection method on the test set.

    Returns:
        {"float": accuracy, method: {"acc", "kl", "high"}} for METHODS, where ``kl`` is
        KL(float || quantised) averaged over test images and ``high`` the number of
        high-precision channels.
    """
    torch.set_num_threads(1)  # tiny matrices: threads only add contention
    net = train_mlp(seeded_mlp(setup.sizes, seed), data, seed, epochs=setup.epochs)
    ref = float_logits(net, data.x_test)
    layers = linear_layers(net)
    rng = np.random.default_rng(seed)
    calib = rng.choice(len(data.x_train), size=setup.calib, replace=False)

    def sample_loss(i: int):
        return lambda: F.cross_entropy(net(data.x_train[i : i + 1]), data.y_train[i : i + 1])

    scores = channel_salience({str(i): m.weight for i, m in enumerate(layers)},
                              lambda w: fake_quant(w, setup.low_bits, setup.group, False),
                              [sample_loss(int(i)) for i in calib])
    sizes = {k: len(v) for k, v in scores.items()}
    choices = {"uniform": None, "random": select_random(sizes, setup.fraction, rng),
               "per_layer": select_per_layer(scores, setup.fraction),
               "global": select_global(scores, setup.fraction)}
    out: dict = {"float": accuracy(net, data.x_test, data.y_test)}
    for method, masks in choices.items():
        q = _quantized(net, masks, setup)
        out[method] = {"acc": accuracy(q, data.x_test, data.y_test),
                       "kl": kl_divergence(ref, float_logits(q, data.x_test)),
                       "high": int(sum(m.sum() for m in masks.values())) if masks else 0}
    return out
