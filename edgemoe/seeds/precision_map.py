"""The precision-map file `edgemoe quantize` writes (format in docs/seeds.md).

JSON: which output channels of each weight get the high precision; every other channel
gets the low one. A weight with a leading expert axis (E, out, in) numbers its channels
e * out + o. One file fixes bits, schemes and group size for the whole model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgemoe.host.outdir import write_text_atomic

__all__ = ["PRECISION_MAP_FORMAT", "PRECISION_MAP_VERSION", "build_precision_map",
           "read_precision_map", "write_precision_map"]

PRECISION_MAP_FORMAT = "edgemoe-precision-map"
PRECISION_MAP_VERSION = 1


def build_precision_map(
    shapes: Mapping[str, tuple[int, ...]], high: Mapping[str, np.ndarray], *,
    low_bits: int, high_bits: int, group: int, meta: Mapping[str, Any],
) -> dict[str, Any]:
    """The map as a JSON-ready dict.

    Args:
        shapes: Weight name -> shape ((out, in) or (experts, out, in)).
        high: Weight name -> bool mask over its channels (True = high precision).
        low_bits: Bits of the asymmetric low precision (with zero point).
        high_bits: Bits of the symmetric high precision.
        group: Inputs per scale group along K.
        meta: Extra provenance (model, calibration, selection method, fraction).
    """
    layers = {}
    for name, shape in shapes.items():
        mask = np.asarray(high[name], dtype=bool)
        channels = int(np.prod(shape[:-1]))
        if mask.shape != (channels,):
            raise ValueError(f"{name}: mask of {mask.shape} for {channels} channels")
        layers[name] = {"shape": list(shape),
                        "high_channels": np.flatnonzero(mask).astype(int).tolist()}
    total = sum(int(np.prod(s[:-1])) for s in shapes.values())
    n_high = sum(len(v["high_channels"]) for v in layers.values())
    return {"format": PRECISION_MAP_FORMAT, "version": PRECISION_MAP_VERSION, **meta,
            "low": {"bits": low_bits, "scheme": "asymmetric", "zero_point": True},
            "high": {"bits": high_bits, "scheme": "symmetric", "zero_point": False},
            "group_size": group, "channels": total, "high_channels": n_high,
            "layers": layers}


def write_precision_map(path: str | Path, pmap: Mapping[str, Any]) -> Path:
    """Write the map atomically (an interrupted write leaves no file)."""
    return write_text_atomic(path, json.dumps(pmap, indent=1) + "\n")


def read_precision_map(path: str | Path) -> dict[str, Any]:
    """Read and check a precision map.

    Raises:
        ValueError: Not a precision map this code reads, or an index out of range.
    """
    path = Path(path)
    try:
        pmap = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"'{path}' is not a readable precision map ({exc}); write it with "
                         "`edgemoe quantize`") from None
    if (not isinstance(pmap, dict) or pmap.get("format") != PRECISION_MAP_FORMAT
            or pmap.get("version") != PRECISION_MAP_VERSION):
        raise ValueError(f"'{path}' is not a {PRECISION_MAP_FORMAT} version "
                         f"{PRECISION_MAP_VERSION} file: rerun `edgemoe quantize`")
    for name, layer in pmap["layers"].items():
        channels = int(np.prod(layer["shape"][:-1]))
        bad = [c for c in layer["high_channels"] if not 0 <= c < channels]
        if bad:
            raise ValueError(f"'{path}': {name} lists channel {bad[0]} outside 0..{channels - 1}")
    return pmap
