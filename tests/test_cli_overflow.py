"""`edgemoe run` reports values that wrapped or saturated; `--strict` fails the run."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.models import random_weights, save_weights
from edgemoe.params import load_model

pytestmark = pytest.mark.golden


def _loud_attention_weights(path):
    """m3vit-micro weights whose block-0 scores far exceed the activation range."""
    weights = random_weights(load_model("m3vit-micro"), 3)
    rng = np.random.default_rng(0)
    weights["blocks.0.norm1.weight"] = np.full_like(weights["blocks.0.norm1.weight"], 15.0)
    qkv = weights["blocks.0.attn.qkv.weight"]
    weights["blocks.0.attn.qkv.weight"] = rng.choice([-1.9, 1.9], size=qkv.shape)
    save_weights(weights, path)


@pytest.fixture(scope="module")
def loud(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "loud.npz"
    _loud_attention_weights(path)
    return path


def _run(weights, out, *extra):
    return main(["run", "--design", "tiny", "--model", "m3vit-micro", "--weights", str(weights),
                 "--task", "seg", "--out", str(out), *extra])


def test_run_warns_naming_the_instruction(loud, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    assert _run(loud, tmp_path / "a") == 0
    warned = [r.getMessage() for r in caplog.records if "wrapped or saturated" in r.getMessage()]
    assert any(m.startswith("blocks.0.attn: ") for m in warned), warned
    count = int(next(m for m in warned if m.startswith("blocks.0.attn")).split()[1])
    assert count > 0


def test_strict_turns_overflow_into_exit_status_2(loud, tmp_path, caplog):
    assert _run(loud, tmp_path / "b", "--strict") == 2
    assert any("--strict" in r.getMessage() for r in caplog.records)


def test_strict_passes_a_run_that_stays_in_range(tmp_path, caplog):
    weights = tmp_path / "quiet.npz"
    save_weights(random_weights(load_model("m3vit-micro"), 3), weights)
    assert _run(weights, tmp_path / "c", "--strict") == 0
    assert not [r for r in caplog.records if "wrapped or saturated" in r.getMessage()]
