"""M3ViT with its LINEAR layers in the W8A8 mode (Flag.WFMT_Q8): compiler, golden, C-sim.

Float bound: each W8A8 layer rounds its input to 1/127 of its calibrated range (at most
half a step, 0.4% of the range, per element; the errors of a dot product mostly cancel)
and the float reference runs on the weights the device holds (compile_model's effective
weights).  The backbone's ||golden - float|| / ||float|| must stay below
BACKBONE_REL_ERR_Q8 = 1% (measured 4.4e-4 on m3vit-micro, 2 blocks; the W16A32 build
gives 2.2e-5, so a W8A8 run is told apart by an error above 1e-4).
"""

from __future__ import annotations

import numpy as np
import pytest
from q8util import BACKBONE_REL_ERR_Q8, micro_calibration_images

from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.golden import execute
from edgemoe.isa import Flag, Op, unpack_moe_q8
from edgemoe.models import M3ViTReference, WeightError, load_default_image, random_weights
from edgemoe.params import load_accel, load_model


@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    calib = micro_calibration_images(model)
    ranges = linear_input_ranges(model, weights, calib)
    c = compile_model(model, accel, weights, heads=False, int8=ranges)
    return model, accel, c, ranges, weights


@pytest.mark.golden
def test_every_int8_layer_is_compiled_to_the_q8_mode(micro):
    model, _, c, ranges, _ = micro
    q8 = [ins for ins in c.instrs if ins.op == Op.LINEAR and ins.has(Flag.WFMT_Q8)]
    experts = [ins for ins in c.instrs if ins.op == Op.MOE_EXPERTS]
    assert experts and all(ins.has(Flag.WFMT_Q8) for ins in experts)
    # one MOE_EXPERTS runs two int8 layers (the experts' fc1 and fc2)
    assert len(q8) + 2 * len(experts) == len(int8_layers(model)) == len(ranges) > 0
    assert all(ins.get("x_mul") > 0 for ins in q8 + experts)
    assert all(unpack_moe_q8(ins.get("q8_shift_mul"))[1] > 0 for ins in experts)


@pytest.mark.golden
def test_q8_backbone_matches_float_within_bound(micro):
    model, accel, c, _, weights = micro
    ref = M3ViTReference(model, {**weights, **c.effective_weights})  # heads: not compiled
    pixels = load_default_image(model)
    for task in range(len(model.tasks)):
        image = c.fresh_image()
        write_pixels(image, c.manifest, pixels)
        assert execute(image, accel, c.program_offset, c.n_instructions, task,
                       c.status_offset) == 0
        got = read_tokens(image, c.manifest, accel.formats.act.cpp())
        want, _ = ref.backbone(pixels, task)
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert rel <= BACKBONE_REL_ERR_Q8, (task, rel)
        assert rel > 1e-4  # the int8 rounding is visible: the layers did run in W8A8


@pytest.mark.csim
def test_q8_backbone_csim_equals_golden(micro):
    from edgemoe.compare import assert_images_equal
    from edgemoe.flow.csim import CsimExecutor

    model, accel, c, _, _ = micro
    csim = CsimExecutor(accel)
    gold, sim = c.fresh_image(), c.fresh_image()
    for image in (gold, sim):
        write_pixels(image, c.manifest, load_default_image(model))
    args = (c.program_offset, c.n_instructions, 1, c.status_offset)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    assert_images_equal(gold, sim, c.manifest, "m3vit-micro W8A8 golden vs C-sim")


@pytest.mark.golden
def test_unknown_int8_layer_is_refused_with_the_names_to_use():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    with pytest.raises(WeightError, match="int8_layers"):
        compile_model(model, accel, heads=False, int8={"blocks.0.mlp.experts": 1.0})


@pytest.mark.golden
def test_half_an_expert_pair_is_refused():
    """fc1 and fc2 of the experts are one instruction: naming only one is an error."""
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    moe = next(i for i in range(model.depth) if model.is_moe(i))
    with pytest.raises(WeightError, match="give both"):
        compile_model(model, accel, heads=False,
                      int8={f"blocks.{moe}.mlp.experts.htoh4": 1.0})


@pytest.mark.golden
def test_cli_compile_int8_writes_a_w8a8_design(tmp_path, capsys):
    from edgemoe.cli import main
    from edgemoe.compiler.program import Compiled

    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8", "2",
                 "--out", str(tmp_path)]) == 0
    c = Compiled.load(tmp_path)
    q8 = [ins for ins in c.instrs if ins.has(Flag.WFMT_Q8)]
    layers = sum(2 if ins.op == Op.MOE_EXPERTS else 1 for ins in q8)
    assert layers == len(int8_layers(load_model("m3vit-micro")))


@pytest.mark.golden
def test_cli_compile_int8_errors_name_the_fix(tmp_path, capsys):
    from edgemoe.cli import main

    assert main(["compile", "--model", "vovnet-27-slim", "--accel", "kv260", "--int8", "1",
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not an M3ViT model: drop --int8" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d").exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse: usage, then the one-line error
        main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8", "0",
              "--out", str(tmp_path / "e")])
    assert exit_info.value.code == 2
    assert "--int8: 0 must be at least 1" in capsys.readouterr().err
