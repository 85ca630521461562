"""The shipped VoVNet digits classifier: float vs the fixed-point accelerator, and the
torch trainer's official-name state_dict against the numpy float reference."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.data.digits import load_digits_split
from edgemoe.host import Accelerator
from edgemoe.models import load_weights
from edgemoe.models.graph import GraphReference
from edgemoe.params import load_model

pytestmark = pytest.mark.golden
WEIGHTS = resources.files("edgemoe").joinpath("data/vovnet-tiny-digits.safetensors")


@pytest.fixture(scope="module")
def trained():
    model = load_model("vovnet-tiny")
    return model, load_weights(str(WEIGHTS), model)


def test_fixed_point_accuracy_within_half_a_point_of_float(trained, tiny):
    model, weights = trained
    _, _, x, y = load_digits_split()
    ref = GraphReference(model, weights)
    float_pred = np.array([ref.forward(p).argmax() for p in x])
    compiled = compile_model(model, tiny, weights, strict=True)  # no weight saturates
    with Accelerator(compiled, "golden", accel=tiny) as acc:
        fixed_pred = np.array([acc.run(p, task="cls")[0].predictions["cls"].reshape(-1)[0]
                               for p in x])
    float_acc, fixed_acc = (float_pred == y).mean(), (fixed_pred == y).mean()
    assert float_acc >= 0.97  # the shipped model is trained (model card: 0.9926)
    assert fixed_acc >= float_acc - 0.005
    record = json.loads(resources.files("edgemoe").joinpath(
        "data/vovnet-tiny-digits.train.json").read_text())
    assert record["float_test_accuracy"] == pytest.approx(float_acc, abs=1e-9)


def test_torch_state_dict_imports_with_official_names(trained):
    import torch

    from edgemoe.models.vovnet_import import canonical_from_official
    from edgemoe.training.torch_vovnet import TorchVoVNet

    model, _ = trained
    torch.manual_seed(1)
    net = TorchVoVNet(model)
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for name, buf in net.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buf.normal_(0.0, 0.2)
    net.eval()
    state = net.state_dict()
    assert "stage2.OSA2_1.layers.0.OSA2_1_0/conv.weight" in state
    assert "stage3.OSA3_1.ese.fc.weight" in state and "stem.stem_1/norm.running_var" in state
    ref = GraphReference(model, canonical_from_official(state))
    _, _, x, _ = load_digits_split()
    with torch.no_grad():
        want = net(torch.from_numpy(x[:8])).double().numpy()
    got = np.stack([ref.forward(p) for p in x[:8]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # float32 torch vs float64
