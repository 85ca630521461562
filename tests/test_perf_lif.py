"""The cycle model of the LIF engine (edgemoe/perf/engines.py) against the RTL."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_snn_digits_model_within_5_percent_of_rtl_per_op_type():
    """snn-digits on snn-tiny, the RTL on the board's memory: LIF (current-input, spiking
    and readout layers) and the whole image within 5% of the model, byte-identical."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("snn-tiny", "snn-digits")
    assert cmp.identical
    rows = {r.op: r for r in cmp.rows}
    assert rows["LIF"].count == 4
    bad = [f"{r.op}: {r.modelled} modelled, {r.rtl} RTL ({r.error:+.1%})"
           for r in cmp.rows if abs(r.error) > 0.05]
    assert not bad, bad
    assert abs(cmp.modelled_total - cmp.rtl_total) <= 0.05 * cmp.rtl_total
