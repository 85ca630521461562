"""Latency of a tile-pruned M3ViT by the executor's cycle model (WSKIP programs)."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.models import random_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def micro():
    return load_model("m3vit-micro"), load_accel("tiny")


def test_mlp_cycles_fall_with_the_skipped_tiles(micro):
    """Modelled on the compiled programs: zeroed fc1 tiles cost neither fetch nor MACs."""
    from edgemoe.seeds.sparse_m3vit import mlp_cycles

    model, accel = micro
    w = random_weights(model, seed=3)
    dense = mlp_cycles(model, accel, w)
    assert dense["mlp_sparse"] == dense["mlp_dense"] > 0  # no zero tile: nothing changes
    assert dense["total_sparse"] == dense["total_dense"] > dense["mlp_dense"]
    # zero half of fc1's 4x4 tiles (fc1 is 64 x 32: 16 x 8 tiles, 9 tokens), not whole
    # rows (a dead neuron would be removed instead): 64 of 128 tiles skipped
    sparse = dict(w)
    fc1 = np.array(w["blocks.0.mlp.fc1.weight"])
    fc1[:, :16] = 0
    sparse["blocks.0.mlp.fc1.weight"] = fc1
    got = mlp_cycles(model, accel, sparse)
    assert got["mlp_dense"] == dense["mlp_dense"]
    saved = dense["mlp_sparse"] - got["mlp_sparse"]
    # at most the 64 x 9 MAC beats and a fetch cycle per tile; at least half the beats (on
    # this small layer a token's row load and round trip hide part of its MACs)
    assert 32 * model.num_tokens <= saved <= 64 * (model.num_tokens + 2), saved
    assert got["total_dense"] - got["total_sparse"] == pytest.approx(saved, abs=1)


def test_expert_cycles_fall_with_the_skipped_tiles(micro):
    """Zeroed tiles of every expert's fc1 and fc2 (not whole rows: no dead neuron) are
    skipped in the modelled MOE_EXPERTS, which was dense without its WSKIP mode."""
    from edgemoe.seeds.sparse_m3vit import mlp_cycles

    model, accel = micro
    w = random_weights(model, seed=3)
    dense = mlp_cycles(model, accel, w)
    assert dense["experts_sparse"] == dense["experts_dense"] > 0
    sparse = dict(w)
    for name, cols in (("htoh4", 16), ("h4toh", 24)):  # half of each layer's input tiles
        m = np.array(w[f"blocks.1.mlp.experts.{name}.weight"])  # (experts, out, in)
        m[:, :, :cols] = 0
        sparse[f"blocks.1.mlp.experts.{name}.weight"] = m
    got = mlp_cycles(model, accel, sparse)
    assert got["experts_dense"] == dense["experts_dense"]
    # 48 of fc1's 96 4x4 tiles and 48 of fc2's per expert; tokens spread evenly (top-2:
    # 5 of the 9 per expert): at most those MAC beats, a fetch cycle per tile and, on one
    # port, up to a map pass per job (a cycle a tile) less lost to the prefetch that starts
    # with the job (moe._lost_to_prefetch: mostly streamed while the job passes its map);
    # at least half the beats (on these small layers the row loads hide part of the MACs)
    e, per_expert = model.num_experts, -(-2 * model.num_tokens // model.num_experts)
    beats = e * per_expert * (48 + 48)
    saved = dense["experts_sparse"] - got["experts_sparse"]
    assert beats / 2 <= saved <= beats + e * (48 + 48) + e * (96 + 96), saved
    assert got["mlp_dense"] - got["mlp_sparse"] == pytest.approx(saved, abs=1)
