"""Top-k attention through A2ATS codebooks on an M3ViT: accuracy (float) and modelled cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgemoe.params import ModelConfig
from edgemoe.seeds.m3vit_scores import score_float
from edgemoe.seeds.topk_attention import (
    CodebookTopK,
    dense_attention_cycles,
    topk_attention_cycles,
)
from edgemoe.seeds.vq_fit import fit_model_codebooks

__all__ = ["vq_attention_table"]


def vq_attention_table(model: ModelConfig, weights: Mapping[str, np.ndarray],
                       codebooks: Sequence[int], ks: Sequence[int], n_scenes: int,
                       calib: int) -> dict:
    """Float mIoU / abs-rel of top-k attention for every (C, k), against exact attention.

    Args:
        model: M3ViT with tasks seg and depth (m3vit-demo).
        weights: Canonical weights.
        codebooks: Codebook sizes C (one ``vq-fit`` each, on ``calib`` training scenes).
        ks: Keys attended per query.
        n_scenes: Test scenes scored.
        calib: Calibration scenes.

    Returns:
        {"dense": {miou, abs_rel, cycles}, "rows": [{codebook, k, miou, abs_rel, cycles,
        speedup}]}; cycles per query and head, modelled by formula.
    """
    n, hd = model.num_tokens, model.head_dim
    dense_cyc = dense_attention_cycles(n, hd)
    out = {"dense": {**score_float(model, weights, n_scenes), "cycles": dense_cyc}, "rows": []}
    for c in codebooks:
        centres, transform, _ = fit_model_codebooks(model, weights, c, calib)
        for k in ks:
            sel = CodebookTopK(centres, transform, k)
            cyc = topk_attention_cycles(n, hd, c, k)
            out["rows"].append({"codebook": c, "k": k, **score_float(model, weights, n_scenes, sel),
                                "cycles": cyc, "speedup": dense_cyc / cyc})
    return out
