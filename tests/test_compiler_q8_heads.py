"""M3ViT with its task heads' convs in the W8A8 mode (CONV with Flag.WFMT_Q8): compiler,
golden against float, C-sim byte-identical (RTL: tests/test_rtl_q8.py), the CLI switch.

Float bound: each W8A8 conv rounds its input to 1/127 of its calibrated range (half a step
per element at most), its weights to 1/127 of each channel's largest; five chained convs
with bilinear upsamples between them.  The head output's ||golden - float|| / ||float||
(float on the weights the device holds) must stay below HEAD_REL_ERR_Q8 = 5% (measured
1.2% / 1.9% for the two tasks of m3vit-micro with random weights; the W16A32 build gives
2e-5 / 4e-5, so a W8A8 run is told apart by an error above 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import head_conv_layers, int8_layers, linear_input_ranges
from edgemoe.compiler.io import read_output, write_pixels
from edgemoe.golden import execute
from edgemoe.isa import Flag, Op, ksp_dq_shift
from edgemoe.models import M3ViTReference, WeightError, load_default_image, random_weights
from edgemoe.params import load_accel, load_model

HEAD_REL_ERR_Q8 = 0.05


@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, [load_default_image(model)],
                                 head_conv_layers(model))
    return model, accel, weights, ranges, compile_model(model, accel, weights, int8=ranges)


@pytest.mark.golden
def test_every_head_conv_and_only_those_run_w8a8(micro):
    model, _, _, ranges, c = micro
    convs = [ins for ins in c.instrs if ins.op == Op.CONV]
    q8 = [ins for ins in convs if ins.has(Flag.WFMT_Q8)]
    assert len(q8) == len(head_conv_layers(model)) == len(ranges) == len(convs) - 1
    assert not convs[0].has(Flag.WFMT_Q8) and convs[0].has(Flag.PIXEL_INPUT)  # patch embed
    assert all(ins.get("x_mul") > 0 and ksp_dq_shift(ins.get("kernel_stride_pad")) > 0
               and not ins.has(Flag.WFMT_CONV) for ins in q8)
    assert not any(ins.has(Flag.WFMT_Q8) for ins in c.instrs if ins.op != Op.CONV)


@pytest.mark.golden
def test_w8a8_heads_match_float_within_bound(micro):
    model, accel, weights, _, c = micro
    ref = M3ViTReference(model, {**weights, **c.effective_weights})
    pixels = load_default_image(model)
    for task in range(len(model.tasks)):
        image = c.fresh_image()
        write_pixels(image, c.manifest, pixels)
        assert execute(image, accel, c.program_offset, c.n_instructions, task,
                       c.status_offset) == 0
        got = read_output(image, c.manifest, model.tasks[task].name).transpose(2, 0, 1)
        want = ref.forward(pixels, task)["head"]
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert 1e-3 < rel <= HEAD_REL_ERR_Q8, (task, rel)


@pytest.mark.csim
def test_w8a8_heads_csim_equals_golden(micro):
    from edgemoe.compare import assert_images_equal
    from edgemoe.flow.csim import CsimExecutor

    model, accel, _, _, c = micro
    csim = CsimExecutor(accel)
    for task in range(len(model.tasks)):
        gold, sim = c.fresh_image(), c.fresh_image()
        for image in (gold, sim):
            write_pixels(image, c.manifest, load_default_image(model))
        args = (c.program_offset, c.n_instructions, task, c.status_offset)
        assert execute(gold, accel, *args) == 0
        assert csim.execute(sim, *args) == 0
        assert_images_equal(gold, sim, c.manifest, f"m3vit-micro W8A8 heads, task {task}")


@pytest.mark.golden
def test_head_convs_need_heads():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    with pytest.raises(WeightError, match="head_conv_layers"):
        compile_model(model, accel, heads=False, int8={"heads.seg.conv_0": 1.0})


@pytest.mark.golden
def test_cli_int8_heads(tmp_path, capsys):
    from edgemoe.cli import main
    from edgemoe.compiler.program import Compiled

    model = load_model("m3vit-micro")
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8", "1",
                 "--int8-heads", "--out", str(tmp_path / "d")]) == 0
    c = Compiled.load(tmp_path / "d")
    q8 = [ins for ins in c.instrs if ins.has(Flag.WFMT_Q8)]
    layers = sum(2 if ins.op == Op.MOE_EXPERTS else 1 for ins in q8)
    assert layers == len(int8_layers(model, heads=True)) == \
        len(int8_layers(model)) + len(head_conv_layers(model))
    capsys.readouterr()
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8-heads",
                 "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--int8-heads" in err and "add --int8 N" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "e").exists()


@pytest.mark.golden
def test_rtlsim_refuses_flags_the_sv_does_not_build(tmp_path, capsys, monkeypatch):
    """A mode the SV does not build yet (isa.FLAGS_NOT_BUILT; W8A8 CONV was one until the
    SV ran it) is refused with the way out before a model is built, not run into a
    BAD_FLAGS status."""
    from edgemoe import isa
    from edgemoe.cli import main
    from edgemoe.rtl import rtlsim

    monkeypatch.setitem(isa.FLAGS_NOT_BUILT, "sv", {Op.CONV: Flag.WFMT_Q8})

    def no_build(*args, **kwargs):
        raise AssertionError("a Verilator model was built for a program the SV refuses")

    monkeypatch.setattr(rtlsim, "build", no_build)
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8", "1",
                 "--int8-heads", "--out", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    assert main(["run", "--design", str(tmp_path / "d"), "--backend", "rtlsim",
                 "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]  # after the progress bar
    assert "does not build CONV with WFMT_Q8" in last and "--backend golden or csim" in last
    assert "Traceback" not in err and not list(tmp_path.glob("out/*.npz"))


@pytest.mark.golden
def test_head_conv_inputs_are_the_traced_maps_each_conv_reads():
    """Calibration reads conv_j's input from the head's trace (heads.conv_input_keys): each
    key's map has the channels conv_j takes, and conv_j applied to it gives the traced conv_j
    (the last conv's output is traced as conv_n)."""
    from edgemoe.models.heads import conv_input_keys
    from edgemoe.models.layers import conv2d
    from edgemoe.models.weights import head_conv_count

    model = load_model("m3vit-micro")
    weights = random_weights(model, 1)
    ref = M3ViTReference(model, weights)
    tokens, _ = ref.backbone(load_default_image(model), 0)
    trace: dict[str, np.ndarray] = {}
    ref.head(tokens, 0, trace)
    n = head_conv_count(model)
    keys = conv_input_keys(n)
    assert len(keys) == n + 1
    for j, key in enumerate(keys):
        w, b = (weights[f"heads.seg.conv_{j}.{p}"] for p in ("weight", "bias"))
        assert trace[key].shape[0] == w.shape[1]
        got = conv2d(trace[key], w, b, pad=w.shape[-1] // 2)
        np.testing.assert_allclose(got, trace[f"conv_{j}"], rtol=1e-12, atol=1e-12)
