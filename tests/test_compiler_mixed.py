"""M3ViT with a precision map: mixed int4/int8 LINEARs (Flag.WFMT_Q4), golden vs float.

Float bound: the float reference runs on the weights the device holds (compile_model's
effective weights), so the error left is the int8 input rounding of every mixed or W8A8
layer, as in tests/test_compiler_q8.py: the backbone's ||golden - float|| / ||float||
must stay below BACKBONE_REL_ERR = 1% (measured 1.2e-3 on m3vit-micro).  Against the
original float weights the int4 rounding shows (measured 8.1e-3, checked to exceed twice
the device error): the accuracy table's business (docs/int8.md, `make bench`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import EXPERT_LINEARS, int8_layers, linear_input_ranges
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.compiler.mixed import apply_precision_map, tile_count
from edgemoe.golden import execute
from edgemoe.isa import Flag, Op
from edgemoe.models import M3ViTReference, load_default_image, random_weights
from edgemoe.numerics.int4 import MOE_GROUP_SIZES, unpack_moe_split, unpack_split
from edgemoe.params import load_accel, load_model
from edgemoe.seeds.precision_map import build_precision_map, write_precision_map

pytestmark = pytest.mark.golden

BACKBONE_REL_ERR = 0.01


def _map(model, weights, fraction: float = 0.1, seed: int = 0, experts: bool = True,
         **kw) -> dict:
    """A precision map over every int8-capable weight with a random ``fraction`` high
    (without ``experts``: the attention and dense-MLP LINEARs only)."""
    rng = np.random.default_rng(seed)
    shapes = {f"{p}.weight": weights[f"{p}.weight"].shape for p in int8_layers(model)
              if experts or not p.endswith(EXPERT_LINEARS)}
    high = {n: rng.random(int(np.prod(s[:-1]))) < fraction for n, s in shapes.items()}
    args = {"low_bits": 4, "high_bits": 8, "group": 32, **kw}
    return build_precision_map(shapes, high, meta={"model": model.name}, **args)


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, [load_default_image(model)])
    path = write_precision_map(tmp_path_factory.mktemp("map") / "map.json", _map(model, weights))
    mixed, int8 = apply_precision_map(path, model, weights, ranges, int8_rest=False)
    c = compile_model(model, accel, weights, heads=False, int8=int8, mixed=mixed)
    return model, accel, c, weights, path, mixed


def test_map_layers_compile_to_mixed_linears_and_experts(micro):
    model, _, c, weights, path, mixed = micro
    q4 = [ins for ins in c.instrs if ins.op == Op.LINEAR and ins.has(Flag.WFMT_Q4)]
    dense = [p for p in int8_layers(model) if not p.endswith(EXPERT_LINEARS)]
    assert len(q4) == len(dense) == len(mixed) - 2 > 0  # + one MoE block's two layers
    pmap = json.loads(path.read_text())
    for ins, prefix in zip(q4, dense):
        high, groups = unpack_split(ins.get("q4_split"))
        # the map's count rounded to whole tile rows (tiny: 4)
        n = len(pmap["layers"][f"{prefix}.weight"]["high_channels"])
        assert high == tile_count(n, ins.get("out_features"), 4)
        assert groups == -(-ins.get("in_features") // 32)
    experts = [ins for ins in c.instrs if ins.op == Op.MOE_EXPERTS]
    assert experts and all(ins.has(Flag.WFMT_Q4) and not ins.has(Flag.WFMT_Q8)
                           for ins in experts)
    moe = [p for p in int8_layers(model) if p.endswith(EXPERT_LINEARS)]
    high1, high2, code = unpack_moe_split(experts[0].get("q4_split"))
    assert code == MOE_GROUP_SIZES.index(32)
    for prefix, high in zip(moe, (high1, high2)):
        e, n = weights[f"{prefix}.weight"].shape[:2]
        chans = np.array(pmap["layers"][f"{prefix}.weight"]["high_channels"], int)
        # every expert keeps the layer's largest int8 row count (the others promote rows),
        # rounded to whole tile rows
        assert high == tile_count(np.bincount(chans // n, minlength=e).max(), n, 4)


def test_mixed_backbone_matches_float_within_bound(micro):
    model, accel, c, weights, _, _ = micro
    ref = M3ViTReference(model, {**weights, **c.effective_weights})
    plain = M3ViTReference(model, weights)
    pixels = load_default_image(model)
    image = c.fresh_image()
    write_pixels(image, c.manifest, pixels)
    assert execute(image, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    got = read_tokens(image, c.manifest, accel.formats.act.cpp())
    want, _ = ref.backbone(pixels, 0)
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert rel <= BACKBONE_REL_ERR, rel
    # the device weights are int4 for ~90% of the channels: far from the float weights
    orig, _ = plain.backbone(pixels, 0)
    assert np.linalg.norm(got - orig) / np.linalg.norm(orig) > 2 * rel


def test_all_high_map_is_the_w8a8_build(tmp_path):
    """A map with every channel high gives the W8A8 program's output bytes (mixed
    LINEARs and mixed experts with int8 rows only against WFMT_Q8 ones)."""
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 2)
    ranges = linear_input_ranges(model, weights, [load_default_image(model)])
    path = write_precision_map(tmp_path / "m.json", _map(model, weights, fraction=1.1))
    mixed, int8 = apply_precision_map(path, model, weights, ranges, int8_rest=False)
    outs = []
    for kw in ({"int8": int8, "mixed": mixed}, {"int8": ranges}):
        c = compile_model(model, accel, weights, heads=False, **kw)
        flag = Flag.WFMT_Q4 if "mixed" in kw else Flag.WFMT_Q8
        assert all(i.has(flag) for i in c.instrs if i.op == Op.MOE_EXPERTS)
        image = c.fresh_image()
        write_pixels(image, c.manifest, load_default_image(model))
        assert execute(image, accel, c.program_offset, c.n_instructions, 1, c.status_offset) == 0
        outs.append(read_tokens(image, c.manifest, accel.formats.act.cpp()))
    assert np.array_equal(outs[0], outs[1])


def test_cli_compile_with_a_precision_map(micro, tmp_path):
    from edgemoe.cli import main
    from edgemoe.compiler.program import Compiled

    _, _, _, _, path, mixed = micro
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--seed", "1",
                 "--precision-map", str(path), "--out", str(tmp_path / "d")]) == 0
    c = Compiled.load(tmp_path / "d")
    # each mixed LINEAR, and one MOE_EXPERTS for the MoE block's two expert layers
    assert sum(ins.has(Flag.WFMT_Q4) for ins in c.instrs) == len(mixed) - 1


@pytest.mark.parametrize("edit,what", [
    (lambda m: {**m, "low": {**m["low"], "bits": 2}}, "--low-bits 4"),
    (lambda m: {**m, "layers": {"blocks.0.norm1.weight": {"shape": [4, 4], "high_channels": []}}},
     "not a LINEAR of m3vit-micro"),
    (lambda m: {**m, "layers": {k: {**v, "shape": [3, v["shape"][-1]], "high_channels": []}
                                for k, v in m["layers"].items()}}, "rerun `edgemoe quantize`"),
    (lambda m: {**m, "version": 99}, "rerun `edgemoe quantize`"),
    (lambda m: {**m, "group_size": 24}, "mixed experts need a group size of 16, 32"),
    (None, "not a readable precision map"),
])
def test_cli_bad_precision_maps_are_one_line_errors(micro, tmp_path, capsys, edit, what):
    from edgemoe.cli import main

    _, _, _, _, path, _ = micro
    bad = tmp_path / "bad.json"
    if edit is None:
        bad.write_text("{not json")
    else:
        bad.write_text(json.dumps(edit(json.loads(path.read_text()))))
    out = tmp_path / "d"
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--seed", "1",
                 "--precision-map", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert what in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_cli_eval_with_a_precision_map(tmp_path, capsys):
    """`edgemoe eval --precision-map`: the trained m3vit-demo, one scene, mixed LINEARs."""
    from edgemoe.cli import main
    from edgemoe.data import trained_weights
    from edgemoe.models import load_weights

    model = load_model("m3vit-demo")
    weights = load_weights(trained_weights(model.name), model)
    path = write_precision_map(tmp_path / "m.json", _map(model, weights))
    assert main(["eval", "--model", "m3vit-demo", "--n", "1", "--int8", "1", "--json",
                 "--precision-map", str(path)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["mixed_layers"], r["int8_layers"]) == (16, 0)  # the experts' 4 layers too
    assert abs(r["deltas"]["miou_points"]) < 5  # one scene: a sanity bound, not the table's
    assert main(["eval", "--model", "vovnet-tiny", "--n", "1", "--precision-map",
                 str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "drop --precision-map" in err and len(err.splitlines()) == 1


def test_quantize_group_size_row_is_one_group_per_row():
    """`edgemoe quantize --group-size row`: a group size past every K, which the compiler
    runs as one group per row (LINEAR q4_groups 1, MOE_EXPERTS group code 7)."""
    import argparse

    from edgemoe.commands.quantize import _group_size
    from edgemoe.numerics import int4

    assert _group_size("row") == int4.ROW_GROUP and _group_size("32") == 32
    assert int4.group_count(4096, int4.ROW_GROUP) == 1
    assert int4.moe_group_code(int4.ROW_GROUP, (96, 192)) == 7
    assert int4.moe_groups(192, 7) == 1 and int4.moe_groups(192, 1) == 6
    with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
        _group_size("0")
