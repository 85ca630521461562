"""The key-codebook file `edgemoe vq-fit` writes (format in docs/seeds.md).

One ``.npz`` (no pickles):

- ``centres``: float32 (depth, heads, C, head_dim), the decode-time codebook in key space
  (score table = q . centres);
- ``transform``: float32 (depth, heads, head_dim, head_dim), the lower-triangular L of each
  head: a key's code is argmin_c ||(k - c) L||^2;
- ``meta``: a JSON string: format name and version, model, codebook size, calibration
  scenes, eps, seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgemoe.host.outdir import atomic_path

__all__ = ["CODEBOOK_FORMAT", "CODEBOOK_VERSION", "read_codebooks", "write_codebooks"]

CODEBOOK_FORMAT = "edgemoe-key-codebooks"
CODEBOOK_VERSION = 1


def write_codebooks(path: str | Path, centres: np.ndarray, transform: np.ndarray,
                    meta: dict[str, Any]) -> Path:
    """Write codebooks atomically (an interrupted write leaves no file).

    Raises:
        ValueError: The path does not end in ``.npz`` or the arrays disagree in shape.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"codebook file '{path}' must end in .npz")
    depth, heads, _, hd = centres.shape
    if transform.shape != (depth, heads, hd, hd):
        raise ValueError(f"transform shape {transform.shape} does not match centres "
                         f"{centres.shape}: need (depth, heads, head_dim, head_dim)")
    header = {"format": CODEBOOK_FORMAT, "version": CODEBOOK_VERSION, **meta}
    with atomic_path(path) as tmp:
        np.savez(tmp, centres=centres.astype(np.float32), transform=transform.astype(np.float32),
                 meta=np.array(json.dumps(header, sort_keys=True)))
    return path


def read_codebooks(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read a codebook file: (centres, transform, meta).

    Raises:
        ValueError: Not a codebook file of a version this code reads.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            centres, transform = data["centres"], data["transform"]
            meta = json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"'{path}' is not a readable codebook file ({exc}); write it with "
                         "`edgemoe vq-fit`") from None
    if meta.get("format") != CODEBOOK_FORMAT or meta.get("version") != CODEBOOK_VERSION:
        raise ValueError(f"'{path}' has format {meta.get('format')!r} version "
                         f"{meta.get('version')!r}; this edgemoe reads {CODEBOOK_FORMAT!r} "
                         f"version {CODEBOOK_VERSION}: rerun `edgemoe vq-fit`")
    return centres, transform, meta
