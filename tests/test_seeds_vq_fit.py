"""`edgemoe vq-fit` on the trained m3vit-demo: the codebook file and what it optimises."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.data import trained_weights
from edgemoe.models import load_weights
from edgemoe.params import load_model
from edgemoe.seeds.a2ats import Codebook, fit_codebook
from edgemoe.seeds.calibration import attention_qk
from edgemoe.seeds.codebook_file import read_codebooks, write_codebooks

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def demo():
    model = load_model("m3vit-demo")
    return model, load_weights(trained_weights("m3vit-demo"), model)


def _score_mse(book: Codebook, queries: np.ndarray, keys: np.ndarray) -> float:
    approx = book.centres[book.encode(keys)]
    return float(np.mean(np.einsum("nd,md->nm", queries, keys - approx) ** 2))


def test_vq_fit_writes_codebooks_that_beat_plain_kmeans_on_score_error(demo, tmp_path):
    model, weights = demo
    out = tmp_path / "cb.npz"
    assert main(["vq-fit", "--codebook", "16", "--calib", "1", "--out", str(out)]) == 0
    centres, transform, meta = read_codebooks(out)
    hd = model.dim // model.heads
    assert centres.shape == (model.depth, model.heads, 16, hd)
    assert transform.shape == (model.depth, model.heads, hd, hd)
    assert meta["codebook"] == 16 and meta["calib_scenes"] == 1 and meta["model"] == "m3vit-demo"
    assert np.allclose(np.triu(transform, 1), 0.0)
    queries, keys = attention_qk(model, weights, 1)
    aware = plain = 0.0
    for i in range(model.depth):
        for h in range(model.heads):
            book = Codebook(centres[i, h].astype(np.float64), transform[i, h].astype(np.float64))
            aware += _score_mse(book, queries[i, h], keys[i, h])
            base = fit_codebook(keys[i, h], 16, np.random.default_rng(0))
            plain += _score_mse(base, queries[i, h], keys[i, h])
    assert aware < plain


def test_vq_fit_rejects_a_codebook_larger_than_the_calibration(tmp_path, capsys):
    assert main(["vq-fit", "--codebook", "999", "--calib", "1",
                 "--out", str(tmp_path / "cb.npz")]) == 2
    err = capsys.readouterr().err
    assert "258 keys per head" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_codebook_file_refuses_other_formats(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, centres=np.zeros((1, 1, 2, 2)), transform=np.zeros((1, 1, 2, 2)),
             meta=np.array(json.dumps({"format": "other", "version": 1})))
    with pytest.raises(ValueError, match="rerun `edgemoe vq-fit`"):
        read_codebooks(bad)
    with pytest.raises(ValueError, match="does not match centres"):
        write_codebooks(tmp_path / "x.npz", np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), {})
