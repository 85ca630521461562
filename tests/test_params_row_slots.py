"""``linear_row_slots``: the linear engine's row slots as a design-point key.

Absent, the engine keeps two row slots, so every design point without the key keeps its
render and config_id; set, it must be 2 or 4 and it reaches the SV package and the HLS
params (LINEAR_ROW_SLOTS), the cycle model's token pace (a slot's round trip over the
slots) and the fit check's input-row block RAMs.
"""

from __future__ import annotations

import pytest

from edgemoe.codegen.constants import design_constants
from edgemoe.host.package import accel_mapping
from edgemoe.params import ConfigError, list_accels, load_accel
from edgemoe.params.accel import accel_from_mapping
from edgemoe.params.accel_rules import DEFAULT_ROW_SLOTS, ROW_SLOT_CHOICES
from edgemoe.params.fit import bram36_blocks, estimate
from edgemoe.perf.engines import STEP_CYCLES, lin_job_cycles
from edgemoe.perf.memory import memory_timing
from edgemoe.perf.traffic import Traffic

pytestmark = pytest.mark.unit

W8A8 = "edge-moe-zcu102-w8a8"


def test_absent_key_is_two_slots_and_keeps_the_config_id():
    assert DEFAULT_ROW_SLOTS == 2 and ROW_SLOT_CHOICES == (2, 4)
    for name in list_accels():
        accel = load_accel(name)
        if accel.linear_row_slots == DEFAULT_ROW_SLOTS:  # (a design point may set its own)
            same = load_accel(name, ["linear_row_slots=2"])
            assert same.config_id == accel.config_id and same == accel, name
            assert "linear_row_slots" not in accel.to_dict(), name
    tiny = load_accel("tiny")
    other = load_accel("tiny", ["linear_row_slots=4"])
    assert other.config_id != tiny.config_id and other.to_dict()["linear_row_slots"] == 4


def test_the_key_reaches_the_package_constant_and_a_package_round_trip():
    for slots in ROW_SLOT_CHOICES:
        accel = load_accel("tiny", [f"linear_row_slots={slots}"])
        assert dict(design_constants(accel))["LINEAR_ROW_SLOTS"] == slots
        again = accel_from_mapping(accel_mapping(accel), accel.name, "<package>")
        assert again == accel and again.config_id == accel.config_id


@pytest.mark.parametrize("value", ["3", "1", "8", "0", "-2"])
def test_a_bad_slot_count_is_one_line_naming_key_value_and_fix(value):
    with pytest.raises(ConfigError) as err:
        load_accel(W8A8, [f"linear_row_slots={value}"])
    text = str(err.value)
    assert "\n" not in text
    assert f"linear_row_slots = {value} is not a row-slot count the linear engine builds" in text
    assert "allowed: one of 2, 4 (absent: 2)" in text


def test_a_non_integer_slot_count_is_refused():
    for value in ("true", "4.0", "'4'"):
        with pytest.raises(ConfigError, match="linear_row_slots"):
            load_accel(W8A8, [f"linear_row_slots={value}"])


def test_the_fit_check_counts_an_input_row_a_slot():
    def input_row(slots):
        accel = load_accel(W8A8, [f"linear_row_slots={slots}"])
        return accel, estimate(accel).by_component("BRAM36")["input_row"]

    (two, b2), (four, b4) = input_row(2), input_row(4)
    row = bram36_blocks(two.max_in_features // two.linear_p_in,
                        two.linear_p_in * two.act_container_bits)
    assert (b2, b4) == (2 * row, 4 * row)
    assert four.bram36_estimate - two.bram36_estimate == 2 * row
    assert estimate(four).dsp == estimate(two).dsp and estimate(four).lut == estimate(two).lut


def test_the_model_spreads_a_slot_round_trip_over_the_slots():
    """A LINEAR of short rows on the W8A8 point's memory (64 cycles of read latency): with
    2 slots each token after the first waits half a slot's round trip (MACs, latency,
    row read, the slot hand-over), with 4 a quarter, unless the loader's or the writer's
    pace binds."""
    def cycles(slots):
        accel = load_accel(W8A8, [f"linear_row_slots={slots}"])
        mem = memory_timing(accel)
        t, n, k = 64, 32, 64
        rows = [[((1 << 20) + r * k * 4, k * 4)] for r in range(t)]
        return mem, lin_job_cycles(accel, mem, Traffic(), tokens=t, n=n, k=k, rows=rows,
                                   dst_rows=list(range(t)), dst=1 << 24, weights=0,
                                   bias=1 << 16, wbytes=2, bbytes=2, xbytes=4)

    (mem, c2), (_, c4) = cycles(2), cycles(4)
    # 63 tokens after the first: half a round trip is more than 32 cycles (the latency
    # alone), a quarter of it less than 3/4 of that
    assert (c2 - c4) / 63 > (mem.latency + STEP_CYCLES["lin_slot"]) / 4, (c2, c4)
