"""Edge-MoE weight directories: raw little-endian float32 ``<name>.float32.bin`` files.

Mapping (Edge-MoE file stem -> canonical name; shapes of the model config):

================================  ===========================================================
``patch_embed_weight``            ``patch_embed.proj.weight`` (dim, 3, p, p)
``patch_embed_bias``              ``patch_embed.proj.bias``
``pos_embed`` (tokens, dim)       ``pos_embed`` (1, tokens, dim) with the CLS token already
                                  folded into row 0; on load ``cls_token`` is set to zero so
                                  :func:`fold_cls_into_pos` returns the file unchanged; on
                                  save the folded table is written.
``l{i}_norm{1,2}_{weight,bias}``  ``blocks.{i}.norm{1,2}.{weight,bias}``
``l{i}_qkv_{weight,bias}``        ``blocks.{i}.attn.qkv.{weight,bias}``
``l{i}_attn_proj_{weight,bias}``  ``blocks.{i}.attn.proj.{weight,bias}``
``l{i}_fc{1,2}_{weight,bias}``    ``blocks.{i}.mlp.fc{1,2}.{weight,bias}`` (dense blocks)
``l{i}_htoh4_{weight,bias}``      ``blocks.{i}.mlp.experts.htoh4.{weight,bias}`` (MoE blocks)
``l{i}_h4toh_{weight,bias}``      ``blocks.{i}.mlp.experts.h4toh.{weight,bias}``
``l{i}_w_gate_T_task{t}`` (E, d)  ``blocks.{i}.mlp.gate.{t}.w_gate`` (d, E), transposed
``head_{T}_{module}_{param}``     ``heads.{T}.{module}.{param}`` (this project's extension)
================================  ===========================================================

Edge-MoE ships no task heads; this project stores them as ``head_{T}_{module}_{param}``
(e.g. ``head_seg_conv_0_weight``, ``head_depth_syncbn_fc_2_running_var``). Non-weight
files of an Edge-MoE checkout (``image``, ``l{i}_x_*`` debug dumps) are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgemoe.models.errors import WeightError
from edgemoe.models.weights import expected_shapes, fold_cls_into_pos

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = [
    "BIN_SUFFIX",
    "edgemoe_file_map",
    "has_head_files",
    "load_edgemoe_bin",
    "save_edgemoe_bin",
]

log = logging.getLogger(__name__)

BIN_SUFFIX = ".float32.bin"

_BLOCK_PARTS = {
    "norm1.weight": "norm1_weight",
    "norm1.bias": "norm1_bias",
    "norm2.weight": "norm2_weight",
    "norm2.bias": "norm2_bias",
    "attn.qkv.weight": "qkv_weight",
    "attn.qkv.bias": "qkv_bias",
    "attn.proj.weight": "attn_proj_weight",
    "attn.proj.bias": "attn_proj_bias",
    "mlp.fc1.weight": "fc1_weight",
    "mlp.fc1.bias": "fc1_bias",
    "mlp.fc2.weight": "fc2_weight",
    "mlp.fc2.bias": "fc2_bias",
    "mlp.experts.htoh4.weight": "htoh4_weight",
    "mlp.experts.htoh4.bias": "htoh4_bias",
    "mlp.experts.h4toh.weight": "h4toh_weight",
    "mlp.experts.h4toh.bias": "h4toh_bias",
}


def _stem(name: str) -> str | None:
    """Edge-MoE file stem of a canonical name (None for ``cls_token``, folded into pos)."""
    if name == "cls_token":
        return None
    if name.startswith("patch_embed.proj."):
        return "patch_embed_" + name.rsplit(".", 1)[1]
    if name == "pos_embed":
        return "pos_embed"
    if name.startswith("blocks."):
        _, i, rest = name.split(".", 2)
        if rest.startswith("mlp.gate."):
            t = rest.split(".")[2]
            return f"l{i}_w_gate_T_task{t}"
        return f"l{i}_{_BLOCK_PARTS[rest]}"
    if name.startswith("heads."):
        _, task, module, param = name.split(".")
        return f"head_{task}_{module}_{param}"
    raise KeyError(name)


def edgemoe_file_map(model: ModelConfig) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Edge-MoE file name -> (canonical name, shape stored in the file) for ``model``."""
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, shape in expected_shapes(model).items():
        stem = _stem(name)
        if stem is None:
            continue
        if name == "pos_embed":
            shape = shape[1:]
        elif name.endswith(".w_gate"):
            shape = shape[::-1]
        out[stem + BIN_SUFFIX] = (name, shape)
    return out


