"""Yosys (yowasp) resource estimates: the flow, the cell mapping and the fit report.

The full RTL top takes many minutes in Yosys, so the tests synthesize a small probe with a
known answer; `edgemoe synth --accel NAME` runs the full design (cached)."""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.rtl.simulator import SIM_DIR
from edgemoe.rtl.synth import FAMILIES, cell_resources, run_yosys

pytestmark = pytest.mark.synth


@pytest.mark.parametrize("fast", [False, True], ids=["abc9", "fast"])
def test_probe_maps_to_dsp_and_bram(tmp_path, fast):
    # 4 x (16x16 MAC) and a 1024x64 synchronous RAM -> 4 DSP48E2 + 2 RAMB36E2 (ecosystem.md)
    cells, _ = run_yosys([SIM_DIR / "hdl" / "synth_probe.sv"], "synth_probe", "xcup", tmp_path,
                         fast=fast)
    res = cell_resources(cells)
    assert res["DSP"] == 4 and cells.get("DSP48E2") == 4
    assert res["BRAM36"] == 2
    assert res["FF"] >= 4 * 40, "the four 40-bit accumulators are registers"
    assert res["LUT"] > 0
    assert (tmp_path / "stat.txt").is_file()


@pytest.mark.unit
def test_cell_mapping_counts_lutram_and_half_brams():
    res = cell_resources({"LUT6": 10, "LUT3": 2, "RAM64M": 3, "SRLC32E": 1, "FDRE": 7,
                          "FDSE": 1, "DSP48E2": 2, "RAMB18E2": 3, "RAMB36E2": 1,
                          "CARRY8": 5, "URAM288": 1})
    assert res == {"LUT": 10 + 2 + 12 + 1, "FF": 8, "DSP": 2, "BRAM36": 3, "URAM": 1}


@pytest.mark.unit
def test_every_board_family_has_a_yosys_family():
    from edgemoe.params.board import load_boards

    assert {b.family for b in load_boards().values()} <= set(FAMILIES)


@pytest.mark.unit
def test_measured_counts_replace_the_estimate():
    accel = load_accel("tiny")
    report = accel.fit_report(measured={"lut": 12345, "dsp": 7})
    assert report["LUT"].used == 12345 and report["LUT"].measured
    assert report["DSP"].used == 7
    assert not report["BRAM36"].measured
