"""`edgemoe run --dump` and `edgemoe compare` on the rtlsim backend.

Taps are copies compiled into the program, so the RTL writes them like any other output;
they must equal golden's byte for byte.  Backbone only (``--heads none``) and one task keep
the simulation short (the heads' convolutions are most of m3vit-micro's cycles).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.models import random_weights, save_weights
from edgemoe.params import load_model

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "w.npz"
    save_weights(random_weights(load_model("m3vit-micro"), 4), path)
    return path


def _common(weights):
    return ["--weights", str(weights), "--heads", "none", "--task", "seg"]


def test_run_dump_on_rtlsim_equals_golden(weights, tmp_path):
    saved = {}
    for backend in ("golden", "rtlsim"):
        out = tmp_path / backend
        assert main(["run", "--design", "tiny", "--backend", backend, *_common(weights),
                     "--out", str(out), "--dump", "all"]) == 0
        with np.load(out / "default_taps.npz") as taps:
            saved[backend] = {k: taps[k] for k in taps.files}
    assert "seg.blocks.1.queues" in saved["rtlsim"]
    assert saved["golden"].keys() == saved["rtlsim"].keys()
    for name, value in saved["golden"].items():
        assert np.array_equal(value, saved["rtlsim"][name]), name


def test_compare_on_rtlsim_reports_what_golden_does(weights, capsys):
    reports = {}
    for backend in ("golden", "rtlsim"):
        capsys.readouterr()
        assert main(["compare", "--backend", backend, *_common(weights)]) == 0
        reports[backend] = capsys.readouterr().out
    assert "on rtlsim (tiny)" in reports["rtlsim"]
    assert "blocks.1 routing agreement" in reports["rtlsim"]
    # identical bytes: the per-tap table (every line after the title) is identical
    assert reports["golden"].splitlines()[1:] == reports["rtlsim"].splitlines()[1:]
    rows = [line for line in reports["rtlsim"].splitlines() if line.startswith("seg ")]
    assert len(rows) > 10