def _is_head_file(file: str) -> bool:
    return file.startswith("head_")


def has_head_files(directory: Path, model: ModelConfig) -> bool:
    """True when ``directory`` holds at least one head file of ``model``."""
    return any(
        _is_head_file(f) and (Path(directory) / f).is_file() for f in edgemoe_file_map(model)
    )


def load_edgemoe_bin(
    directory: Path, model: ModelConfig, head_weights: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Read an Edge-MoE weight directory into canonical float64 weights.

    Args:
        directory: Folder of ``*.float32.bin`` files.
        model: Model configuration (gives every shape).
        head_weights: Used for the ``heads.*`` tensors when the directory holds no head
            file at all (Edge-MoE ships none); ignored otherwise.

    Returns:
        Canonical weights (not yet validated for finiteness).

    Raises:
        WeightError: Listing every missing file and every file whose byte size differs
            from ``4 * prod(shape)``.
    """
    files = edgemoe_file_map(model)
    directory = Path(directory)
    have_heads = has_head_files(directory, model)
    use_given_heads = head_weights is not None and not have_heads
    problems: list[str] = []
    weights: dict[str, np.ndarray] = {}
    for file, (name, shape) in files.items():
        if use_given_heads and _is_head_file(file):
            weights[name] = np.asarray(head_weights[name], dtype=np.float64)
            continue
        path = directory / file
        if not path.is_file():
            hint = " (Edge-MoE ships no heads: pass head_seed= to load_weights)" if (
                _is_head_file(file) and not have_heads) else ""
            problems.append(f"missing file '{file}' for tensor '{name}'{hint}")
            continue
        size = path.stat().st_size
        want = 4 * int(np.prod(shape))
        if size != want:
            problems.append(
                f"file '{file}' has {size} bytes, expected {want} (float32 {shape} for '{name}')"
            )
            continue
        arr = np.fromfile(path, dtype="<f4").astype(np.float64).reshape(shape)
        if name == "pos_embed":
            arr = arr[None]
        elif name.endswith(".w_gate"):
            arr = np.ascontiguousarray(arr.T)
        weights[name] = arr
    if problems:
        raise WeightError(
            f"Edge-MoE weight directory '{directory}' does not match model '{model.name}' "
            f"({len(problems)} problem(s)):",
            problems,
        )
    weights["cls_token"] = np.zeros((1, 1, model.dim), dtype=np.float64)
    known = set(files)
    for path in sorted(directory.glob("*" + BIN_SUFFIX)):
        if path.name not in known:
            log.debug("ignoring %s: not a weight of model %s", path.name, model.name)
    # Return in canonical order.
    return {name: weights[name] for name in expected_shapes(model)}


def save_edgemoe_bin(
    weights: Mapping[str, np.ndarray], model: ModelConfig, directory: Path
) -> None:
    """Write canonical weights as an Edge-MoE float32 directory (CLS folded into pos_embed).

    Args:
        weights: Canonical weights of ``model``.
        model: Model configuration.
        directory: Target folder (created if needed).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for file, (name, shape) in edgemoe_file_map(model).items():
        if name == "pos_embed":
            arr = fold_cls_into_pos(weights)
        elif name.endswith(".w_gate"):
            arr = np.asarray(weights[name]).T
        else:
            arr = np.asarray(weights[name])
        np.ascontiguousarray(arr, dtype="<f4").reshape(shape).tofile(directory / file)
