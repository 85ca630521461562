"""VoVNet variants through the whole stack: eSE alone, the identity residual alone (as
VoVNetV2 builds them) and the windowed average pool, each in its own layer of one graph:
config, lowering, golden against float64, C-sim and RTL byte for byte with golden."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from edgemoe.compiler import compile_model
from edgemoe.golden import execute
from edgemoe.host import Accelerator
from edgemoe.isa import Flag, Op, PoolMode
from edgemoe.models.graph import GraphReference, graph_random_weights, graph_shapes
from edgemoe.params import config_dir, load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    """vovnet-tiny with eSE on the first OSA block only, the identity residual on the
    second only, and a 3x3/s2 average pool between them."""
    doc = yaml.safe_load((config_dir() / "models" / "vovnet-tiny.yaml").read_text())
    layers = {layer["name"]: layer for layer in doc["layers"]}
    layers["stage2.OSA2_1"].update(ese=True, identity=False)
    layers["stage3.Pooling"]["type"] = "avg_pool"
    layers["stage3.OSA3_1"].update(ese=False, identity=True)
    path = tmp_path_factory.mktemp("cfg") / "vovnet-variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    model, accel = load_model(str(path)), load_accel("tiny")
    weights = graph_random_weights(model, 5)
    return model, accel, weights, compile_model(model, accel, weights)


def _named(compiled, name: str) -> list:
    return [i for i, n in zip(compiled.instrs, compiled.manifest["program"]["names"])
            if n.startswith(name)]


def _pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (1, 8, 8)).astype(np.uint8)


def test_ese_lowers_to_gap_gate_and_channel_scale(variant):
    _, _, _, c = variant
    ese = _named(c, "stage2.OSA2_1.ese")
    kinds = [(Op(i.op), i.get("mode") if i.op == Op.POOL else None) for i in ese]
    assert kinds[0] == (Op.POOL, PoolMode.GLOBAL_AVG) and (Op.LINEAR, None) in kinds
    assert kinds[-1] == (Op.POOL, PoolMode.SCALE)
    assert not _named(c, "stage3.OSA3_1.ese") and not _named(c, "stage2.OSA2_1.identity")


def test_identity_lowers_to_one_add_into_the_block_output(variant):
    _, _, _, c = variant
    (add,) = _named(c, "stage3.OSA3_1.identity")
    concat = _named(c, "stage3.OSA3_1.concat")
    assert add.op == Op.ADD and not add.flags & Flag.COPY
    assert add.get("dst") == add.get("a") == concat[-1].get("dst")
    assert add.get("count") == 4 * 4 * 32


def test_avg_pool_lowers_to_windowed_pool_avg(variant):
    model, _, _, c = variant
    (pool,) = _named(c, "stage3.Pooling")
    assert pool.op == Op.POOL and pool.get("mode") == PoolMode.AVG
    assert graph_shapes(model)["stage3.Pooling"] == (32, 4, 4)  # ceil mode, as max_pool


def test_each_variant_layer_matches_float(variant):
    """Every layer map (taps) against the float64 reference on random weights: 16-bit
    weights (LSB 2**-14) and 22-bit activations keep each within 5e-3 of maps ~1."""
    from edgemoe.compiler.taps import select_taps

    model, accel, weights, _ = variant
    c = compile_model(model, accel, weights, taps=select_taps(["all"], model))
    ref = GraphReference(model, weights)
    with Accelerator(c, "golden", accel=accel) as acc:
        for seed in range(2):
            px = _pixels(seed)
            taps = acc.run(px, task="cls")[0].taps["cls"]
            maps = ref.forward(px, keep=True)
            for name in ("stage2.OSA2_1", "stage3.Pooling", "stage3.OSA3_1", "classifier"):
                want = maps[name].reshape(maps[name].shape[0], -1).T
                assert np.abs(taps[name] - want).max() < 5e-3, (seed, name)


@pytest.mark.csim
def test_csim_equals_golden(variant):
    from edgemoe.compare import assert_images_equal
    from edgemoe.flow.csim import CsimExecutor

    _, accel, _, c = variant
    gold, sim = _image(c, 3), _image(c, 3)
    args = (c.program_offset, c.n_instructions, 0, c.status_offset)
    assert execute(gold, accel, *args) == 0
    assert CsimExecutor(accel).execute(sim, *args) == 0
    assert_images_equal(gold, sim, c.manifest, "golden vs C-sim")


@pytest.mark.sim
@pytest.mark.slow
def test_rtl_equals_golden(variant):
    from rtldesigns import executor

    from edgemoe.compare import assert_images_equal
    from edgemoe.rtl import RtlJob

    _, accel, _, c = variant
    gold, rtl = _image(c, 4), _image(c, 4)
    assert execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    res = executor("tiny").run_jobs([RtlJob(rtl, c.program_offset, c.n_instructions, 0,
                                            c.status_offset, max_cycles=3_000_000)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(rtl, gold, c.manifest, "rtl vs golden")


def _image(c, seed: int) -> np.ndarray:
    from edgemoe.compiler.io import write_pixels

    image = c.fresh_image()
    write_pixels(image, c.manifest, _pixels(seed))
    return image
