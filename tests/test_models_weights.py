"""Canonical weights: shapes, random init, validation, file formats, Edge-MoE .bin folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgemoe.models import (
    WeightError,
    expected_shapes,
    fold_bn,
    fold_cls_into_pos,
    load_weights,
    random_weights,
    save_edgemoe_bin,
    save_weights,
    validate_weights,
)
from edgemoe.models.layers import batch_norm, conv2d
from edgemoe.params import load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def micro():
    return load_model("m3vit-micro")


@pytest.fixture(scope="module")
def tiny():
    return load_model("m3vit-tiny")


@pytest.fixture(scope="module")
def micro_w(micro):
    return random_weights(micro, seed=3)


# --------------------------------------------------------------------------- shapes
def test_tiny_shapes_match_edge_moe(tiny):
    s = expected_shapes(tiny)
    assert s["patch_embed.proj.weight"] == (192, 3, 16, 16)
    assert s["pos_embed"] == (1, 129, 192)
    assert s["cls_token"] == (1, 1, 192)
    assert s["blocks.0.attn.qkv.weight"] == (576, 192)
    assert s["blocks.0.mlp.fc1.weight"] == (768, 192)
    assert s["blocks.10.mlp.fc2.weight"] == (192, 768)
    assert s["blocks.11.mlp.experts.htoh4.weight"] == (16, 384, 192)
    assert s["blocks.11.mlp.experts.h4toh.weight"] == (16, 192, 384)
    assert s["blocks.11.mlp.experts.h4toh.bias"] == (16, 192)
    assert s["blocks.1.mlp.gate.1.w_gate"] == (192, 16)
    assert "blocks.1.mlp.fc1.weight" not in s and "blocks.0.mlp.gate.0.w_gate" not in s
    assert s["heads.seg.conv_0.weight"] == (256, 192, 3, 3)
    assert s["heads.seg.conv_3.weight"] == (256, 256, 3, 3)
    assert s["heads.seg.conv_4.weight"] == (7, 256, 1, 1)
    assert s["heads.depth.conv_4.bias"] == (1,)
    assert s["heads.depth.syncbn_fc_3.running_var"] == (256,)
    # 4 + 12 * 8 + 6 dense * 4 + 6 MoE * (4 + 2 gates) + 2 heads * (2 + 10 + 16)
    assert len(s) == 4 + 96 + 24 + 36 + 56
    # Edge-MoE parameter count of the backbone (trainable, excl. heads) by hand:
    backbone = sum(int(np.prod(v)) for k, v in s.items() if not k.startswith("heads."))
    per_block = 2 * 192 * 2 + 576 * 193 + 192 * 193
    dense = 768 * 193 + 192 * 769
    moe = 16 * (384 * 193 + 192 * 385) + 2 * 192 * 16
    assert backbone == 192 * 769 + 192 + 129 * 192 + 12 * per_block + 6 * dense + 6 * moe


def test_micro_shapes(micro):
    s = expected_shapes(micro)
    assert s["pos_embed"] == (1, 9, 32)
    assert s["blocks.1.mlp.experts.htoh4.weight"] == (4, 48, 32)
    assert s["blocks.1.mlp.gate.0.w_gate"] == (32, 4)
    assert s["blocks.0.mlp.fc1.weight"] == (64, 32)
    assert s["heads.seg.conv_0.weight"] == (16, 32, 3, 3)
    assert s["heads.seg.conv_4.weight"] == (7, 16, 1, 1)


# --------------------------------------------------------------------------- random init
def test_random_weights_deterministic_and_valid(micro):
    a, b, c = random_weights(micro, 7), random_weights(micro, 7), random_weights(micro, 8)
    assert list(a) == list(expected_shapes(micro))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["blocks.0.attn.qkv.weight"], c["blocks.0.attn.qkv.weight"])
    assert all(v.dtype == np.float64 for v in a.values())
    validate_weights(a, micro)


def test_random_weight_scales(tiny):
    w = random_weights(tiny, 0)
    qkv = w["blocks.3.attn.qkv.weight"]
    assert abs(qkv.std() - 0.0176) < 0.001  # N(0, .02) truncated at 2 sigma: std 0.0176
    assert np.abs(qkv).max() <= 0.04
    assert abs(w["blocks.2.norm1.weight"].mean() - 1.0) < 0.02
    conv = w["heads.seg.conv_1.weight"]
    assert abs(conv.std() - np.sqrt(2 / (256 * 9))) < 0.002
    var = w["heads.seg.syncbn_fc_0.running_var"]
    assert var.min() >= 0.5 and var.max() <= 1.5
    # Edge-MoE's linear weight format ap_fixed<16,2> holds every linear/gate weight.
    for k, v in w.items():
        if k.startswith("blocks.") and k.endswith(("weight", "w_gate")) and "norm" not in k:
            assert np.abs(v).max() < 2.0, k


# --------------------------------------------------------------------------- validation
def _error(weights, model) -> WeightError:
    with pytest.raises(WeightError) as info:
        validate_weights(weights, model)
    return info.value


def test_missing_tensor_named(micro, micro_w):
    w = dict(micro_w)
    del w["blocks.1.mlp.gate.1.w_gate"]
    err = _error(w, micro)
    assert "missing tensor 'blocks.1.mlp.gate.1.w_gate'" in str(err)
    assert len(err.problems) == 1


def test_extra_tensor_named(micro, micro_w):
    w = dict(micro_w, **{"blocks.0.attn.rel_pos": np.zeros(3)})
    assert "extra tensor 'blocks.0.attn.rel_pos'" in str(_error(w, micro))


def test_wrong_shape_lists_expected_and_got(micro, micro_w):
    w = dict(micro_w)
    w["blocks.0.mlp.fc1.weight"] = np.zeros((32, 64))
    msg = str(_error(w, micro))
    assert "'blocks.0.mlp.fc1.weight'" in msg and "expected (64, 32), got (32, 64)" in msg


@pytest.mark.parametrize(("bad", "label"), [(np.nan, "2 NaN, 0 Inf"), (np.inf, "0 NaN, 2 Inf")])
def test_non_finite_counted(micro, micro_w, bad, label):
    w = dict(micro_w)
    arr = w["pos_embed"].copy()
    arr[0, 3, 5] = bad
    arr[0, 1, 0] = -bad if bad == np.inf else bad
    w["pos_embed"] = arr
    msg = str(_error(w, micro))
    assert "'pos_embed' has 2 non-finite values" in msg and label in msg


def test_several_problems_in_one_error(micro, micro_w):
    w = dict(micro_w)
    del w["cls_token"]
    w["heads.depth.conv_4.bias"] = np.zeros(2)
    w["patch_embed.proj.bias"] = np.full(32, np.nan)
    w["unexpected"] = np.zeros(1)
    w["heads.seg.norm.bias"] = np.zeros(32, dtype=np.int32)
    err = _error(w, micro)
    assert len(err.problems) == 5
    msg = str(err)
    for name in ("cls_token", "heads.depth.conv_4.bias", "patch_embed.proj.bias",
                 "unexpected", "heads.seg.norm.bias"):
        assert f"'{name}'" in msg


# --------------------------------------------------------------------------- file formats
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_load_round_trip_exact(tmp_path: Path, micro, micro_w, suffix):
    path = tmp_path / f"w{suffix}"
    save_weights(micro_w, path)
    back = load_weights(path, micro)
    assert set(back) == set(micro_w)
    for k, v in micro_w.items():
        assert back[k].dtype == np.float64 and np.array_equal(back[k], v), k


def test_load_validates(tmp_path: Path, micro, micro_w):
    w = dict(micro_w)
    del w["blocks.0.norm2.bias"]
    save_weights(w, tmp_path / "w.npz")
    with pytest.raises(WeightError, match=r"missing tensor 'blocks\.0\.norm2\.bias'"):
        load_weights(tmp_path / "w.npz", micro)


def test_unknown_suffix(tmp_path: Path, micro, micro_w):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"\0" * 8)
    with pytest.raises(WeightError, match=r"weights\.pt.*'\.pt'.*\.npz.*\.safetensors"):
        load_weights(path, micro)
    with pytest.raises(WeightError, match=r"'\.pth'"):
        save_weights(micro_w, tmp_path / "w.pth")


def test_missing_path(tmp_path: Path, micro):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_weights(tmp_path / "nothere.npz", micro)


# --------------------------------------------------------------------------- Edge-MoE .bin
def _write_edge_moe_dir(weights, model, directory: Path) -> None:
    """Independent writer of Edge-MoE's layout (names of weights/*.float32.bin)."""
    def put(stem, arr):
        np.asarray(arr, dtype="<f4").tofile(directory / f"{stem}.float32.bin")

    put("patch_embed_weight", weights["patch_embed.proj.weight"])
    put("patch_embed_bias", weights["patch_embed.proj.bias"])
    pos = weights["pos_embed"][0].copy()
    pos[0] += weights["cls_token"][0, 0]
    put("pos_embed", pos)
    for i in range(model.depth):
        b = f"blocks.{i}"
        for n in (1, 2):
            put(f"l{i}_norm{n}_weight", weights[f"{b}.norm{n}.weight"])
            put(f"l{i}_norm{n}_bias", weights[f"{b}.norm{n}.bias"])
        for p in ("weight", "bias"):
            put(f"l{i}_qkv_{p}", weights[f"{b}.attn.qkv.{p}"])
            put(f"l{i}_attn_proj_{p}", weights[f"{b}.attn.proj.{p}"])
            if model.is_moe(i):
                put(f"l{i}_htoh4_{p}", weights[f"{b}.mlp.experts.htoh4.{p}"])
                put(f"l{i}_h4toh_{p}", weights[f"{b}.mlp.experts.h4toh.{p}"])
            else:
                put(f"l{i}_fc1_{p}", weights[f"{b}.mlp.fc1.{p}"])
                put(f"l{i}_fc2_{p}", weights[f"{b}.mlp.fc2.{p}"])
        if model.is_moe(i):
            for t in range(len(model.tasks)):
                put(f"l{i}_w_gate_T_task{t}", weights[f"{b}.mlp.gate.{t}.w_gate"].T)
    for k, v in weights.items():
        if k.startswith("heads."):
            put("head_" + k[len("heads."):].replace(".", "_"), v)
    # Non-weight files of an Edge-MoE checkout must be ignored.
    put("image", np.zeros((3, model.image_height, model.image_width)))
    put(f"l{model.depth - 1}_x_post_moe", np.zeros((model.num_tokens, model.dim)))


