"""SETR-PUP task head (``VisionTransformerUpHead``) of M3ViT, float64.

Stages for ``n = model.head_upsamples`` (4 for M3ViT): LayerNorm on the patch tokens,
reshape to (dim, grid_h, grid_w), then ``conv_j`` 3x3 (pad 1) -> ``syncbn_fc_j`` (eval)
-> ReLU for j = 0 .. n-1 with a bilinear x2 upsample after each of them except the last,
then ``conv_n`` 1x1 to the task channels and a final bilinear x2 upsample.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from edgemoe.models.layers import batch_norm, conv2d, layer_norm, relu, upsample2x_bilinear
from edgemoe.models.weights import BN_EPS, head_conv_count

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = ["conv_input_keys", "setr_pup_head"]


def conv_input_keys(n: int) -> list[str]:
    """The ``trace`` keys of :func:`setr_pup_head` that hold the inputs of conv_0 .. conv_n
    (``n = model.head_upsamples``)."""
    return ["norm", *(f"up_{j}" for j in range(n - 1)), f"relu_{n - 1}"]


def setr_pup_head(
    patch_tokens: np.ndarray,
    weights: Mapping[str, np.ndarray],
    model: ModelConfig,
    task_name: str,
    trace: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Run one task head on the backbone's patch tokens.

    Args:
        patch_tokens: (num_patches, dim) backbone output without the CLS row, in
            row-major (grid_h, grid_w) order.
        weights: Canonical weights.
        model: Model configuration.
        task_name: Task whose ``heads.{task_name}.*`` tensors are used.
        trace: If given, receives ``norm`` (dim, gh, gw) and, per stage j, ``conv_j``,
            ``bn_j``, ``relu_j`` and ``up_j`` maps, then ``conv_n`` and ``out``.

    Returns:
        (channels, grid_h * 2**n, grid_w * 2**n) head output (logits or depth).
    """
    h = f"heads.{task_name}"
    n = head_conv_count(model)
    x = layer_norm(patch_tokens, weights[f"{h}.norm.weight"], weights[f"{h}.norm.bias"],
                   model.ln_eps)
    x = x.T.reshape(model.dim, model.grid_h, model.grid_w)
    tr = trace if trace is not None else {}
    tr["norm"] = x
    for j in range(n):
        x = conv2d(x, weights[f"{h}.conv_{j}.weight"], weights[f"{h}.conv_{j}.bias"], pad=1)
        tr[f"conv_{j}"] = x
        bn = f"{h}.syncbn_fc_{j}"
        x = batch_norm(x, weights[f"{bn}.weight"], weights[f"{bn}.bias"],
                       weights[f"{bn}.running_mean"], weights[f"{bn}.running_var"], BN_EPS)
        tr[f"bn_{j}"] = x
        x = relu(x)
        tr[f"relu_{j}"] = x
        if j < n - 1:
            x = upsample2x_bilinear(x)
            tr[f"up_{j}"] = x
    x = conv2d(x, weights[f"{h}.conv_{n}.weight"], weights[f"{h}.conv_{n}.bias"])
    tr[f"conv_{n}"] = x
    x = upsample2x_bilinear(x)
    tr["out"] = x
    return x
