"""`edgemoe run` on the layer-graph models (vovnet-tiny, snn-digits): bad input ends in one
line and exit 2; on rtlsim the outputs and every layer's tap equal golden's byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.data import trained_weights
from edgemoe.models import load_weights, save_weights
from edgemoe.params import load_model

pytestmark = pytest.mark.golden

#: (model, shipped weights)
MODELS = (("vovnet-tiny", "vovnet-tiny"), ("snn-digits", "snn-digits"))


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_layer_that_does_not_fit_the_design_point_exits_2(tmp_path, capsys):
    """snn-digits' 128-neuron layers on tiny (96 outputs, no LIF engine)."""
    assert main(["run", "--model", "snn-digits", "--accel", "tiny", "--weights",
                 str(trained_weights("snn-digits")), "--out", str(tmp_path / "o")]) == 2
    line = _error(capsys)
    assert "layer hidden1: 128 neurons > buffers.max_out_features" in line
    assert "ops lacks lif" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("names", MODELS, ids=[m[0] for m in MODELS])
def test_weights_of_the_wrong_shape_exit_2(names, tmp_path, capsys):
    model_name, shipped = names
    model = load_model(model_name)
    weights = load_weights(trained_weights(shipped), model)
    name = next(k for k, v in weights.items() if v.ndim >= 2)
    weights[name] = weights[name][:, :-1]  # one input channel short
    save_weights(weights, tmp_path / "w.npz")
    assert main(["run", "--model", model_name, "--weights", str(tmp_path / "w.npz"),
                 "--out", str(tmp_path / "o")]) == 2
    line = _error(capsys)
    assert f"weight {name} has shape" in line and f"model {model_name} needs" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("names", [
    pytest.param(m, id=m[0], marks=pytest.mark.long if m[0] == "snn-digits" else ())
    for m in MODELS])  # the SNN's RTL equality stays in make test via test_rtl_lif's whole SNN
def test_run_on_rtlsim_equals_golden_with_every_tap(names, tmp_path):
    """`edgemoe run --backend rtlsim --dump all`: output and every layer map as golden."""
    model_name, shipped = names
    saved = {}
    for backend in ("golden", "rtlsim"):
        out = tmp_path / backend
        assert main(["run", "--model", model_name, "--weights", str(trained_weights(shipped)),
                     "--backend", backend, "--dump", "all", "--out", str(out)]) == 0
        for kind in ("default", "default_taps"):
            with np.load(out / f"{kind}.npz") as f:
                saved[backend, kind] = {k: f[k] for k in f.files}
    for kind in ("default", "default_taps"):
        gold, rtl = saved["golden", kind], saved["rtlsim", kind]
        assert gold.keys() == rtl.keys() and gold
        for key, value in gold.items():
            assert np.array_equal(value, rtl[key]), (kind, key)


@pytest.mark.parametrize("names", MODELS, ids=[m[0] for m in MODELS])
def test_the_pynq_backend_runs_the_graph_models(names, tmp_path):
    """The host drives both graph models through the same Accelerator API on the pynq
    backend (a fake device whose start runs golden, from a deploy package)."""
    from edgemoe.commands.run import default_accel
    from edgemoe.compiler import compile_model
    from edgemoe.data.digits import load_digits_split
    from edgemoe.host import Accelerator
    from edgemoe.host.fake_device import FakeDevice, make_fake_package

    model_name, shipped = names
    model = load_model(model_name)
    accel = default_accel(model)
    compiled = compile_model(model, accel, load_weights(trained_weights(shipped), model))
    package = make_fake_package(compiled, accel, tmp_path)
    pixels = list(load_digits_split()[2][:4])
    with Accelerator(compiled) as gold, \
            Accelerator(package, backend="pynq", device=FakeDevice(accel), timeout_s=5) as board:
        want, got = gold.run(pixels, task="cls"), board.run(pixels, task="cls")
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g["cls"], w["cls"])