def _as_f32(weights):
    return {k: v.astype(np.float32).astype(np.float64) for k, v in weights.items()}


def test_edge_moe_bin_round_trip(tmp_path: Path, micro, micro_w):
    _write_edge_moe_dir(micro_w, micro, tmp_path)
    back = load_weights(tmp_path, micro)
    want = _as_f32(micro_w)
    assert set(back) == set(want)
    assert np.array_equal(back["cls_token"], np.zeros((1, 1, micro.dim)))
    np.testing.assert_array_equal(fold_cls_into_pos(back),
                                  fold_cls_into_pos(micro_w).astype(np.float32))
    for k in want:
        if k not in ("cls_token", "pos_embed"):
            assert np.array_equal(back[k], want[k]), k
    # The library writer produces the same bytes as the independent writer.
    out = tmp_path / "lib"
    save_edgemoe_bin(micro_w, micro, out)
    for f in out.iterdir():
        assert f.read_bytes() == (tmp_path / f.name).read_bytes(), f.name


def test_edge_moe_bin_missing_files_listed(tmp_path: Path, micro, micro_w):
    _write_edge_moe_dir(micro_w, micro, tmp_path)
    (tmp_path / "l1_w_gate_T_task1.float32.bin").unlink()
    (tmp_path / "l0_fc2_bias.float32.bin").unlink()
    with pytest.raises(WeightError) as info:
        load_weights(tmp_path, micro)
    msg = str(info.value)
    assert "missing file 'l1_w_gate_T_task1.float32.bin'" in msg
    assert "'blocks.1.mlp.gate.1.w_gate'" in msg
    assert "missing file 'l0_fc2_bias.float32.bin'" in msg
    assert len(info.value.problems) == 2


