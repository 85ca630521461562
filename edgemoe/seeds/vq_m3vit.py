"""Top-k attention through A2ATS codebooks on an M3ViT: accuracy (float reference or the
bit-exact golden executor) and modelled cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgemoe.params import AccelConfig, ModelConfig
from edgemoe.seeds.m3vit_scores import score_float, score_golden
from edgemoe.seeds.topk_attention import (
    CodebookTopK,
    dense_attention_cycles,
    topk_attention_cycles,
)
from edgemoe.seeds.vq_fit import fit_model_codebooks

__all__ = ["attention_cycles", "vq_attention_golden_table", "vq_attention_table"]


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


def attention_cycles(model: ModelConfig, accel: AccelConfig, topk=None) -> int:
    """Modelled cycles of every ATTENTION of one image: the cycle model's terms
    (``edgemoe.ops`` ATTENTION, :func:`edgemoe.golden.cycles.ideal_cycles`)."""
    from edgemoe.golden.cycles import ideal_cycles
    from edgemoe.isa import Flag, Instr, Op

    t, nh, hd = model.num_tokens, model.heads, model.head_dim
    fields = {"tokens": t, "heads": nh, "head_dim": hd}
    if topk is not None:
        fields.update(codebook_size=topk.codebook_size, top_k=topk.k)
    ins = Instr.make(Op.ATTENTION, Flag.NONE if topk is None else Flag.ATTN_TOPK, **fields)
    return model.depth * ideal_cycles(ins, accel, {"macs": 0})


def vq_attention_golden_table(model: ModelConfig, accel: AccelConfig,
                              weights: Mapping[str, np.ndarray], codebooks: Sequence[int],
                              ks: Sequence[int], n_scenes: int, calib: int) -> dict:
    """mIoU / abs-rel of the compiled top-k mode (Flag.ATTN_TOPK) on the golden executor.

    Args:
        model: M3ViT with tasks seg and depth (m3vit-demo).
        accel: Design point (its attention lanes set the modelled cycles).
        weights: Canonical weights.
        codebooks: Codebook sizes C (one ``vq-fit`` each, on ``calib`` training scenes).
        ks: Keys attended per query.
        n_scenes: Test scenes scored.
        calib: Calibration scenes.

    Returns:
        {"dense": {miou, abs_rel, cycles}, "rows": [{codebook, k, miou, abs_rel, cycles,
        speedup}]}; cycles: every ATTENTION of one image, modelled (cycle model).
    """
    from edgemoe.compiler import AttnTopK

    dense_cyc = attention_cycles(model, accel)
    out = {"dense": {**score_golden(model, accel, weights, n_scenes), "cycles": dense_cyc},
           "rows": []}
    for c in codebooks:
        centres, transform, _ = fit_model_codebooks(model, weights, c, calib)
        for k in ks:
            topk = AttnTopK(centres, transform, k)
            cyc = attention_cycles(model, accel, topk)
            out["rows"].append({"codebook": c, "k": k, "cycles": cyc, "speedup": dense_cyc / cyc,
                                **score_golden(model, accel, weights, n_scenes, topk)})
    return out
