"""Static int8 input ranges of M3ViT's LINEAR layers from a calibration set (W8A8 mode).

The W8A8 linear mode (``Flag.WFMT_Q8``, :mod:`edgemoe.numerics.int8`) quantizes each
layer's input with one per-tensor scale fixed at compile time.  It is chosen here as the
largest ``|x|`` the float reference model feeds the layer over the calibration images
(all tasks): max calibration keeps every calibrated value in range, so nothing clamps
on inputs like them, at the cost of resolution when a few outliers dominate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..models import M3ViTReference
from ..models.layers import gelu, linear

#: The LINEAR layers of a dense block that can run in W8A8, and the trace key of their
#: input (the fc2 input, GELU(fc1), is recomputed: the trace stops at the MLP output).
DENSE_LINEARS = {"attn.qkv": "norm1", "attn.proj": "attn_out", "mlp.fc1": "norm2",
                 "mlp.fc2": None}


def int8_layers(model) -> list[str]:
    """Prefixes of the LINEAR layers the W8A8 mode can run (dense blocks' and attention)."""
    out = []
    for i in range(model.depth):
        for name in DENSE_LINEARS:
            if name.startswith("mlp.") and model.is_moe(i):
                continue  # MoE experts stay in the W16A32 format (not built for int8 yet)
            out.append(f"blocks.{i}.{name}")
    return out


def linear_input_ranges(model, weights: Mapping[str, np.ndarray], images: Iterable[np.ndarray],
                        layers: Iterable[str] | None = None) -> dict[str, float]:
    """Largest ``|x|`` at the input of each layer in ``layers`` over every image and task.

    Args:
        model: The M3ViT ModelConfig.
        weights: Float weights (canonical names).
        images: Planar uint8 pixel arrays (3, H, W), the calibration set.
        layers: Layer prefixes (default: :func:`int8_layers`).

    Returns:
        Layer prefix -> calibrated range (> 0).
    """
    want = list(layers if layers is not None else int8_layers(model))
    ref = M3ViTReference(model, weights)
    ranges = dict.fromkeys(want, 0.0)
    for pixels in images:
        for task in range(len(model.tasks)):
            x = ref.patch_embed(pixels)
            for i in range(model.depth):
                trace: dict[str, np.ndarray] = {}
                x = ref.block(x, i, task, trace)
                b = f"blocks.{i}"
                for name, key in DENSE_LINEARS.items():
                    if f"{b}.{name}" not in ranges:
                        continue
                    if key is None:
                        v = gelu(linear(trace["norm2"], weights[f"{b}.mlp.fc1.weight"],
                                        weights[f"{b}.mlp.fc1.bias"]))
                    else:
                        v = trace[key]
                    ranges[f"{b}.{name}"] = max(ranges[f"{b}.{name}"], float(np.abs(v).max()))
    return {k: (v if v > 0 else 1.0) for k, v in ranges.items()}
