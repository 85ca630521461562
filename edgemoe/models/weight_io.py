"""Load and save canonical weights: ``.npz``, ``.safetensors``, Edge-MoE ``.bin`` folders."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgemoe.models.edgemoe_bin import has_head_files, load_edgemoe_bin
from edgemoe.models.errors import WeightError
from edgemoe.models.weights import expected_shapes, random_weights, validate_weights

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = ["SUPPORTED_FORMATS", "load_weights", "save_weights"]

log = logging.getLogger(__name__)

SUPPORTED_FORMATS = (".npz", ".safetensors", "a directory of Edge-MoE *.float32.bin files")


def _unsupported(path: Path) -> WeightError:
    return WeightError(
        f"unsupported weight file '{path}' (suffix '{path.suffix}'); use one of: "
        + ", ".join(SUPPORTED_FORMATS)
    )


def _read_file(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.npz`` or ``.safetensors`` file.

    Raises:
        WeightError: The file is truncated, damaged or not of its suffix's format.
    """
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {k: np.array(data[k]) for k in data.files}
        import safetensors.numpy  # lazy: edgemoe.host imports this package on boards

        return dict(safetensors.numpy.load_file(str(path)))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile, numpy and Rust readers raise own types
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightError(f"weight file '{path}' cannot be read as {path.suffix} ({detail}): "
                          "it is truncated or damaged; copy or export it again") from None


def load_weights(
    path: str | Path, model: ModelConfig, *, head_seed: int | None = None,
    backbone_only: bool = False,
) -> dict[str, np.ndarray]:
    """Load canonical float64 weights for ``model`` and validate them.

    Args:
        path: ``.npz`` or ``.safetensors`` file (canonical names), or a directory of
            Edge-MoE ``*.float32.bin`` files (see :mod:`edgemoe.models.edgemoe_bin`).
        model: Model configuration.
        head_seed: Edge-MoE directories only: when the directory holds no head files,
            fill the ``heads.*`` tensors from ``random_weights(model, head_seed)``
            (logged as a warning). Without it such a directory is an error.
        backbone_only: Edge-MoE directories only: the caller compiles no heads, so missing
            head files are filled with zeros (never read) instead of being an error.

    Returns:
        Canonical weights in canonical order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WeightError: Unknown format, or the weights do not match ``model`` (every problem
            listed).
    """
    if hasattr(model, "layers"):  # a layer graph: own or official VoVNet names
        from .vovnet_import import load_graph_weights

        return load_graph_weights(path, model)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weight path '{path}' does not exist")
    if path.is_dir():
        heads = None
        if backbone_only and not has_head_files(path, model):
            heads = {k: np.zeros(shape) for k, shape in expected_shapes(model).items()
                     if k.startswith("heads.")}  # placeholders: a backbone-only compile skips them
        elif head_seed is not None and not has_head_files(path, model):
            log.warning("'%s' has no task heads: using random heads (seed %d)", path, head_seed)
            heads = {k: v for k, v in random_weights(model, head_seed).items()
                     if k.startswith("heads.")}
        weights = load_edgemoe_bin(path, model, heads)
    elif path.suffix in (".npz", ".safetensors"):
        weights = _read_file(path)
    else:
        raise _unsupported(path)
    validate_weights(weights, model)
    return {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}


def save_weights(weights: Mapping[str, np.ndarray], path: str | Path) -> None:
    """Save weights to ``.npz`` or ``.safetensors``, keeping names, dtypes and values exactly.

    Args:
        weights: Tensors by name.
        path: Target file; its suffix selects the format.

    Raises:
        WeightError: Unsupported suffix (use ``save_edgemoe_bin`` for Edge-MoE folders).
    """
    path = Path(path)
    arrays = {str(k): np.ascontiguousarray(v) for k, v in weights.items()}
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    elif path.suffix == ".safetensors":
        import safetensors.numpy

        safetensors.numpy.save_file(arrays, str(path))
    else:
        raise WeightError(
            f"cannot save weights to '{path}' (suffix '{path.suffix}'): use .npz or "
            ".safetensors, or save_edgemoe_bin(weights, model, directory)"
        )
