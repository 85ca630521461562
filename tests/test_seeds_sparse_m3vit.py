"""Latency of a tile-pruned M3ViT modelled by the tile-skip formula (no executor skips yet)."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.models import random_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def micro():
    return load_model("m3vit-micro"), load_accel("tiny")


def test_latency_formula_scales_only_the_mac_cycles_of_zero_tiles(micro):
    """Modelled by formula: sparse = overhead + MAC cycles x non-zero tile share."""
    from edgemoe.seeds.sparse_m3vit import mlp_cycles_by_formula

    model, accel = micro
    w = random_weights(model, seed=3)
    dense = mlp_cycles_by_formula(model, accel, w)
    assert dense["mlp_sparse"] == dense["mlp_dense"] > 0
    assert dense["total_sparse"] == dense["total_dense"] > dense["mlp_dense"]
    # zero half of fc1's 4x4 tiles (fc1 is 64 x 32: 16 x 8 tiles): 64 tiles x 9 tokens fewer
    sparse = dict(w)
    fc1 = np.array(w["blocks.0.mlp.fc1.weight"])
    fc1[:32] = 0
    sparse["blocks.0.mlp.fc1.weight"] = fc1
    got = mlp_cycles_by_formula(model, accel, sparse)
    assert got["mlp_dense"] == dense["mlp_dense"]
    assert got["mlp_sparse"] == dense["mlp_sparse"] - 64 * model.num_tokens
