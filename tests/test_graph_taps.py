"""Taps of layer-graph models (VoVNet, SNN): every layer's map copied out, `run --dump`,
`compare`, and C-sim taps byte for byte with golden."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.compiler.taps import SPIKE_FORMAT, select_taps, tap_names
from edgemoe.data import trained_weights
from edgemoe.host import Accelerator
from edgemoe.host.design import open_design
from edgemoe.models import load_default_image, load_weights
from edgemoe.models.graph import GraphReference
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden

#: (model, design point, shipped weights)
MODELS = (("vovnet-tiny", "tiny", "vovnet-tiny"), ("snn-digits", "snn-tiny", "snn-digits"))


def _compiled(model_name: str, accel_name: str, weights_name: str):
    model, accel = load_model(model_name), load_accel(accel_name)
    weights = load_weights(trained_weights(weights_name), model)
    return model, accel, weights, compile_model(model, accel, weights,
                                                taps=select_taps(["all"], model))


def _taps(compiled, accel, model, backend: str) -> dict[str, np.ndarray]:
    with Accelerator(open_design(compiled, accel), backend=backend) as acc:
        return acc.run(load_default_image(model), task=model.task.name)[0].taps[model.task.name]


@pytest.mark.parametrize("names", MODELS, ids=[m[0] for m in MODELS])
def test_every_layer_is_a_tap_with_its_map_shape(names):
    model, accel, weights, c = _compiled(*names)
    specs = c.manifest["taps"]["tensors"]
    assert list(specs) == tap_names(model) == [layer.name for layer in model.layers]
    pixels = load_default_image(model)
    ref = GraphReference(model, weights).forward(pixels, keep=True)
    with Accelerator(open_design(c, accel), backend="golden") as acc:
        result = acc.run(pixels, task=model.task.name)[0]
    got = result.taps[model.task.name]
    for name, spec in specs.items():
        ch, h, w = ref[name].shape
        assert spec["shape"] == [h * w, ch] == list(got[name].shape), name
    # the last layer's tap is the model output itself
    assert np.array_equal(got[model.output.name].reshape(-1),
                          np.asarray(result[model.task.name]).reshape(-1))


def test_spike_taps_are_the_spike_trains():
    """snn-digits: spike taps hold 0/1 bytes, and the shipped T = 1 model fires exactly as
    its float reference on the default digit (the threshold compare is far from ties)."""
    model, accel, weights, c = _compiled(*MODELS[1])
    got = _taps(c, accel, model, "golden")
    ref = GraphReference(model, weights).forward(load_default_image(model), keep=True)
    for layer in ("hidden1", "hidden2", "hidden3"):
        assert c.manifest["taps"]["tensors"][layer]["format"] == SPIKE_FORMAT
        assert set(np.unique(got[layer])) <= {0.0, 1.0}
        assert 0 < got[layer].sum() < got[layer].size  # some fire, not all
        assert np.array_equal(got[layer], ref[layer].reshape(ref[layer].shape[0], -1).T)


def test_unknown_tap_names_list_the_layers():
    model = load_model("vovnet-tiny")
    with pytest.raises(ValueError, match="stem.stem_1.*its layer names"):
        select_taps(["blocks.0.norm1"], model)


@pytest.mark.csim
@pytest.mark.parametrize("names", MODELS, ids=[m[0] for m in MODELS])
def test_csim_taps_are_byte_identical_to_golden(names):
    model, accel, _, c = _compiled(*names)
    gold, sim = _taps(c, accel, model, "golden"), _taps(c, accel, model, "csim")
    assert gold.keys() == sim.keys()
    for name, value in gold.items():
        assert np.array_equal(value, sim[name]), name


@pytest.mark.parametrize("names", MODELS, ids=[m[0] for m in MODELS])
def test_run_dump_and_compare_commands(names, tmp_path, capsys):
    model_name, _, weights_name = names
    weights = str(trained_weights(weights_name))
    out = tmp_path / "run"
    assert main(["run", "--model", model_name, "--weights", weights, "--out", str(out),
                 "--dump", "all"]) == 0
    with np.load(out / "default_taps.npz") as saved:
        assert sorted(saved.files) == sorted(f"cls.{n}" for n in tap_names(load_model(model_name)))
    capsys.readouterr()
    assert main(["compare", "--model", model_name, "--weights", weights]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.startswith("cls ")]
    errors = {r[1]: float(r[2]) for r in rows}
    assert list(errors) == tap_names(load_model(model_name))
    # fixed point (16-bit weights, 22 fraction bits) vs float64 on the unrounded weights:
    # the weights' rounding dominates (~2**-15 relative each), well under 1% per layer
    assert max(errors.values()) < 1e-2
