"""Layer-by-layer comparison of an executor's taps with the float reference.

The float64 reference (:class:`~edgemoe.models.m3vit.M3ViTReference`) runs on the
weights the device holds (``Compiled.effective_weights``), so the errors below are the
device's arithmetic alone.  Per tap: relative error max|dev - ref| / max|ref| and the
largest absolute error; per MoE block and task: the share of tokens routed to the same
expert set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compiler.taps import routing


@dataclass(frozen=True)
class TapError:
    """Error of one tap of one task."""

    task: str
    name: str
    rel_err: float
    max_err: float


def float_taps(ref, pixels: np.ndarray, task: str) -> dict[str, np.ndarray]:
    """The reference's value of every tap name (queues as the top-k expert indices)."""
    m = ref.model
    x = ref.patch_embed(pixels)
    out = {"patch_embed": x}
    for i in range(m.depth):
        tr: dict[str, np.ndarray] = {}
        x = ref.block(x, i, task, tr)
        p = f"blocks.{i}"
        out.update({f"{p}.norm1": tr["norm1"],
                    f"{p}.qkv": np.concatenate([tr["q"], tr["k"], tr["v"]], axis=1),
                    f"{p}.attn": tr["attn_out"], f"{p}.proj": tr["attn_proj"],
                    f"{p}.attn_residual": tr["attn_residual"], f"{p}.norm2": tr["norm2"],
                    f"{p}.mlp": tr["mlp_out"], f"{p}.out": tr["out"]})
        if m.is_moe(i):
            out[f"{p}.router_logits"] = tr["router_logits"]
            out[f"{p}.queues"] = tr["topk_indices"]
    out[f"heads.{task}"] = ref.head(x, task).transpose(1, 2, 0)
    return out


def graph_float_taps(ref, pixels: np.ndarray, device: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The graph reference's layer maps as the device's taps lay them out: (H*W, C) rows,
    one tap per channel group (``layer[first:end]``, compiler/taps.py)."""
    maps = ref.forward(pixels, keep=True)
    out = {}
    for name in device:
        layer, _, span = name.partition("[")
        c, h, w = maps[layer].shape
        rows = maps[layer].reshape(c, h * w).T
        if span:
            first, end = (int(v) for v in span.rstrip("]").split(":"))
            rows = rows[:, first:end]
        out[name] = rows
    return out


def tap_errors(device: dict[str, np.ndarray], reference: dict[str, np.ndarray],
               task: str) -> list[TapError]:
    """Relative and max absolute error of every activation tap present on the device."""
    rows = []
    for name, got in device.items():
        if name.endswith(".queues") or name not in reference:
            continue
        want = reference[name]
        err = np.abs(got - want)
        rows.append(TapError(task, name, float(err.max() / max(np.abs(want).max(), 1e-300)),
                             float(err.max())))
    return rows


def routing_agreement(device: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                      model) -> dict[str, float]:
    """MoE block -> share of tokens whose device expert set equals the reference top-k."""
    t, e = model.num_tokens, model.num_experts
    out = {}
    for name, words in device.items():
        if not name.endswith(".queues"):
            continue
        want = np.zeros((t, e), dtype=bool)
        np.put_along_axis(want, reference[name], True, axis=1)
        same = (routing(words, e, t) == want).all(axis=1)
        out[name.rsplit(".", 1)[0]] = float(same.mean())
    return out


def format_report(errors: list[TapError], agreement: dict[str, dict[str, float]]) -> str:
    """A table of the tap errors and the routing agreement per task and MoE block."""
    width = max([len(e.name) for e in errors] + [4])
    lines = [f"{'task':<6} {'tap':<{width}} {'rel err':>10} {'max err':>10}"]
    lines += [f"{e.task:<6} {e.name:<{width}} {e.rel_err:>10.2e} {e.max_err:>10.2e}"
              for e in errors]
    for task, blocks in agreement.items():
        for block, share in blocks.items():
            lines.append(f"{task:<6} {block} routing agreement {100 * share:.1f}%")
    return "\n".join(lines)
