"""Static int8 input ranges of M3ViT's W8A8 layers from a calibration set.

The W8A8 linear mode (``Flag.WFMT_Q8``, :mod:`edgemoe.numerics.int8`) quantizes each
layer's input with one per-tensor scale fixed at compile time.  It is chosen here as the
largest ``|x|`` the float reference model feeds the layer over the calibration images
(all tasks): max calibration keeps every calibrated value in range, so nothing clamps
on inputs like them, at the cost of resolution when a few outliers dominate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..models import M3ViTReference, load_default_image
from ..models.errors import WeightError
from ..models.heads import conv_input_keys
from ..models.layers import gelu, linear
from ..models.weights import head_conv_count

#: The LINEAR layers of a dense block that can run in W8A8, and the trace key of their
#: input (the fc2 input, GELU(fc1), is recomputed: the trace stops at the MLP output).
DENSE_LINEARS = {"attn.qkv": "norm1", "attn.proj": "attn_out", "mlp.fc1": "norm2",
                 "mlp.fc2": None}
#: The two layers of a MoE block's experts (one MOE_EXPERTS instruction: both or neither
#: run W8A8): fc1 reads the block's norm2 output, fc2 each expert's GELU(fc1) over the
#: tokens routed to it, one range over all experts (one multiplier per instruction).
EXPERT_LINEARS = ("mlp.experts.htoh4", "mlp.experts.h4toh")
#: The three tensors an int8 ATTENTION (``Flag.WFMT_Q8``, numerics.attn_q8) quantizes as it
#: loads them, each with one range over all heads: names ``blocks.{i}.attn.{q,k,v}``.
ATTN_Q8_PARTS = ("q", "k", "v")


def calibration_images(model, n: int, flag: str, seed: int) -> list[np.ndarray]:
    """The model's default image and ``n - 1`` images of seeded random pixels: what the
    CLI calibrates W8A8 input ranges on when no data set is named.  ``flag`` names the
    option in the refusal of a model that is not an M3ViT."""
    if hasattr(model, "layers") or model.kind != "m3vit":
        raise ValueError(f"{flag} runs M3ViT's layers in int8; {model.name} is not an M3ViT "
                         f"model: drop {flag}")
    rng = np.random.default_rng(seed)
    shape = (model.in_chans, model.image_height, model.image_width)
    return [load_default_image(model)] + [rng.integers(0, 256, shape, dtype=np.uint8)
                                          for _ in range(max(n, 1) - 1)]


def int8_layers(model, heads: bool = False, attn: bool = False) -> list[str]:
    """Prefixes of the layers the W8A8 mode can run: attention, dense MLPs, MoE experts
    (and with ``heads`` the task heads' convs, :func:`head_conv_layers`; with ``attn`` the
    int8 ATTENTIONs' q, k and v, :func:`attn_q8_layers`)."""
    out = head_conv_layers(model) if heads else []
    out += attn_q8_layers(model) if attn else []
    for i in range(model.depth):
        for name in DENSE_LINEARS:
            if name.startswith("mlp.") and model.is_moe(i):
                continue
            out.append(f"blocks.{i}.{name}")
        if model.is_moe(i):
            out += [f"blocks.{i}.{name}" for name in EXPERT_LINEARS]
    return out


def head_conv_layers(model) -> list[str]:
    """Prefixes of the task heads' convs, which W8A8 can run too (CONV with WFMT_Q8): every
    SETR-PUP conv reads act-format features (the pixel-reading patch embedding never)."""
    n = head_conv_count(model)
    return [f"heads.{t.name}.conv_{j}" for t in model.tasks for j in range(n + 1)]


def attn_q8_names(block: int) -> tuple[str, ...]:
    """The ``int8`` keys of block ``block``'s int8 attention: its q, k and v ranges."""
    return tuple(f"blocks.{block}.attn.{part}" for part in ATTN_Q8_PARTS)


def attn_q8_layers(model) -> list[str]:
    """Names of the int8 ATTENTIONs' calibrated tensors: q, k and v of every block."""
    return [name for i in range(model.depth) for name in attn_q8_names(i)]


def check_int8_names(model, int8: Mapping[str, float], heads: bool) -> None:
    """Raise WeightError unless ``int8`` names only layers W8A8 runs, both expert layers of
    a MoE block or neither (one instruction runs them), q, k and v of an attention or none,
    and head convs only with heads."""
    known = set(int8_layers(model, heads, attn=True))
    unknown = sorted(set(int8) - known)
    if unknown:
        raise WeightError(f"int8 layers {unknown} are not layers the W8A8 mode runs; use "
                          "names from int8_layers(model) (e.g. blocks.0.attn.qkv) or, with "
                          "heads, head_conv_layers(model) (e.g. heads.seg.conv_0), or "
                          "attn_q8_layers(model) (e.g. blocks.0.attn.q)")
    for i in range(model.depth):
        pair = [f"blocks.{i}.{n}" in int8 for n in EXPERT_LINEARS]
        if any(pair) and not all(pair):
            raise WeightError(f"int8 layers of block {i} name one of its expert layers "
                              f"{list(EXPERT_LINEARS)}: give both (one instruction runs them)")
        trio = [name in int8 for name in attn_q8_names(i)]
        if any(trio) and not all(trio):
            raise WeightError(f"int8 layers of block {i} name part of its attention's q, k, v "
                              f"(blocks.{i}.attn.q/.k/.v): give all three (one instruction)")


def linear_input_ranges(model, weights: Mapping[str, np.ndarray], images: Iterable[np.ndarray],
                        layers: Iterable[str] | None = None) -> dict[str, float]:
    """Largest ``|x|`` at the input of each layer in ``layers`` over every image and task.

    Args:
        model: The M3ViT ModelConfig.
        weights: Float weights (canonical names).
        images: Planar uint8 pixel arrays (3, H, W), the calibration set.
        layers: Layer prefixes (default: :func:`int8_layers`; :func:`head_conv_layers`
            and :func:`attn_q8_layers` names may be added).

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
                for part, name in zip(ATTN_Q8_PARTS, attn_q8_names(i)):  # over all heads
                    if name in ranges:
                        ranges[name] = max(ranges[name], float(np.abs(trace[part]).max()))
                if model.is_moe(i):
                    _expert_ranges(ranges, weights, b, trace)
            _head_ranges(ranges, ref, model, x, task)
    return {k: (v if v > 0 else 1.0) for k, v in ranges.items()}


def _expert_ranges(ranges: dict[str, float], weights: Mapping[str, np.ndarray], b: str,
                   trace: dict[str, np.ndarray]) -> None:
    """Widen the experts' fc1 / fc2 input ranges of block ``b`` by one traced image."""
    fc1, fc2 = (f"{b}.{name}" for name in EXPERT_LINEARS)
    x = trace["norm2"]
    if fc1 in ranges:
        ranges[fc1] = max(ranges[fc1], float(np.abs(x).max()))
    if fc2 not in ranges:
        return
    idx = trace["topk_indices"]
    w1, b1 = weights[f"{b}.mlp.experts.htoh4.weight"], weights[f"{b}.mlp.experts.htoh4.bias"]
    for e in np.unique(idx):
        tok = np.flatnonzero((idx == e).any(axis=1))
        hid = gelu(linear(x[tok], w1[e], b1[e]))
        ranges[fc2] = max(ranges[fc2], float(np.abs(hid).max()))


def _head_ranges(ranges: dict[str, float], ref: M3ViTReference, model, tokens: np.ndarray,
                 task: int) -> None:
    """Widen the input ranges of ``task``'s head convs by one image's backbone tokens."""
    pre = f"heads.{model.tasks[task].name}"
    keys = conv_input_keys(head_conv_count(model))
    if not any(f"{pre}.conv_{j}" in ranges for j in range(len(keys))):
        return
    trace: dict[str, np.ndarray] = {}
    ref.head(tokens, task, trace)
    for j, key in enumerate(keys):
        name = f"{pre}.conv_{j}"
        if name in ranges:
            ranges[name] = max(ranges[name], float(np.abs(trace[key]).max()))
