"""Accuracy vs tile-skip of a compressed M3ViT, with latency by the executor's cycle model.

Each point: ``compress`` (Turbo-VBI support, whole zero tiles in every MLP and expert
matrix, dead neurons folded), then mIoU / depth abs-rel of the compiled program on the
golden executor.  Latency is **modelled** by :mod:`edgemoe.perf` on the program the
compiler emits for the device: dead neurons removed and every LINEAR with all-zero
weight tiles marked ``Flag.WSKIP`` (its zero tiles neither fetched nor computed, as the
linear engine does in RTL), and every MOE_EXPERTS with one marked too (each expert's
fc1 / fc2 maps read from the program's image: edgemoe.perf.moe.expert_keep).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgemoe.params import AccelConfig, ModelConfig
from edgemoe.seeds.compress_model import compress_weights
from edgemoe.seeds.m3vit_scores import score_golden

__all__ = ["EXPERT_SUFFIXES", "MLP_SUFFIXES", "mlp_cycles", "sparsity_curve"]

#: Instructions (by comment) of the MLP and expert layers.
MLP_SUFFIXES = (".mlp.fc1", ".mlp.fc2", ".experts")
#: Instructions (by comment) of the expert layers alone.
EXPERT_SUFFIXES = (".experts",)


def mlp_cycles(model: ModelConfig, accel: AccelConfig, weights: Mapping[str, np.ndarray],
               task: int = 0) -> dict[str, float]:
    """Modelled cycles of one image: MLP/expert instructions and the whole program.

    Args:
        model: M3ViT model.
        accel: Design point.
        weights: Canonical weights, zeros in place.
        task: Task whose run is modelled (experts: tokens spread evenly, top-2).

    Returns:
        {"mlp_dense", "mlp_sparse", "experts_dense", "experts_sparse", "total_dense",
        "total_sparse"} in cycles (modelled): dense is the same weights compiled with every
        layer dense and every neuron kept, sparse the program the compiler emits by
        default (WSKIP, dead neurons removed); experts are part of mlp.
    """
    from edgemoe.compiler import compile_model
    from edgemoe.perf import model_program

    out = {}
    for key, kwargs in (("dense", {"remove_dead": False, "tile_skip": False}), ("sparse", {})):
        prog = compile_model(model, accel, dict(weights), **kwargs)
        run = model_program(prog.instrs, accel, task=task, image=prog.fresh_image())
        for part, suffixes in (("mlp", MLP_SUFFIXES), ("experts", EXPERT_SUFFIXES)):
            out[f"{part}_{key}"] = float(sum(o.cycles for o in run.ops if prog.instrs[o.index]
                                             .comment.endswith(suffixes)))
        out[f"total_{key}"] = float(run.cycles)
    return out


def sparsity_curve(model: ModelConfig, accel: AccelConfig, weights: Mapping[str, np.ndarray],
                   skips: Sequence[float], n_scenes: int) -> list[dict]:
    """One row per target tile-skip (0 = the uncompressed model).

    Returns:
        Rows of target, achieved mean tile-skip, dead neurons, golden mIoU and abs-rel,
        and :func:`mlp_cycles`' figures with the latency in ms (modelled).
    """
    tile = (accel.linear_p_out, accel.linear_p_in)
    rows = []
    for skip in skips:
        pruned, rates, dead = (compress_weights(weights, tile, skip) if skip
                               else (dict(weights), {}, 0))
        row = {"target": skip, "tile_skip": float(np.mean(list(rates.values()) or [0.0])),
               "dead_neurons": dead, **score_golden(model, accel, pruned, n_scenes),
               **mlp_cycles(model, accel, pruned)}
        row["latency_ms"] = row["total_sparse"] / accel.clock_mhz / 1e3
        rows.append(row)
    return rows
