"""Weights of graph models: the project's own files and official VoVNet ``state_dict`` names.

The official VoVNet code (``stigma0617/VoVNet.pytorch``; ``youngwanLEE/vovnet-detectron2``
for V2) names a conv + BatchNorm pair by a module key with a slash::

    stem.stem_1/conv.weight                            -> stem.stem_1.weight
    stem.stem_1/norm.running_mean                      -> stem.stem_1.bn.running_mean
    stage2.OSA2_1.layers.0.OSA2_1_0/conv.weight        -> stage2.OSA2_1.layers.0.weight
    stage2.OSA2_1.concat.OSA2_1_concat/norm.weight     -> stage2.OSA2_1.concat.bn.weight
    stage3.OSA3_1.ese.fc.weight                        -> stage3.OSA3_1.ese.weight
    classifier.weight                                  -> classifier.weight

:func:`canonical_from_official` maps them onto the canonical names of
:mod:`edgemoe.models.vovnet_layers` (``module.`` and detectron2's ``backbone.bottom_up.``
prefixes are dropped, ``num_batches_tracked`` is ignored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import WeightError
from .graph import validate_graph_weights

__all__ = ["canonical_from_official", "is_official", "load_graph_weights"]

_PREFIXES = ("module.", "backbone.bottom_up.", "bottom_up.")
_PAIR = re.compile(r"^(?P<module>[^/]+)/(?P<kind>conv|norm)$")


def is_official(names) -> bool:
    """True when the names use the official slash-keyed conv/norm modules."""
    return any("/conv." in n or "/norm." in n for n in names)


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def canonical_from_official(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Canonical float64 weights from an official VoVNet ``state_dict``.

    Raises:
        WeightError: A name does not follow the official scheme (the message names it).
    """
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        key = name
        for prefix in _PREFIXES:
            key = key.removeprefix(prefix)
        if key.endswith("num_batches_tracked"):
            continue
        parts = key.split(".")
        mapped: list[str] = []
        for i, part in enumerate(parts):
            m = _PAIR.match(part)
            if m is None:
                mapped.append(part)
                continue
            parent = parts[i - 1] if i else ""
            if not (parent.isdigit() or parent == "concat"):  # stem: the module names the layer
                mapped.append(m["module"])
            if m["kind"] == "norm":
                mapped.append("bn")
        canonical = ".".join(mapped).replace(".ese.fc.", ".ese.")
        if canonical in out:
            raise WeightError(f"weights {name!r} and another map to {canonical!r}: not an "
                              "official VoVNet state_dict")
        out[canonical] = _as_array(value)
    return out


def _read(path: Path) -> dict[str, Any]:
    if path.suffix in (".pt", ".pth"):
        try:
            import torch
        except ImportError:
            raise WeightError(f"reading {path} needs PyTorch: pip install torch, or export "
                              "the state_dict to .npz/.safetensors") from None
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        return dict(state.get("state_dict", state)) if isinstance(state, dict) else {}
    from .weight_io import _read_file

    return _read_file(path)


def load_graph_weights(path: str | Path, model) -> dict[str, np.ndarray]:
    """Canonical weights of graph model ``model`` from a file.

    Args:
        path: ``.npz`` / ``.safetensors`` with canonical or official names, or a PyTorch
            ``.pt`` / ``.pth`` state_dict (official names).
        model: The graph model config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WeightError: Unknown format, or missing / extra / wrongly shaped tensors.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weight path '{path}' does not exist")
    if path.suffix not in (".npz", ".safetensors", ".pt", ".pth"):
        raise WeightError(f"weights of {model.name} must be .npz, .safetensors, .pt or .pth, "
                          f"not '{path.suffix}'")
    state = _read(path)
    weights = canonical_from_official(state) if is_official(state) else \
        {k: _as_array(v) for k, v in state.items()}
    validate_graph_weights(weights, model)
    return weights
