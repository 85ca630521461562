"""The trained digits SNN through the C simulation: the same outputs and profiles as the
golden executor on real digits, through the host's Accelerator API on both backends."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.csim


def test_snn_digits_csim_equals_golden():
    pytest.importorskip("sklearn", reason="the digits need scikit-learn (train extra)")
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