def test_edge_moe_bin_wrong_size(tmp_path: Path, micro, micro_w):
    _write_edge_moe_dir(micro_w, micro, tmp_path)
    np.zeros(3 * 32 - 1, dtype="<f4").tofile(tmp_path / "l0_qkv_bias.float32.bin")
    with pytest.raises(WeightError, match=r"'l0_qkv_bias\.float32\.bin' has 380 bytes, "
                                          r"expected 384"):
        load_weights(tmp_path, micro)


def test_edge_moe_bin_without_heads(tmp_path: Path, micro, micro_w):
    _write_edge_moe_dir(micro_w, micro, tmp_path)
    for f in tmp_path.glob("head_*"):
        f.unlink()
    with pytest.raises(WeightError, match=r"missing file 'head_seg_conv_0_weight.*head_seed"):
        load_weights(tmp_path, micro)
    back = load_weights(tmp_path, micro, head_seed=5)
    heads = random_weights(micro, 5)
    assert np.array_equal(back["heads.depth.conv_4.weight"], heads["heads.depth.conv_4.weight"])
    assert np.array_equal(back["blocks.0.attn.qkv.weight"],
                          _as_f32(micro_w)["blocks.0.attn.qkv.weight"])


# --------------------------------------------------------------------------- folding
def test_fold_cls_into_pos(micro, micro_w):
    pos = fold_cls_into_pos(micro_w)
    assert pos.shape == (micro.num_tokens, micro.dim)
    assert np.array_equal(pos[0], micro_w["cls_token"][0, 0] + micro_w["pos_embed"][0, 0])
    assert np.array_equal(pos[1:], micro_w["pos_embed"][0, 1:])
    assert not np.array_equal(pos[0], micro_w["pos_embed"][0, 0])


def test_fold_bn_equals_conv_then_bn():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6, 7))
    w, b = rng.normal(size=(4, 5, 3, 3)), rng.normal(size=4)
    g, be = 1 + rng.normal(0, 0.1, 4), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.5, 1.5, 4)
    ref = batch_norm(conv2d(x, w, b, pad=1), g, be, mean, var, 1e-5)
    fw, fb = fold_bn(w, b, g, be, mean, var)
    # float64 reassociation only: relative error bound 1e-12 of the output scale
    bound = 1e-12 * np.abs(ref).max()
    np.testing.assert_allclose(conv2d(x, fw, fb, pad=1), ref, rtol=0, atol=bound)
    # BN with var=1-eps, gamma=1, beta=0, mean=0 is the identity
    iw, ib = fold_bn(w, b, np.ones(4), np.zeros(4), np.zeros(4), np.full(4, 1 - 1e-5))
    np.testing.assert_allclose(iw, w, rtol=1e-15)
    np.testing.assert_allclose(ib, b, rtol=1e-15)
