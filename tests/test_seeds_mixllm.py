"""MixLLM global mixed precision: quantisers, salience, selection, the digits target, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgemoe.cli import main
from edgemoe.seeds.precision_map import read_precision_map
from edgemoe.seeds.quant import fake_quant, mixed_fake_quant, quantize_asym, quantize_sym
from edgemoe.seeds.salience import (
    channel_salience,
    select_global,
    select_per_layer,
    select_random,
)

pytestmark = pytest.mark.unit


def test_asymmetric_quantiser_codes_and_zero_point():
    w = np.array([[-1.0, -0.5, 0.0, 2.0]])
    codes, scale, zero = quantize_asym(w, bits=2, group=4)
    assert scale[0, 0] == pytest.approx(1.0) and zero[0, 0] == 1  # range [-1, 2] over 3 steps
    assert codes[0, 0].tolist() == [0, 1, 1, 3]  # -0.5 rounds half to even: 0 + 1
    assert fake_quant(w, 2, 4, symmetric=False).tolist() == [[-1.0, 0.0, 0.0, 2.0]]


def test_quantisers_keep_zero_exact_and_bound_the_error():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 70))
    w[:, ::5] = 0.0
    for bits, sym in ((2, False), (4, False), (8, True)):
        q = fake_quant(w, bits, 32, symmetric=sym)
        assert q.shape == w.shape and (q[:, ::5] == 0).all()
        for g0 in range(0, 70, 32):  # error at most half a step of each group
            blk = w[:, g0 : g0 + 32]
            if sym:
                step = np.abs(blk).max(1) / (2 ** (bits - 1) - 1)
            else:
                step = (np.maximum(blk.max(1), 0) - np.minimum(blk.min(1), 0)) / (2**bits - 1)
            err = np.abs(q[:, g0 : g0 + 32] - blk).max(1)
            assert (err <= step * 0.5 + 1e-12).all()


def test_symmetric_int8_range():
    codes, scale = quantize_sym(np.array([[1.27, -1.27, 0.01]]), bits=8, group=3)
    assert codes[0, 0].tolist() == [127, -127, 1] and scale[0, 0] == pytest.approx(0.01)


def test_mixed_quant_uses_high_precision_only_on_chosen_rows():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 32))
    out = mixed_fake_quant(w, np.array([False, True, False, False]), 2, 8, 32)
    assert np.array_equal(out[1], fake_quant(w[1:2], 8, 32, symmetric=True)[0])
    assert np.array_equal(out[[0, 2, 3]], fake_quant(w[[0, 2, 3]], 2, 32, symmetric=False))


def test_salience_is_the_taylor_score_of_per_sample_gradients():
    """Loss_i = w . x_i, so g_i = x_i and score = sum_i |x_i.dw + (x_i.dw)^2 / 2| per row."""
    rng = np.random.default_rng(2)
    w = torch.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    xs = rng.standard_normal((6, 5))
    delta = rng.standard_normal((3, 5))
    quant = lambda m: m + delta  # a quantiser with a known error
    losses = [lambda x=x: (w @ torch.tensor(x)).sum() for x in xs]
    scores = channel_salience({"w": w}, quant, losses)["w"]
    t = xs @ delta.T  # (samples, rows)
    assert np.allclose(scores, np.abs(t + t * t / 2).sum(0))


def test_global_selection_ranks_across_layers_and_baselines_spend_the_same_budget():
    scores = {"a": np.array([5.0, 1.0, 9.0, 0.0]), "b": np.array([8.0, 7.0, 6.0, 2.0, 3.0, 4.0])}
    glob = select_global(scores, 0.3)  # 3 of 10 channels: 9, 8, 7
    assert np.flatnonzero(glob["a"]).tolist() == [2] and np.flatnonzero(glob["b"]).tolist() == [0, 1]
    per = select_per_layer(scores, 0.3)  # 1.2 and 1.8 -> 1 and 2 by largest remainder
    assert np.flatnonzero(per["a"]).tolist() == [2] and np.flatnonzero(per["b"]).tolist() == [0, 1]
    per = select_per_layer({"a": scores["a"], "b": scores["b"][:4]}, 0.5)  # 2 + 2
    assert np.flatnonzero(per["a"]).tolist() == [0, 2]
    rnd = select_random({"a": 4, "b": 6}, 0.3, np.random.default_rng(0))
    assert sum(m.sum() for m in rnd.values()) == 3
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        select_global(scores, 1.5)


@pytest.mark.slow
def test_digits_global_salience_beats_the_reference_over_five_seeds():
    """seeds.md: W2 / 10 % W8, groups of 32: acc >= 0.909, KL <= 0.26, global < per-layer < random."""
    from edgemoe.seeds.digits import load_digits_split
    from edgemoe.seeds.mixllm_digits import run_mixllm_digits

    data = load_digits_split()
    runs = [run_mixllm_digits(data, seed) for seed in range(5)]
    mean = {m: {k: np.mean([r[m][k] for r in runs]) for k in ("acc", "kl")}
            for m in ("random", "per_layer", "global")}
    assert all(r["global"]["high"] == r["random"]["high"] == r["per_layer"]["high"] == 11
               for r in runs)  # 10 % of 106 channels, the same budget for every method
    assert mean["global"]["acc"] >= 0.909, mean
    assert mean["global"]["kl"] <= 0.26, mean
    assert mean["global"]["kl"] < mean["per_layer"]["kl"] < mean["random"]["kl"], mean


@pytest.mark.slow
def test_quantize_writes_a_precision_map_for_the_demo_model(tmp_path):
    out = tmp_path / "pm.json"
    assert main(["quantize", "--calib", "1", "--high-bits-fraction", "0.1",
                 "--out", str(out)]) == 0
    pmap = read_precision_map(out)
    # the default group: one per row (int4.ROW_GROUP, past every K)
    assert pmap["low"]["bits"] == 4 and pmap["high"]["bits"] == 8
    assert pmap["group_size"] == 1 << 16
    layers = pmap["layers"]
    assert layers["blocks.1.mlp.experts.htoh4.weight"]["shape"] == [8, 192, 96]
    assert layers["blocks.0.attn.qkv.weight"]["shape"] == [288, 96]
    total = sum(int(np.prod(v["shape"][:-1])) for v in layers.values())
    assert pmap["channels"] == total
    assert pmap["high_channels"] == round(0.1 * total)
    assert sum(len(v["high_channels"]) for v in layers.values()) == pmap["high_channels"]


def test_quantize_rejects_a_group_size_that_does_not_divide(tmp_path, capsys):
    assert main(["quantize", "--group-size", "7", "--out", str(tmp_path / "pm.json")]) == 2
    assert "does not divide" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
