"""Float64 reference forward of M3ViT (Edge-MoE's model) with SETR-PUP task heads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from edgemoe.models.errors import ImageError, UnsupportedModelError
from edgemoe.models.heads import setr_pup_head
from edgemoe.models.layers import (
    KeySelect,
    attention,
    conv2d,
    dense_mlp,
    layer_norm,
    moe_mlp,
    route_top_k,
)
from edgemoe.models.weights import fold_cls_into_pos, head_conv_count, validate_weights

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = ["PIXEL_SCALE", "M3ViTReference"]

PIXEL_SCALE = 256.0
"""Pixels are ``ap_ufixed<8,0>``: value = byte / 256 (Edge-MoE; no mean/std normalisation)."""


class M3ViTReference:
    """Float64 numpy M3ViT: patch embedding, pre-norm dense/MoE blocks, SETR-PUP heads.

    Args:
        model: ``ModelConfig`` of an M3ViT model.
        weights: Canonical weights (validated here; kept as float64 copies).
        key_select: Optional approximate attention (a float study, no executor has it):
            ``key_select(block)`` gives the block's
            :data:`~edgemoe.models.layers.KeySelect`. None (default): exact attention.

    Raises:
        WeightError: The weights do not match ``model``.
        UnsupportedModelError: Not an M3ViT model, or its head cannot reach the input
            resolution.
    """

    def __init__(self, model: ModelConfig, weights: Mapping[str, np.ndarray],
                 key_select: Callable[[int], KeySelect] | None = None) -> None:
        if model.kind != "m3vit":
            raise UnsupportedModelError(
                f"model '{model.name}' has kind '{model.kind}'; M3ViTReference runs kind "
                "'m3vit' only"
            )
        validate_weights(weights, model)
        scale = 2 ** head_conv_count(model)
        if (model.grid_h * scale, model.grid_w * scale) != (model.image_height, model.image_width):
            raise UnsupportedModelError(
                f"model '{model.name}': the SETR-PUP head upsamples the {model.grid_h}x"
                f"{model.grid_w} patch grid by {scale} to {model.grid_h * scale}x"
                f"{model.grid_w * scale}, not the {model.image_height}x{model.image_width} "
                "input; set head_upsamples = log2(patch)"
            )
        self.model = model
        self.weights: dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=np.float64) for k, v in weights.items()
        }
        self.pos = fold_cls_into_pos(self.weights)
        self.key_select = key_select

    # ------------------------------------------------------------------ helpers
    def task_index(self, task: str | int) -> int:
        """Resolve a task name or index to the router index."""
        n = len(self.model.tasks)
        if isinstance(task, str):
            return int(self.model.task_index(task))
        if isinstance(task, (int, np.integer)) and 0 <= int(task) < n:
            return int(task)
        raise ValueError(
            f"task {task!r} is not valid for model '{self.model.name}': use one of "
            f"{[t.name for t in self.model.tasks]} or an index in [0, {n})"
        )

    def _check_pixels(self, pixels: np.ndarray) -> np.ndarray:
        m = self.model
        want = (m.in_chans, m.image_height, m.image_width)
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
            raise ImageError(
                "pixels must be a uint8 numpy array (3, H, W); convert images with "
                "image_to_pixels()"
            )
        if pixels.shape != want:
            raise ImageError(
                f"pixels have shape {pixels.shape}, model '{m.name}' needs {want}; resize the "
                "image or use load_default_image(model)"
            )
        return pixels.astype(np.float64) / PIXEL_SCALE

    # ------------------------------------------------------------------ backbone
    def patch_embed(self, pixels: np.ndarray) -> np.ndarray:
        """Patch embedding + CLS + position: (num_tokens, dim), row 0 = folded CLS."""
        w = self.weights
        x = conv2d(self._check_pixels(pixels), w["patch_embed.proj.weight"],
                   w["patch_embed.proj.bias"], stride=self.model.patch)
        patches = x.reshape(self.model.dim, -1).T
        tokens = np.zeros((self.model.num_tokens, self.model.dim), dtype=np.float64)
        tokens[1:] = patches
        return tokens + self.pos

    def block(
        self,
        x: np.ndarray,
        i: int,
        task: str | int,
        trace: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """One pre-norm transformer block: x + attn(norm1 x), then + mlp(norm2 x).

        Args:
            x: (num_tokens, dim) block input.
            i: Block index.
            task: Task name or index (selects the router of MoE blocks).
            trace: If given, receives ``norm1``, the attention intermediates (see
                :func:`~edgemoe.models.layers.attention`), ``attn_proj``, ``attn_residual``,
                ``norm2``, for MoE blocks ``router_logits``, ``router_probs``,
                ``topk_indices``, ``topk_gates``, then ``mlp_out`` and ``out``.

        Returns:
            (num_tokens, dim) block output.
        """
        m, w, b = self.model, self.weights, f"blocks.{i}"
        tr = trace if trace is not None else {}
        h = layer_norm(x, w[f"{b}.norm1.weight"], w[f"{b}.norm1.bias"], m.ln_eps)
        tr["norm1"] = h
        a = attention(h, w[f"{b}.attn.qkv.weight"], w[f"{b}.attn.qkv.bias"],
                      w[f"{b}.attn.proj.weight"], w[f"{b}.attn.proj.bias"], m.heads, tr,
                      None if self.key_select is None else self.key_select(i))
        tr["attn_proj"] = a
        x = x + a
        tr["attn_residual"] = x
        h = layer_norm(x, w[f"{b}.norm2.weight"], w[f"{b}.norm2.bias"], m.ln_eps)
        tr["norm2"] = h
        if m.is_moe(i):
            t = self.task_index(task)
            logits, probs, idx, gates = route_top_k(h, w[f"{b}.mlp.gate.{t}.w_gate"], m.top_k)
            tr.update(router_logits=logits, router_probs=probs, topk_indices=idx,
                      topk_gates=gates)
            e = f"{b}.mlp.experts"
            y = moe_mlp(h, idx, gates, w[f"{e}.htoh4.weight"], w[f"{e}.htoh4.bias"],
                        w[f"{e}.h4toh.weight"], w[f"{e}.h4toh.bias"])
        else:
            y = dense_mlp(h, w[f"{b}.mlp.fc1.weight"], w[f"{b}.mlp.fc1.bias"],
                          w[f"{b}.mlp.fc2.weight"], w[f"{b}.mlp.fc2.bias"])
        tr["mlp_out"] = y
        x = x + y
        tr["out"] = x
        return x

    def backbone(self, pixels: np.ndarray, task: str | int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run patch embedding and every block.

        Args:
            pixels: (3, H, W) uint8 planar image (see ``image_to_pixels``).
            task: Task name or index.

        Returns:
            (tokens (num_tokens, dim), taps) where taps[0] is the patch-embedding output
            and taps[i + 1] the output of block i (taps[-1] is tokens).
        """
        self.task_index(task)
        x = self.patch_embed(pixels)
        taps = [x]
        for i in range(self.model.depth):
            x = self.block(x, i, task)
            taps.append(x)
        return x, taps

    # ------------------------------------------------------------------ heads
    def head(
        self, tokens: np.ndarray, task: str | int, trace: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """SETR-PUP head of ``task`` on backbone tokens (CLS row dropped): (C, H, W)."""
        name = self.model.tasks[self.task_index(task)].name
        return setr_pup_head(tokens[1:], self.weights, self.model, name, trace)

    def forward(self, pixels: np.ndarray, task: str | int) -> dict[str, Any]:
        """Backbone + head: dict with ``tokens``, ``taps`` and ``head`` (C, H, W)."""
        tokens, taps = self.backbone(pixels, task)
        return {"tokens": tokens, "taps": taps, "head": self.head(tokens, task)}

    def predict(self, pixels: np.ndarray, task: str | int) -> np.ndarray:
        """Task prediction at input resolution: see :meth:`head_to_prediction`."""
        return self.head_to_prediction(self.forward(pixels, task)["head"])

    @staticmethod
    def head_to_prediction(head_out: np.ndarray) -> np.ndarray:
        """Segmentation map (argmax over channels, int64) for multi-channel heads,
        channel 0 (float64 depth) for single-channel heads."""
        if head_out.shape[0] == 1:
            return head_out[0]
        return np.argmax(head_out, axis=0).astype(np.int64)
