"""Intermediate tensors (taps) compiled into the program as extra copies.

A tap is copied, right after the instruction that produces it, into its own slot of the
``outputs`` region (ADD with the COPY flag; values the device never stores on their own,
the router logits and the outputs before a fused residual, by an extra instruction), so every executor produces it without executor
changes.  The manifest's ``taps.tensors`` maps each name to its offset, shape, format and
task mask; :func:`read_taps` decodes them from a memory image.

Names (``{i}`` a block, ``{task}`` a task; as Edge-MoE's ``debug_id`` dumps):

- ``patch_embed``: tokens after patch embedding, CLS and position (tokens, dim)
- ``blocks.{i}.norm1``, ``blocks.{i}.qkv`` (tokens, 3 dim), ``blocks.{i}.attn`` (attention
  output before the projection)
- ``blocks.{i}.proj`` (the projection alone: an extra LINEAR without the residual) and
  ``blocks.{i}.attn_residual`` (x + proj, the fused result)
- ``blocks.{i}.norm2``
- MoE blocks: ``blocks.{i}.router_logits`` (tokens, experts) and ``blocks.{i}.queues``
  (the MOE_GATE expert queues as int32 words, :func:`edgemoe.layout.queue_layout`)
- ``blocks.{i}.mlp``: the MLP or MoE output alone (an extra fc2 LINEAR / MOE_EXPERTS
  without the residual) and ``blocks.{i}.out``: x + that output (the block output)
- ``heads.{task}``: the task output (no copy: the output region itself)

Layer-graph models (VoVNet, SNN) tap every layer's output map by the layer's name, as HWC
rows ``(H*W, C)`` in the activation format (spike trains: ``(T, neurons)`` bytes,
:data:`SPIKE_FORMAT`); a map split into channel groups gives one tap per group,
``{layer}[{first}:{end}]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layout import queue_layout
from ..params.fixed import FixedType

BLOCK_TAPS = ("norm1", "qkv", "attn", "proj", "attn_residual", "norm2", "router_logits",
              "queues", "mlp", "out")
MOE_ONLY = ("router_logits", "queues")
QUEUE_FORMAT = "int32"
#: Format of a spike-train tap: one byte per neuron and step, 0 or 1.
SPIKE_FORMAT = "ap_uint<8>"


def tap_names(model, heads: bool = True) -> list[str]:
    """Every tap name of ``model`` in program order (a layer graph: its layer names)."""
    if hasattr(model, "layers"):
        return [layer.name for layer in model.layers]
    names = ["patch_embed"]
    for i in range(model.depth):
        names += [f"blocks.{i}.{k}" for k in BLOCK_TAPS if model.is_moe(i) or k not in MOE_ONLY]
    return names + ([f"heads.{t.name}" for t in model.tasks] if heads else [])


def select_taps(requested, model, heads: bool = True) -> frozenset[str]:
    """Resolve ``--dump`` arguments (``all`` or names) into a set of tap names.

    Raises:
        ValueError: An unknown name (the message lists the valid ones).
    """
    known = tap_names(model, heads)
    wanted = list(requested or ())
    if "all" in wanted:
        return frozenset(known)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        where = "its layer names" if hasattr(model, "layers") else \
            f"blocks 0..{model.depth - 1}"
        raise ValueError(f"unknown tap(s) {', '.join(unknown)} for model {model.name}: use "
                         f"'all' or names such as {', '.join(known[:6])}, ... ({where})")
    return frozenset(wanted)


def read_taps(image: np.ndarray, manifest: dict, task_index: int) -> dict[str, np.ndarray]:
    """The taps a run of ``task_index`` produced: float64 tensors (queues as int32 words)."""
    out = {}
    for name, spec in manifest["taps"].get("tensors", {}).items():
        if not (spec["task_mask"] >> task_index) & 1:
            continue
        count = int(np.prod(spec["shape"]))
        if spec["format"] == QUEUE_FORMAT:
            raw = image[spec["offset"]:spec["offset"] + 4 * count].view("<i4")
            out[name] = raw.astype(np.int32).reshape(spec["shape"])
            continue
        fmt = FixedType.parse(spec["format"])
        dt = np.dtype(fmt.storage_dtype).newbyteorder("<")
        raw = image[spec["offset"]:spec["offset"] + count * dt.itemsize].view(dt)
        out[name] = fmt.to_float(raw.astype(np.int64)).reshape(spec["shape"])
    return out


def save_taps(taps: dict[str, dict[str, np.ndarray]], path) -> Path:
    """Write per-task taps to an .npz (keys ``<task>.<tap>``), complete or not at all."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **{f"{task}.{name}": v for task, tensors in taps.items()
                                  for name, v in tensors.items()})
    tmp.replace(path)
    return path


def routing(words: np.ndarray, experts: int, tokens: int) -> np.ndarray:
    """(tokens, experts) bool: which experts MOE_GATE queued each token for."""
    lay = queue_layout(experts, tokens)
    words = np.asarray(words).reshape(-1)
    counts = words[:experts]
    chosen = np.zeros((tokens, experts), dtype=bool)
    for e in range(experts):
        start = (lay["index"] + e * lay["slot"]) // 4
        chosen[words[start:start + int(counts[e])], e] = True
    return chosen
