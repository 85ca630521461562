"""Canonical M3ViT weight names and shapes, random initialisation, validation and folding.

Canonical weights are a ``dict[str, numpy.ndarray]`` of float64 arrays keyed by the
M3ViT PyTorch ``state_dict`` names (see :func:`expected_shapes`). Every importer in
this package converts to this form and every consumer (reference model, compiler)
reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from edgemoe.models.errors import WeightError

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = [
    "BN_EPS",
    "expected_shapes",
    "fold_bn",
    "fold_cls_into_pos",
    "head_conv_count",
    "random_weights",
    "validate_weights",
]

BN_EPS = 1e-5
"""BatchNorm epsilon of the SETR-PUP heads (PyTorch default)."""

_BN_PARTS = ("weight", "bias", "running_mean", "running_var")


def head_conv_count(model: ModelConfig) -> int:
    """Number of 3x3 conv stages in a SETR-PUP head (conv_0 .. conv_{n-1}); conv_n is 1x1."""
    return int(model.head_upsamples)


def expected_shapes(model: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Return every canonical tensor name of ``model`` with its shape, in canonical order.

    Args:
        model: A ``ModelConfig`` of kind M3ViT (dense and MoE blocks, per-task routers,
            one SETR-PUP head per task).

    Returns:
        Ordered mapping ``name -> shape``.
    """
    d, p, c = model.dim, model.patch, model.in_chans
    e, hid = model.num_experts, model.expert_hidden
    shapes: dict[str, tuple[int, ...]] = {
        "patch_embed.proj.weight": (d, c, p, p),
        "patch_embed.proj.bias": (d,),
        "cls_token": (1, 1, d),
        "pos_embed": (1, model.num_tokens, d),
    }
    for i in range(model.depth):
        b = f"blocks.{i}"
        shapes[f"{b}.norm1.weight"] = (d,)
        shapes[f"{b}.norm1.bias"] = (d,)
        shapes[f"{b}.attn.qkv.weight"] = (3 * d, d)
        shapes[f"{b}.attn.qkv.bias"] = (3 * d,)
        shapes[f"{b}.attn.proj.weight"] = (d, d)
        shapes[f"{b}.attn.proj.bias"] = (d,)
        shapes[f"{b}.norm2.weight"] = (d,)
        shapes[f"{b}.norm2.bias"] = (d,)
        if model.is_moe(i):
            shapes[f"{b}.mlp.experts.htoh4.weight"] = (e, hid, d)
            shapes[f"{b}.mlp.experts.htoh4.bias"] = (e, hid)
            shapes[f"{b}.mlp.experts.h4toh.weight"] = (e, d, hid)
            shapes[f"{b}.mlp.experts.h4toh.bias"] = (e, d)
            for t in range(len(model.tasks)):
                shapes[f"{b}.mlp.gate.{t}.w_gate"] = (d, e)
        else:
            shapes[f"{b}.mlp.fc1.weight"] = (model.mlp_hidden, d)
            shapes[f"{b}.mlp.fc1.bias"] = (model.mlp_hidden,)
            shapes[f"{b}.mlp.fc2.weight"] = (d, model.mlp_hidden)
            shapes[f"{b}.mlp.fc2.bias"] = (d,)
    hc = model.head_channels
    n = head_conv_count(model)
    for task in model.tasks:
        h = f"heads.{task.name}"
        shapes[f"{h}.norm.weight"] = (d,)
        shapes[f"{h}.norm.bias"] = (d,)
        for j in range(n):
            shapes[f"{h}.conv_{j}.weight"] = (hc, d if j == 0 else hc, 3, 3)
            shapes[f"{h}.conv_{j}.bias"] = (hc,)
        for j in range(n):
            for part in _BN_PARTS:
                shapes[f"{h}.syncbn_fc_{j}.{part}"] = (hc,)
        shapes[f"{h}.conv_{n}.weight"] = (task.channels, hc, 1, 1)
        shapes[f"{h}.conv_{n}.bias"] = (task.channels,)
    return shapes


def _trunc_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Normal(0, std) truncated to [-2 std, 2 std] by redrawing the outliers."""
    x = rng.normal(0.0, std, size=shape)
    bad = np.abs(x) > 2.0 * std
    while bad.any():
        x[bad] = rng.normal(0.0, std, size=int(bad.sum()))
        bad = np.abs(x) > 2.0 * std
    return x


def _init_tensor(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw one tensor with the scale a trained M3ViT/SETR-PUP tensor of that role has."""
    leaf = name.rsplit(".", 1)[-1]
    parent = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
    if parent.startswith("syncbn_fc_"):
        if leaf == "running_mean":
            return rng.normal(0.0, 0.1, size=shape)
        if leaf == "running_var":
            return rng.uniform(0.5, 1.5, size=shape)
        if leaf == "weight":
            return 1.0 + rng.normal(0.0, 0.05, size=shape)
        return rng.normal(0.0, 0.02, size=shape)
    if parent.startswith("norm"):  # norm1, norm2, heads.T.norm: LayerNorm affine
        if leaf == "weight":
            return 1.0 + rng.normal(0.0, 0.05, size=shape)
        return rng.normal(0.0, 0.02, size=shape)
    if name.startswith("heads.") and parent.startswith("conv_"):
        if leaf == "weight":
            fan_in = int(np.prod(shape[1:]))
            return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        return rng.normal(0.0, 0.02, size=shape)
    if name == "patch_embed.proj.weight":
        return rng.normal(0.0, 0.02, size=shape)
    if leaf == "bias":
        return rng.normal(0.0, 0.02, size=shape)
    # linear / expert / gate weights, cls_token, pos_embed: ViT trunc-normal std 0.02
    return _trunc_normal(rng, shape, 0.02)


