"""The trained digits SNN through the host's Accelerator API on the C simulation and the
(fake) PYNQ board: the same outputs and profiles as the golden executor on real digits."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.csim
def test_snn_digits_csim_equals_golden():
    from edgemoe.compiler import compile_model
    from edgemoe.data import trained_weights
    from edgemoe.data.digits import load_digits_split
    from edgemoe.host import Accelerator
    from edgemoe.models import load_weights
    from edgemoe.params import load_accel, load_model

    model, accel = load_model("snn-digits"), load_accel("snn-tiny")
    compiled = compile_model(model, accel, load_weights(trained_weights("snn-digits"), model))
    pixels = list(load_digits_split()[2][:20])
    with Accelerator(compiled, backend="golden") as gold, \
            Accelerator(compiled, backend="csim") as sim:
        want, got = gold.run(pixels, task="cls"), sim.run(pixels, task="cls")
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g["cls"], w["cls"])
        cols = ("macs", "bytes_read", "bytes_written", "weight_bytes", "overflows")
        assert [[getattr(e, c) for c in cols] for e in g.profiles["cls"].entries] == \
            [[getattr(e, c) for c in cols] for e in w.profiles["cls"].entries]
    assert len({int(np.argmax(w["cls"])) for w in want}) > 3  # real, varied predictions


@pytest.mark.golden
def test_snn_digits_on_the_fake_pynq_board(tmp_path):
    """The pynq backend (a fake device whose start runs golden) through a deploy package."""
    from edgemoe.compiler import compile_model
    from edgemoe.data import trained_weights
    from edgemoe.data.digits import load_digits_split
    from edgemoe.host import Accelerator
    from edgemoe.host.fake_device import FakeDevice, make_fake_package
    from edgemoe.models import load_weights
    from edgemoe.params import load_accel, load_model

    model, accel = load_model("snn-digits"), load_accel("snn-tiny")
    compiled = compile_model(model, accel, load_weights(trained_weights("snn-digits"), model))
    package = make_fake_package(compiled, accel, tmp_path)
    _, _, pixels, labels = load_digits_split()
    with Accelerator(compiled) as gold, \
            Accelerator(package, backend="pynq", device=FakeDevice(accel), timeout_s=5) as board:
        want, got = gold.run(list(pixels[:10]), task="cls"), board.run(list(pixels[:10]), task="cls")
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g["cls"], w["cls"])
    assert np.mean([int(np.argmax(g["cls"])) == y for g, y in zip(got, labels[:10])]) >= 0.9
