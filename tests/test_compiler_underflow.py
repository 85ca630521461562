"""Compile-time report of weights that underflow (quantize to zeros or lose >1% energy)."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.quantize import QuantReport, check_strict, quantize
from edgemoe.models import WeightError, random_weights
from edgemoe.params import load_accel, load_model
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit

W16 = FixedType(16, 2)  # LSB 2**-14 ~ 6.1e-5


def _report(x: np.ndarray) -> QuantReport:
    report = QuantReport()
    quantize("t", x, W16, report)
    return report


def test_tensor_that_quantizes_to_zeros_is_reported():
    report = _report(np.full((4, 3), 1e-6))
    assert "all 12 values quantize to zero" in report.underflowed["t"]


def test_dead_output_channel_is_reported():
    x = np.random.default_rng(0).normal(0, 0.1, (5, 8))
    x[3] = 2e-5  # below half an LSB: the whole row rounds to zero
    assert "1 of 5 output channels quantize to zero" in _report(x).underflowed["t"]
    assert "(first: 3)" in _report(x).underflowed["t"]


def test_energy_loss_above_one_percent_is_reported():
    # values of ~1.5 LSB: rounding error energy ~ (0.29 LSB)^2 / (1.5 LSB)^2 ~ 4%
    x = np.random.default_rng(1).uniform(1.0, 2.0, 1000) * W16.lsb
    assert "% of its energy" in _report(x).underflowed["t"]


def test_well_scaled_and_zero_tensors_are_not_reported():
    assert _report(np.random.default_rng(2).normal(0, 0.02, (16, 16))).underflowed == {}
    assert _report(np.zeros(8)).underflowed == {}


def test_underflow_is_in_the_compile_report_and_fails_strict():
    model = load_model("m3vit-micro")
    weights = random_weights(model, 5)
    weights["blocks.1.attn.proj.weight"] = weights["blocks.1.attn.proj.weight"] * 1e-4
    compiled = compile_model(model, load_accel("tiny"), weights)
    assert "blocks.1.attn.proj.weight" in compiled.report.underflowed
    assert "blocks.1.attn.proj.weight" in compiled.report.summary()
    with pytest.raises(WeightError, match="blocks.1.attn.proj.weight"):
        check_strict(compiled.report, "tiny")
