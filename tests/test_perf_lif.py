"""The cycle model of the LIF engine (edgemoe/perf/engines.py) against the RTL."""

from __future__ import annotations

import pytest
from spanutil import assert_span_within

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_snn_digits_model_within_5_percent_of_rtl_per_op_type():
    """snn-digits on snn-tiny, the RTL on the board's memory: LIF (current-input, spiking
    and readout layers) and the whole image within 5% of the model, byte-identical."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("snn-tiny", "snn-digits")
    rows = assert_span_within(cmp, {"LIF"})
    assert rows["LIF"].count == 4
