"""The board notebook, executed by a Jupyter kernel (nbclient) against the fake device.

The notebook runs unchanged in a folder laid out as `edgemoe deploy` lays out a board
(``bitstreams/<name>/`` beside it); one cell inserted after the settings cell swaps the
FPGA for the fake device and shrinks the batch, as a user would edit the settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from edgemoe.compiler import compile_model
from edgemoe.host import Accelerator
from edgemoe.host.fake_device import make_fake_package
from edgemoe.models import load_default_image
from edgemoe.params import load_accel, load_model

pytestmark = [pytest.mark.golden, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "edgemoe_board.ipynb"

FAKE_BOARD = """\
# test only: the fake PYNQ device instead of the FPGA
from edgemoe.host.fake_device import FakeDevice
from edgemoe.params import load_accel

DEVICE = FakeDevice(load_accel("tiny"))
OPTIONS = {"device": DEVICE, "timeout_s": 60.0}
BATCH = 3"""

CHECKS = """\
import hashlib, json
print("CHECKS " + json.dumps({
    "backend": acc.backend.name, "live_buffers": DEVICE.live_buffers, "runs": t.runs,
    "depth_sha256": hashlib.sha256(result["depth"].tobytes()).hexdigest(),
    "seg_shape": list(result.predictions["seg"].shape), "ips": report.images_per_s}))"""


def test_notebook_executes_on_the_fake_board(tmp_path):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    compiled = compile_model(model, accel)
    make_fake_package(compiled, accel, tmp_path)  # tmp_path/bitstreams/fake
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert "OPTIONS" in nb.cells[first].source and "BATCH" in nb.cells[first].source
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(FAKE_BOARD))
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "images/s" in text and "config_id " + accel.config_id in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # panels + 2 profiles
    checks = json.loads(text.split("CHECKS ", 1)[1].splitlines()[0])
    assert checks["backend"] == "pynq" and checks["live_buffers"] == [] and checks["runs"] == 3
    assert checks["seg_shape"] == [model.image_height, model.image_width] and checks["ips"] > 0
    with Accelerator(compiled) as gold:
        depth = gold.run(load_default_image(model), task="depth")[0]["depth"]
    assert checks["depth_sha256"] == hashlib.sha256(depth.tobytes()).hexdigest()
