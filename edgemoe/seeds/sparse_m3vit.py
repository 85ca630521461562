"""Accuracy vs tile-skip of a compressed M3ViT, with latency modelled by the skip formula.

Each point: ``compress`` (Turbo-VBI support, whole zero tiles in every MLP and expert
matrix, dead neurons folded), then mIoU / depth abs-rel of the compiled program on the
golden executor. The linear engine does not skip tiles yet, so the latency is
**modelled by formula**: per MLP/expert instruction, the cycle model's dense cycles split
into MAC cycles (one per weight tile per token, the engine's P_OUT x P_IN array) and the
rest (a fixed overhead: loads, bias, write-back); the sparse figure keeps the overhead and
scales the MAC cycles by the share of non-zero tiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgemoe.isa import Op
from edgemoe.params import AccelConfig, ModelConfig
from edgemoe.seeds.compress_model import compress_weights
from edgemoe.seeds.m3vit_scores import score_golden
from edgemoe.seeds.pruning import tile_sums

__all__ = ["mlp_cycles_by_formula", "sparsity_curve"]


def _nonzero_tiles(w: np.ndarray, tile: tuple[int, int]) -> np.ndarray:
    """Non-zero tiles of each matrix of a stack (or of one matrix)."""
    mats = np.asarray(w).reshape(-1, *w.shape[-2:])
    return np.array([(tile_sums(np.abs(m) > 0, tile) > 0).sum() for m in mats])


def mlp_cycles_by_formula(model: ModelConfig, accel: AccelConfig,
                          weights: Mapping[str, np.ndarray], task: int = 0
                          ) -> dict[str, float]:
    """Modelled cycles of one image: MLP/expert instructions and the whole program.

    Args:
        model: M3ViT model.
        accel: Design point (its P_OUT x P_IN is the tile).
        weights: Canonical weights, zeros in place.
        task: Task whose run is modelled (experts: tokens spread evenly, top-k).

    Returns:
        {"mlp_dense", "mlp_sparse", "total_dense", "total_sparse"} in cycles (modelled).
    """
    from edgemoe.compiler import compile_model
    from edgemoe.perf import model_program

    tile = (accel.linear_p_out, accel.linear_p_in)
    prog = compile_model(model, accel, dict(weights), remove_dead=False)
    run = model_program(prog.instrs, accel, task=task)
    dense = sparse = 0.0
    for o in run.ops:
        ins = prog.instrs[o.index]
        name = ins.comment
        if ins.op == Op.LINEAR and name.endswith((".mlp.fc1", ".mlp.fc2")):
            nz = _nonzero_tiles(weights[f"{name}.weight"], tile)
            total = tile_sums(np.ones(weights[f"{name}.weight"].shape), tile).size
            macs, kept = ins.get("tokens") * total, ins.get("tokens") * float(nz.sum())
        elif ins.op == Op.MOE_EXPERTS and name.endswith(".experts"):
            ex = f"{name[: -len('.experts')]}.mlp.experts"
            w1, w2 = weights[f"{ex}.htoh4.weight"], weights[f"{ex}.h4toh.weight"]
            t, e = ins.get("tokens"), ins.get("experts")
            per_expert = min(t, -(-model.top_k * t // e))  # the cycle model's even routing
            total = tile_sums(np.ones(w1.shape[-2:]), tile).size + \
                tile_sums(np.ones(w2.shape[-2:]), tile).size
            macs = per_expert * e * total
            kept = per_expert * float((_nonzero_tiles(w1, tile) + _nonzero_tiles(w2, tile)).sum())
        else:
            continue
        overhead = max(o.cycles - macs, 0.0)
        dense += o.cycles
        sparse += overhead + macs * kept / max(macs, 1)
    return {"mlp_dense": dense, "mlp_sparse": sparse, "total_dense": float(run.cycles),
            "total_sparse": run.cycles - dense + sparse}


def sparsity_curve(model: ModelConfig, accel: AccelConfig, weights: Mapping[str, np.ndarray],
                   skips: Sequence[float], n_scenes: int) -> list[dict]:
    """One row per target tile-skip (0 = the uncompressed model).

    Returns:
        Rows of target, achieved mean tile-skip, dead neurons, golden mIoU and abs-rel,
        and :func:`mlp_cycles_by_formula`'s figures with the latency in ms (modelled).
    """
    tile = (accel.linear_p_out, accel.linear_p_in)
    rows = []
    for skip in skips:
        pruned, rates, dead = (compress_weights(weights, tile, skip) if skip
                               else (dict(weights), {}, 0))
        row = {"target": skip, "tile_skip": float(np.mean(list(rates.values()) or [0.0])),
               "dead_neurons": dead, **score_golden(model, accel, pruned, n_scenes),
               **mlp_cycles_by_formula(model, accel, pruned)}
        row["latency_ms"] = row["total_sparse"] / accel.clock_mhz / 1e3
        rows.append(row)
    return rows
