"""The Verilator build cache keeps a bounded number of models per top module, but never
deletes one that this process built or reused: test runs hold one executor per design
and may build more designs than the cache keeps (they once lost their binaries midway)."""

from __future__ import annotations

import os

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
