"""The SNN as a layer graph: float graph rules vs the plain numpy SNN, the compiled program
on the golden executor vs the float reference, and the errors of bad models and inputs."""

from __future__ import annotations

import numpy as np
import pytest
from snnutil import snn_model, snn_weights

from edgemoe.compiler import compile_model
from edgemoe.compiler.graph import GraphError
from edgemoe.host import Accelerator
from edgemoe.isa import Op
from edgemoe.models import ImageError, WeightError
from edgemoe.models.graph import GraphReference
from edgemoe.models.snn import snn_forward
from edgemoe.params import load_accel

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def digits():
    from edgemoe.data.digits import load_digits_split

    _, _, pixels, labels = load_digits_split()
    return pixels[:60], labels[:60]


@pytest.mark.parametrize("steps", [1, 3])
def test_graph_rules_match_the_plain_numpy_snn(digits, steps):
    model = snn_model(steps)
    w = snn_weights(model, seed=steps)
    ref = GraphReference(model, w)
    x = digits[0].reshape(-1, 64) / 256.0
    want = snn_forward(w, x, steps)
    got = np.stack([ref.forward(p) for p in digits[0]])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 4])
def test_golden_accelerator_tracks_the_float_snn(digits, steps):
    """Weights round to 2**-14 and currents to 2**-22, so a spike flips only where the float
    membrane is within ~1e-2 of the threshold: >= 95% of predictions agree and the mean
    logit error stays under 0.05 per step."""
    model = snn_model(steps)
    w = snn_weights(model, seed=10 + steps)
    accel = load_accel("snn-tiny", [f"buffers.max_timesteps={steps}"])
    compiled = compile_model(model, accel, w)
    ops = [Op(i.op) for i in compiled.instrs]
    assert ops == [Op.CONV, Op.LIF, Op.LIF, Op.LIF, Op.LIF, Op.ADD]
    ref = GraphReference(model, w)
    want = np.stack([ref.forward(p) for p in digits[0]])
    with Accelerator(compiled, accel=accel) as acc:
        got = np.stack([r["cls"].reshape(-1) for r in acc.run(list(digits[0]), task="cls")])
    assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.95
    assert np.mean(np.abs(got - want)) < 0.05 * steps


def test_modelled_cycles_of_a_spiking_layer_are_linear_in_t(digits):
    cycles = {}
    for steps in (1, 2, 4):
        model = snn_model(steps)
        accel = load_accel("snn-tiny", [f"buffers.max_timesteps={steps}"])
        with Accelerator(compile_model(model, accel, snn_weights(model)), accel=accel) as acc:
            prof = acc.run(digits[0][0], task="cls")[0].profiles["cls"]
        cycles[steps] = next(e.cycles for e in prof.entries if e.name == "hidden2")
    assert cycles[2] == 2 * cycles[1] and cycles[4] == 4 * cycles[1]


def test_a_layer_too_wide_for_the_engine_is_refused():
    model = snn_model(1, widths=(128, 256, 128))
    with pytest.raises(GraphError, match=r"hidden2: 256 neurons > buffers.max_out_features=128"):
        compile_model(model, load_accel("snn-tiny"), snn_weights(model))


def test_more_timesteps_than_the_build_allows_are_refused():
    model = snn_model(2)
    with pytest.raises(GraphError, match=r"2 timesteps > buffers.max_timesteps=1.*raise"):
        compile_model(model, load_accel("snn-tiny"), snn_weights(model))


def test_weights_of_the_wrong_shape_are_refused():
    model = snn_model(1)
    w = snn_weights(model)
    w["hidden2.weight"] = w["hidden2.weight"][:, :100]
    with pytest.raises(WeightError, match=r"hidden2.weight has shape \(128, 100\).*needs \(128, 128\)"):
        compile_model(model, load_accel("snn-tiny"), w)


def test_a_negative_threshold_is_refused():
    model = snn_model(1)
    w = snn_weights(model)
    w["hidden3.threshold"] = np.array([-0.5])
    with pytest.raises(GraphError, match=r"hidden3: threshold -0.5 must be > 0"):
        compile_model(model, load_accel("snn-tiny"), w)


def test_an_image_of_the_wrong_size_is_refused():
    model = snn_model(1)
    compiled = compile_model(model, load_accel("snn-tiny"), snn_weights(model))
    with Accelerator(compiled) as acc, pytest.raises(ImageError, match=r"\(1, 7, 7\)"):
        acc.run(np.zeros((1, 7, 7), np.uint8), task="cls")
    with pytest.raises(ImageError, match=r"uint8 of shape \(1, 8, 8\)"):
        GraphReference(model, snn_weights(model)).forward(np.zeros((1, 7, 7), np.uint8))


def test_shipped_iir_t1_model_on_the_fixed_point_accelerator():
    """The shipped T = 1 model: >= 0.96 on the digits test split on the golden (bit-exact)
    accelerator, within 0.5 points of its float reference (the issue's bounds)."""
    from edgemoe.data import trained_weights
    from edgemoe.evaluation.classify import evaluate_digits
    from edgemoe.models import load_weights
    from edgemoe.params import load_model

    model = load_model("snn-digits")
    weights = load_weights(trained_weights("snn-digits"), model)
    r = evaluate_digits(model, load_accel("snn-tiny"), weights)
    assert r["images"] == 540 and r["overflows"] == 0
    assert r["accelerator_accuracy"] >= 0.96
    assert abs(r["float_accuracy"] - r["accelerator_accuracy"]) <= 0.005
    assert 0.0 < min(r["spike_rates"].values()) and max(r["spike_rates"].values()) < 1.0


@pytest.mark.parametrize("steps", [1, 2])
def test_synaptic_operations_count_one_add_per_spike(steps):
    from edgemoe.evaluation.spikes import ac_vs_mac

    rates = {"hidden1": 0.5, "hidden2": 0.25, "hidden3": 0.1}
    ops = ac_vs_mac(snn_model(steps), rates)
    assert ops["ann_macs"] == 64 * 128 + 2 * 128 * 128 + 128 * 10
    assert ops["snn_macs"] == 64 * 128  # the analog input layer multiplies
    assert ops["snn_acs"] == pytest.approx(steps * (0.5 * 128 * 128 + 0.25 * 128 * 128 + 0.1 * 1280))
    assert ops["energy_ratio"] == pytest.approx(
        42240 * 4.6 / (8192 * 4.6 + steps * 12416 * 0.9))
