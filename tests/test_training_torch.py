"""The torch M3ViT used for training is the numpy float reference, with the same names."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgemoe.models import M3ViTReference, load_weights, save_weights
from edgemoe.params import load_accel, load_model
from edgemoe.training import train as training
from edgemoe.training.torch_m3vit import TorchM3ViT

pytestmark = pytest.mark.unit


def _canonical(net: TorchM3ViT) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in net.canonical_state().items()}


@pytest.mark.parametrize("name", ["m3vit-micro", "m3vit-demo"])
def test_torch_forward_matches_the_numpy_reference(name):
    model = load_model(name)
    torch.manual_seed(1)
    net = TorchM3ViT(model).double().eval()
    with torch.no_grad():  # non-trivial norms and biases, so every term is exercised
        for p in net.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    ref = M3ViTReference(model, _canonical(net))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, model.image_height, model.image_width), dtype=np.uint8)
    for t in range(len(model.tasks)):
        with torch.no_grad():
            got = net(torch.from_numpy(pixels)[None], t)[0].numpy()
        want = ref.forward(pixels, t)["head"]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(want).max())


def test_exported_weights_load_through_the_weight_import(tmp_path):
    model = load_model("m3vit-micro")
    net = TorchM3ViT(model)
    path = tmp_path / "w.safetensors"
    save_weights({k: v.astype(np.float32) for k, v in _canonical(net).items()}, path)
    loaded = load_weights(path, model)  # validates names, shapes and values
    assert "blocks.1.mlp.gate.1.w_gate" in loaded
    assert loaded["blocks.1.mlp.experts.htoh4.weight"].shape == (4, 48, 32)
    assert not any(k.endswith("num_batches_tracked") for k in loaded)


def test_weights_are_clamped_to_their_accelerator_formats():
    model, accel = load_model("m3vit-micro"), load_accel("edge-moe-zcu102")
    net = TorchM3ViT(model)
    limits = training.format_limits(net, accel)
    params = dict(net.named_parameters())
    assert limits["patch_embed.proj.weight"] == (accel.formats.patch_weight.min_value,
                                                 accel.formats.patch_weight.max_value)
    assert limits["blocks.0.attn.qkv.bias"][1] == accel.formats.attn_bias.max_value
    with torch.no_grad():
        params["blocks.1.mlp.experts.htoh4.weight"].fill_(100.0)
        params["patch_embed.proj.weight"].fill_(-3.0)
    training._clamp(net, limits)
    assert float(params["blocks.1.mlp.experts.htoh4.weight"].detach().max()) == pytest.approx(
        accel.formats.linear_weight.max_value)
    assert float(params["patch_embed.proj.weight"].detach().min()) == pytest.approx(
        accel.formats.patch_weight.min_value)


def test_a_few_training_steps_write_loadable_weights_and_a_record(tmp_path):
    out = tmp_path / "demo.safetensors"
    args = training.build_parser().parse_args(
        ["--out", str(out), "--train-scenes", "4", "--val-scenes", "2", "--epochs", "1",
         "--batch", "2", "--threads", "1"])
    record = training.train(args)
    assert record["steps"] == 2 and record["epochs_run"] == 1
    load_weights(out, load_model("m3vit-demo"))
    saved = json.loads(out.with_suffix(".train.json").read_text())
    assert saved["args"]["seed"] == 0 and "miou" in saved["val_torch_float32"]
    assert not list(tmp_path.glob("*.partial*"))
    again = tmp_path / "again.safetensors"
    args = training.build_parser().parse_args(
        ["--out", str(again), "--init", str(out), "--train-scenes", "2", "--val-scenes", "2",
         "--epochs", "1", "--batch", "2", "--threads", "1", "--lr", "0"])
    training.train(args)  # lr 0: continuing changes nothing
    first, second = load_weights(out, load_model("m3vit-demo")), load_weights(
        again, load_model("m3vit-demo"))
    assert all(np.array_equal(first[k], second[k]) for k in first)
