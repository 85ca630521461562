"""MixLLM salience for an M3ViT model from per-scene gradients of its training losses."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from edgemoe.params import ModelConfig
from edgemoe.seeds.calibration import calibration_scenes
from edgemoe.seeds.quant import fake_quant
from edgemoe.seeds.salience import channel_salience

__all__ = ["QUANTIZED_SUFFIXES", "m3vit_salience", "quantized_weight_names"]

log = logging.getLogger(__name__)

#: Weights of the linear engine's backbone layers that take per-channel precision. Routers
#: and the task heads stay at the design point's weight format.
QUANTIZED_SUFFIXES = ("attn.qkv.weight", "attn.proj.weight", "mlp.fc1.weight",
                      "mlp.fc2.weight", "mlp.experts.htoh4.weight", "mlp.experts.h4toh.weight")


def quantized_weight_names(weights: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the weights the precision map covers, in model order."""
    return [k for k in weights if k.startswith("blocks.") and k.endswith(QUANTIZED_SUFFIXES)]


def m3vit_salience(
    model: ModelConfig, weights: Mapping[str, np.ndarray], n_scenes: int, low_bits: int,
    group: int,
) -> dict[str, np.ndarray]:
    """Channel salience of every quantised weight over ``n_scenes`` calibration scenes.

    A sample is one scene; its loss is the sum of the task losses (segmentation
    cross-entropy, depth absolute relative error), as in training.
    """
    from edgemoe.training.torch_m3vit import TorchM3ViT  # torch model: lazy, heavy

    net = TorchM3ViT(model)
    state = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
    net.load_state_dict(state, strict=False)
    net.eval()
    params = dict(net.named_parameters())
    names = quantized_weight_names(weights)

    def scene_loss(scene):
        x = torch.from_numpy(scene.pixels()[None].astype(np.float32))
        seg = torch.from_numpy(scene.labels[None].astype(np.int64))
        depth = torch.from_numpy(scene.depth[None])

        def loss() -> torch.Tensor:
            pred = net(x, 1)[:, 0]
            return F.cross_entropy(net(x, 0), seg) + ((pred - depth).abs() / depth).mean()
        return loss

    log.info("salience of %d weights over %d calibration scenes", len(names), n_scenes)
    return channel_salience({k: params[k] for k in names},
                            lambda w: fake_quant(w, low_bits, group, symmetric=False),
                            [scene_loss(s) for s in calibration_scenes(n_scenes)])
