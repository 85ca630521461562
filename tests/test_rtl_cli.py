"""`edgemoe rtlsim` and `edgemoe synth` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemoe.cli import main
from edgemoe.params import load_accel
from edgemoe.rtl import synth as synth_mod


@pytest.mark.sim
@pytest.mark.slow
def test_rtlsim_m3vit_micro_task1_identical(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["rtlsim", "--accel", "tiny", "--model", "m3vit-micro", "--task", "depth",
                 "--json", str(out)])
    captured = capsys.readouterr()
    text = captured.out
    assert code == 0, text
    assert "identical" in text and "simulated cycles per second" in text
    assert "m3vit-micro on RTL" in captured.err and "cycle/s" in captured.err  # progress bar
    report = json.loads(out.read_text())
    (task,) = report["tasks"]
    assert task["task"] == "depth" and task["identical"] and task["error"] == 0
    # the modelled estimate that gates --max-cycles is within 50% of the measured cycles
    assert 0.5 < task["cycles"] / task["estimated_cycles"] < 1.5
    rows = task["instructions"]
    assert rows and all(r["cycles"] > 0 and 0 < r["efficiency"] <= 1.0 for r in rows)
    assert sum(r["cycles"] for r in rows) < task["cycles"]


def _fake(resources):
    def synth(accel, timeout_s=None, force=False, fast=False, build_root=None, top=None):
        return synth_mod.SynthResult(accel.name, accel.config_id, "xcup", resources,
                                     {"LUT6": resources["LUT"]}, 1.0, Path("yosys.log"))
    return synth


@pytest.mark.unit
@pytest.mark.parametrize("lut,code", [(10_000, 0), (10**7, 1)])
def test_synth_command_reports_fit(tmp_path, capsys, monkeypatch, lut, code):
    res = {"LUT": lut, "FF": 2 * lut, "DSP": 40, "BRAM36": 12, "URAM": 0}
    monkeypatch.setattr(synth_mod, "synth", _fake(res))
    out = tmp_path / "synth.json"
    assert main(["synth", "--accel", "tiny", "--json", str(out)]) == code
    text = capsys.readouterr().out
    assert "yosys" in text and "model estimate" in text
    data = json.loads(out.read_text())
    board = load_accel("tiny").board
    assert data["resources"]["LUT"] == lut
    assert data["fit"]["LUT"]["available"] == board.lut
    assert data["fits"] is (code == 0)