def random_weights(model: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Draw a full canonical weight set with realistic per-role scales.

    Scales: ViT trunc-normal std 0.02 for linear, expert, gate, cls and position weights;
    LayerNorm/BatchNorm gamma 1 + N(0, 0.05), beta N(0, 0.02); biases N(0, 0.02); patch
    conv N(0, 0.02); head convs Kaiming N(0, 2/fan_in); BN running mean N(0, 0.1) and
    running var U(0.5, 1.5).

    Args:
        model: The model configuration.
        seed: Seed of ``numpy.random.default_rng``; equal seeds give identical weights.

    Returns:
        Canonical float64 weights.
    """
    rng = np.random.default_rng(seed)
    return {
        name: np.ascontiguousarray(_init_tensor(name, shape, rng), dtype=np.float64)
        for name, shape in expected_shapes(model).items()
    }


def validate_weights(weights: Mapping[str, Any], model: ModelConfig) -> None:
    """Check a weight set against ``model`` and report every problem at once.

    Args:
        weights: Candidate canonical weights.
        model: The model configuration.

    Raises:
        WeightError: Listing each missing, extra, mis-shaped (expected vs got), non-float
            and non-finite (with the count of bad values) tensor by name.
    """
    expected = expected_shapes(model)
    problems: list[str] = []
    for name, shape in expected.items():
        if name not in weights:
            problems.append(f"missing tensor '{name}' (expected shape {shape})")
            continue
        value = weights[name]
        if not isinstance(value, np.ndarray):
            problems.append(f"tensor '{name}' is a {type(value).__name__}, expected a numpy array")
            continue
        if tuple(value.shape) != shape:
            problems.append(
                f"tensor '{name}' has wrong shape: expected {shape}, got {tuple(value.shape)}"
            )
        if not np.issubdtype(value.dtype, np.floating):
            problems.append(f"tensor '{name}' has dtype {value.dtype}, expected a float dtype")
            continue
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        if bad:
            n_nan = int(np.count_nonzero(np.isnan(value)))
            problems.append(
                f"tensor '{name}' has {bad} non-finite values ({n_nan} NaN, {bad - n_nan} Inf)"
            )
        elif name.endswith(".running_var") and np.any(value + BN_EPS <= 0):
            n_neg = int(np.count_nonzero(value + BN_EPS <= 0))
            problems.append(f"tensor '{name}' has {n_neg} variance(s) <= -eps: a BatchNorm "
                            "variance is never negative; export the running_var buffer")
    for name in weights:
        if name not in expected:
            problems.append(f"extra tensor '{name}' is not part of model '{model.name}'")
    if problems:
        raise WeightError(
            f"weights do not match model '{model.name}' ({len(problems)} problem(s)); "
            "fix or regenerate them (e.g. random_weights(model)):",
            problems,
        )


def fold_cls_into_pos(weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """Fold the CLS token into the position embedding, as Edge-MoE stores it.

    Args:
        weights: Canonical weights with ``cls_token`` (1, 1, dim) and ``pos_embed``
            (1, tokens, dim).

    Returns:
        (tokens, dim) float64: row 0 = cls_token + pos_embed[0], rows 1.. = pos_embed[1..].
    """
    pos = np.array(weights["pos_embed"], dtype=np.float64)[0].copy()
    pos[0] += np.asarray(weights["cls_token"], dtype=np.float64).reshape(-1)
    return pos


def fold_bn(
    conv_w: np.ndarray,
    conv_b: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float = BN_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold an eval-mode BatchNorm that follows a conv into the conv.

    ``BN(conv(x)) = conv'(x)`` with ``s = gamma / sqrt(var + eps)``,
    ``w' = w * s`` (per output channel) and ``b' = (b - mean) * s + beta``.

    Args:
        conv_w: (out, in, kh, kw) conv weight.
        conv_b: (out,) conv bias.
        gamma: BN weight.
        beta: BN bias.
        mean: BN running mean.
        var: BN running variance.
        eps: BN epsilon.

    Returns:
        The folded (weight, bias) in float64.
    """
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    w = np.asarray(conv_w, np.float64) * scale.reshape((-1,) + (1,) * (np.ndim(conv_w) - 1))
    b = (np.asarray(conv_b, np.float64) - np.asarray(mean, np.float64)) * scale
    return w, b + np.asarray(beta, np.float64)
