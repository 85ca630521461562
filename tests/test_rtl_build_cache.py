"""The Verilator build cache keeps a bounded number of models per top module, but never
deletes one that this process built or reused: test runs hold one executor per design
and may build more designs than the cache keeps (they once lost their binaries midway)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from edgemoe.rtl import simulator

pytestmark = pytest.mark.unit


def _fake_build(root, name: str, age: int):
    d = root / f"edgemoe_top-{name}"
    d.mkdir()
    (d / ".built").write_text(name)
    os.utime(d / ".built", (1_000_000 + age, 1_000_000 + age))
    return d


def test_prune_keeps_the_newest_and_every_build_in_use(tmp_path, monkeypatch):
    monkeypatch.setattr(simulator, "_IN_USE", set())
    builds = [_fake_build(tmp_path, f"b{i}", age=i) for i in range(5)]  # b4 newest
    simulator._IN_USE.add(builds[0].resolve())  # the oldest, still held by an executor
    simulator._prune(tmp_path, "edgemoe_top", keep=2)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["edgemoe_top-b0", "edgemoe_top-b3", "edgemoe_top-b4"]


def test_a_built_model_keeps_only_its_executable(tmp_path):
    (tmp_path / "tiny.sv").write_text(
        "module tiny(input logic clk, output logic q); always_ff @(posedge clk) q <= ~q; endmodule\n")
    sim = simulator.build([tmp_path / "tiny.sv"], "tiny", build_root=tmp_path / "rtlsim")
    assert sorted(p.name for p in sim.build_dir.iterdir()) == [".built", "tiny"]
    again = simulator.build([tmp_path / "tiny.sv"], "tiny", build_root=tmp_path / "rtlsim")
    assert again.build_dir == sim.build_dir and again.seconds == 0.0  # reused, not rebuilt


def test_a_failed_build_names_the_first_error(tmp_path):
    (tmp_path / "broken.sv").write_text("module broken(input logic a); assign b = ; endmodule\n")
    with pytest.raises(simulator.SimulatorError) as err:
        simulator.build([tmp_path / "broken.sv"], "broken", build_root=tmp_path / "rtlsim")
    message = str(err.value)
    assert "Verilator build of broken failed" in message
    assert "%Error" in message and "broken.sv:1" in message
    assert "build.log" in message


def test_a_failed_build_on_a_full_disk_says_so(tmp_path, monkeypatch):
    log_file = tmp_path / "x.build.log"
    log_file.write_text("g++: fatal error: cannot write: No space left on device\n")
    monkeypatch.setattr(simulator.shutil, "disk_usage",
                        lambda _path: SimpleNamespace(total=2**30, used=2**30, free=5 * 2**20))
    why = simulator._why(log_file, tmp_path)
    assert "No space left on device" in why
    assert "only 5 MB free" in why and "free some space" in why
