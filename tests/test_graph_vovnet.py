"""Layer-graph models: config checks, the VoVNet float reference, lowering, golden vs float."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.graph import GraphError
from edgemoe.host import Accelerator
from edgemoe.isa import Op
from edgemoe.models import WeightError
from edgemoe.models.graph import GraphReference, graph_random_weights, graph_shapes
from edgemoe.models.vovnet_import import canonical_from_official
from edgemoe.params import ConfigError, load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def tiny_model():
    return load_model("vovnet-tiny")


def _pixels(seed: int, shape=(1, 8, 8)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def test_vovnet_tiny_shapes(tiny_model):
    shapes = graph_shapes(tiny_model)
    assert shapes["stage2.OSA2_1"] == (32, 8, 8)
    assert shapes["stage3.Pooling"] == (32, 4, 4)  # 3x3/s2 ceil mode: ceil(5/2) + 1
    assert shapes["classifier"] == (10, 1, 1)


@pytest.mark.parametrize("edit,match", [
    ({"type": "deconv"}, r"layers\[1\]\.type.*not a known layer type"),
    ({"inputs": ["classifier"]}, r"layers\[1\]\.inputs.*not an earlier layer"),
    ({"stage_ch": "wide"}, r"layers\[1\]\.stage_ch"),
    ({"colour": 3}, r"colour"),
])
def test_bad_layer_configs_name_the_key(tmp_path, edit, match):
    import yaml

    from edgemoe.params import config_dir

    doc = yaml.safe_load((config_dir() / "models" / "vovnet-tiny.yaml").read_text())
    doc["layers"][1].update(edit)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=match):
        load_model(str(path))


def test_osa_float_reference_is_concat_then_1x1(tiny_model):
    """The OSA forward against a direct concatenation written out here."""
    w = graph_random_weights(tiny_model, 3)
    maps = GraphReference(tiny_model, w).forward(_pixels(1), keep=True)
    x = maps["stem.stem_1"]
    n = "stage2.OSA2_1"

    def cbr(v, prefix, k):
        from edgemoe.models.layers import conv2d

        y = conv2d(v, w[f"{prefix}.weight"], None, 1, k // 2)
        s = w[f"{prefix}.bn.weight"] / np.sqrt(w[f"{prefix}.bn.running_var"] + 1e-5)
        y = (y - w[f"{prefix}.bn.running_mean"][:, None, None]) * s[:, None, None]
        return np.maximum(y + w[f"{prefix}.bn.bias"][:, None, None], 0)

    f1 = cbr(x, f"{n}.layers.0", 3)
    f2 = cbr(f1, f"{n}.layers.1", 3)
    f3 = cbr(f2, f"{n}.layers.2", 3)
    want = cbr(np.concatenate([x, f1, f2, f3]), f"{n}.concat", 1)
    np.testing.assert_allclose(maps[n], want, rtol=1e-12, atol=1e-12)


def test_golden_matches_float_on_random_weights(tiny_model, tiny):
    w = graph_random_weights(tiny_model, 1)
    compiled = compile_model(tiny_model, tiny, w)
    ref = GraphReference(tiny_model, w)
    with Accelerator(compiled, "golden", accel=tiny) as acc:
        for seed in range(3):
            px = _pixels(seed)
            got = acc.run(px, task="cls")[0]["cls"].reshape(-1)
            want = ref.forward(px)
            # 16-bit weights (LSB 2**-14) and 22-bit activations: errors ~1e-4 of outputs ~1
            assert np.abs(got - want).max() < 5e-3
            assert got.argmax() == want.argmax()


def test_osa_lowering_never_stores_the_concatenation(tiny_model, tiny):
    compiled = compile_model(tiny_model, tiny, graph_random_weights(tiny_model, 0))
    names = compiled.manifest["program"]["names"]
    concat = [i for i, n in zip(compiled.instrs, names) if n == "stage2.OSA2_1.concat"]
    # one piece for the block input, then one per 3x3 layer, all into the same accumulator
    assert len(concat) == 4 and len({i.get("dst") for i in concat}) == 1
    assert all(i.op == Op.CONV and i.get("in_ch") == 16 for i in concat)
    assert {i.get("residual") for i in concat[1:]} == {concat[0].get("dst")}


def test_narrow_engine_runs_layers_as_channel_groups(tiny_model):
    """Rows of 72 inputs: every 16/32-channel map is split into groups of 8 channels and
    each conv is accumulated over them; the result still follows the float model."""
    small = load_accel("tiny", ["buffers.max_in_features=72"])
    w = graph_random_weights(tiny_model, 2)
    compiled = compile_model(tiny_model, small, w)
    assert max(i.get("in_ch") * 9 for i in compiled.instrs if i.op == Op.CONV) <= 72
    with Accelerator(compiled, "golden", accel=small) as acc:
        got = acc.run(_pixels(4), task="cls")[0]["cls"].reshape(-1)
    assert np.abs(got - GraphReference(tiny_model, w).forward(_pixels(4))).max() < 5e-3


def test_layer_that_does_not_fit_is_refused(tiny_model):
    small = load_accel("tiny", ["buffers.max_in_features=8"])
    with pytest.raises(GraphError, match=r"max_in_features=8 cannot hold one 3x3 conv row"):
        compile_model(tiny_model, small)


def test_wrong_weight_shape_is_refused(tiny_model, tiny):
    w = graph_random_weights(tiny_model, 0)
    w["stage2.OSA2_1.concat.weight"] = np.zeros((32, 60, 1, 1))
    with pytest.raises(WeightError, match=r"stage2.OSA2_1.concat.weight.*\(32, 64, 1, 1\)"):
        compile_model(tiny_model, tiny, w)


def test_wrong_input_size_is_refused(tiny_model):
    from edgemoe.models import ImageError

    ref = GraphReference(tiny_model, graph_random_weights(tiny_model, 0))
    with pytest.raises(ImageError, match=r"\(1, 8, 8\)"):
        ref.forward(_pixels(0, (1, 9, 9)))


def test_input_size_mismatch_in_config_is_refused(tiny_model):
    bad = load_model("vovnet-tiny", ["image_height=2", "image_width=2"])
    with pytest.raises(ValueError, match=r"stage3.Pooling.*does not fit"):
        graph_shapes(bad)


def test_official_names_import():
    state = {"stem.stem_1/conv.weight": np.ones((2, 1, 3, 3)),
             "stem.stem_1/norm.running_var": np.ones(2),
             "stem.stem_1/norm.num_batches_tracked": np.array(3),
             "module.stage2.OSA2_1.layers.0.OSA2_1_0/conv.weight": np.ones((1,)),
             "stage2.OSA2_1.concat.OSA2_1_concat/norm.bias": np.ones((1,)),
             "backbone.bottom_up.stage3.OSA3_1.ese.fc.weight": np.ones((1,)),
             "classifier.bias": np.ones(10)}
    assert sorted(canonical_from_official(state)) == sorted([
        "stem.stem_1.weight", "stem.stem_1.bn.running_var", "stage2.OSA2_1.layers.0.weight",
        "stage2.OSA2_1.concat.bn.bias", "stage3.OSA3_1.ese.weight", "classifier.bias"])


@pytest.mark.parametrize("model_name,accel_name", [("vovnet-tiny", "tiny"),
                                                   ("vovnet-19-slim", "kv260")])
def test_osa_holds_one_map_plus_the_accumulator(model_name, accel_name):
    """From the builder's live ranges: inside every OSA block the arena holds at most the
    accumulator, the 3x3 map being written and the one it reads (plus the input for an
    identity residual), never the concatenation."""
    from edgemoe.compiler.osa_report import osa_report

    model = load_model(model_name)
    rows = osa_report(model, load_accel(accel_name), graph_random_weights(model, 0))
    assert len(rows) == sum(layer.type == "osa" for layer in model.layers)
    for r in rows:
        assert r["peak_live_bytes"] <= r["bound_bytes"] < r["concat_footprint_bytes"]
        assert r["acc_bytes"] == r["shape"][0] * r["shape"][1] * r["shape"][2] * 4
