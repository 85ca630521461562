"""`edgemoe throughput` and measure_throughput: figures, labels and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.host import Accelerator
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.host.outdir import is_temp
from edgemoe.host.throughput import measure_throughput
from edgemoe.models import load_default_image
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    compiled = compile_model(model, accel)
    package = make_fake_package(compiled, accel, tmp_path_factory.mktemp("tp"))
    return model, accel, compiled, package


def test_fake_board_report_matches_the_golden_profile(setup):
    model, accel, compiled, package = setup
    image = load_default_image(model)
    with Accelerator(compiled) as gold:
        ref = gold.run(image, task="all")[0].profiles
    cycles = np.mean([p.totals()["cycles"] for p in ref.values()])
    moved = np.mean([p.totals()["bytes"] for p in ref.values()])
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device, timeout_s=30) as acc:
        opened = device.runs  # the config_id probe run
        rep = measure_throughput(acc, [image] * 3, task="all")
    n_tasks = len(model.tasks)
    assert (rep.backend, rep.batch, rep.runs) == ("pynq", 3, 3 * n_tasks)
    assert device.runs - opened == 4 * n_tasks  # warm-up image + the batch
    assert rep.images_per_s == pytest.approx(3 / rep.wall_s)
    assert rep.host_ms_per_run == pytest.approx(
        rep.pack_ms_per_run + rep.sync_ms_per_run + rep.decode_ms_per_run)
    assert rep.host_overhead_pct == pytest.approx(100 * rep.host_ms_per_run /
                                                  rep.compute_ms_per_run)
    # the fake device runs the golden executor: same cycle model, labelled as modelled
    assert rep.cycles_source == "modelled"
    assert rep.device_cycles_per_run == pytest.approx(cycles) and cycles > 0
    assert rep.device_ms_per_run == pytest.approx(cycles / accel.clock_mhz / 1e3)
    assert rep.dram_mb_per_s == pytest.approx(moved / (rep.device_ms_per_run / 1e3) / 1e6)
    assert "modelled" in "\n".join(rep.lines()) and "measured" not in "\n".join(rep.lines())
    assert device.live_buffers == []


def test_cli_reports_and_writes_json(setup, tmp_path, capsys):
    *_, package = setup
    out = tmp_path / "tp.json"
    assert main(["throughput", "--package", str(package), "--backend", "golden", "--batch",
                 "2", "--task", "seg", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "images/s" in text and "host overhead per run" in text
    data = json.loads(out.read_text())
    assert data["batch"] == 2 and data["runs"] == 2 and data["task"] == "seg"
    assert data["images_per_s"] > 0 and data["cycles_source"] == "modelled"
    assert not list(tmp_path.glob("*.tmp"))
    assert not [p for p in tmp_path.iterdir() if is_temp(p)]


def test_cli_errors_are_one_line(setup, capsys):
    *_, package = setup
    assert main(["throughput", "--package", str(package), "--backend", "golden",
                 "--batch", "0"]) == 2
    err = capsys.readouterr().err
    assert "--batch 0" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["throughput", "--package", str(package)]) == 2  # pynq off-board
    err = capsys.readouterr().err
    assert "no FPGA device" in err and "--backend golden" in err
