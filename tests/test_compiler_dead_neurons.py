"""Dead-neuron removal: a compressed M3ViT compiles to narrower MLPs with identical outputs."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.dead_neurons import live_neurons, remove_dead_neurons
from edgemoe.compiler.io import read_tensor, write_pixels
from edgemoe.golden import execute, status_words
from edgemoe.isa import Op
from edgemoe.models import M3ViTReference, load_default_image, random_weights
from edgemoe.params import load_accel, load_model
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def micro():
    return load_model("m3vit-micro"), load_accel("tiny")


@pytest.fixture(scope="module")
def compressed(micro):
    """m3vit-micro with 90 % of its 4x4 MLP/expert tiles zeroed and dead neurons folded."""
    from edgemoe.seeds.compress_model import compress_weights

    model, _ = micro
    weights = random_weights(model, seed=3)
    pruned, _, dead = compress_weights(weights, (4, 4), 0.9, rounds=2)
    assert dead > 0  # at 90 % tile-skip some fc1 row bands lose every tile
    return weights, pruned


def test_live_neurons_follow_the_quantized_weights(micro):
    fmts = micro[1].formats
    lsb = 2.0 ** -fmts.linear_weight.frac_bits
    w1 = np.array([[0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.25, 0.0], [lsb / 4, 0.0]])
    b1 = np.array([0.0, 0.125, 0.0, 0.0, 0.0])
    w2 = np.array([[1.0, 1.0, 1.0, 0.0, 1.0]])
    # 0: live; 1: zero row but GELU(bias) != 0; 2: row and bias zero; 3: fc2 column zero;
    # 4: its only weight underflows to zero in the device's format
    assert live_neurons(w1, b1, w2, fmts).tolist() == [True, True, False, False, False]


def _outputs(c, accel, pixels) -> dict[str, bytes]:
    """Every task's raw output values (as bytes) after a golden run."""
    out = {}
    for k, task in enumerate(c.manifest["outputs"]):
        image = c.fresh_image()
        write_pixels(image, c.manifest, pixels)
        err = execute(image, accel, c.program_offset, c.n_instructions, k, c.status_offset)
        assert err == 0, status_words(image, c.status_offset)
        spec = c.manifest["outputs"][task]
        fmt = FixedType.parse(spec["format"])
        out[task] = read_tensor(image, spec["offset"], spec["shape"], fmt).tobytes()
    return out


def _widths(c) -> dict[str, int]:
    return {i.comment: (i.get("out_features") if i.op == Op.LINEAR else i.get("hidden"))
            for i in c.instrs if i.comment.endswith((".mlp.fc1", ".experts"))}


def test_compressed_model_compiles_narrower_with_identical_output_bytes(micro, compressed):
    model, accel = micro
    _, pruned = compressed
    narrow = compile_model(model, accel, pruned)
    full = compile_model(model, accel, pruned, remove_dead=False)
    assert _widths(full) == {"blocks.0.mlp.fc1": 64, "blocks.1.experts": 48}
    got = _widths(narrow)
    packed, removed = remove_dead_neurons(model, accel.formats, pruned)
    assert got == {"blocks.0.mlp.fc1": 64 - removed.get("blocks.0", 0),
                   "blocks.1.experts": 48 - removed.get("blocks.1", 0)}
    assert sum(removed.values()) > 0 and narrow.image.size < full.image.size
    assert packed["blocks.0.mlp.fc2.weight"].shape[1] == got["blocks.0.mlp.fc1"]
    assert narrow.report.summary() == full.report.summary()  # reported on the full tensors
    # effective weights keep the canonical shapes (the float reference runs on them)
    for name, w in full.effective_weights.items():
        assert np.array_equal(narrow.effective_weights[name], w), name
    pixels = load_default_image(model)
    assert _outputs(narrow, accel, pixels) == _outputs(full, accel, pixels)


def test_uncompressed_weights_compile_unchanged(micro):
    model, accel = micro
    weights = random_weights(model, seed=3)
    assert remove_dead_neurons(model, accel.formats, weights)[1] == {}
    a = compile_model(model, accel, weights)
    b = compile_model(model, accel, weights, remove_dead=False)
    assert np.array_equal(a.image, b.image)


def test_folding_dead_neurons_keeps_the_float_model(micro, compressed):
    """fold_dead_neurons moves GELU(b1) W2[:, j] into fc2's bias: same float function."""
    from edgemoe.seeds.compress_model import fold_dead_neurons

    model, _ = micro
    _, pruned = compressed
    # undo the fold's bias move on one neuron: give it back a bias and its fc2 column
    w = {k: np.asarray(v, np.float64) for k, v in pruned.items()}
    dead = np.flatnonzero(~w["blocks.0.mlp.fc1.weight"].any(axis=1))
    assert dead.size and not w["blocks.0.mlp.fc1.bias"][dead].any()
    rng = np.random.default_rng(0)
    w["blocks.0.mlp.fc1.bias"][dead] = rng.normal(0, 0.5, dead.size)
    w["blocks.0.mlp.fc2.weight"][:, dead] = rng.normal(0, 0.1, (model.dim, dead.size))
    refolded, count = fold_dead_neurons(w)
    assert count >= dead.size
    assert not refolded["blocks.0.mlp.fc2.weight"][:, dead].any()
    pixels = load_default_image(model)
    for task in range(len(model.tasks)):
        want = M3ViTReference(model, w).forward(pixels, task)["tokens"]
        got = M3ViTReference(model, refolded).forward(pixels, task)["tokens"]
        assert np.allclose(got, want, rtol=0, atol=1e-9)  # float64 rounding only

