"""Edge-MoE weight folders (no task heads) from the CLI: `--heads random|none`."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.golden import execute
from edgemoe.models import edgemoe_file_map, load_default_image, load_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


def write_edgemoe_folder(path, model, seed: int = 0) -> list[str]:
    """Random float32 weights under Edge-MoE's file names and shapes (no heads).

    Names follow Edge-MoE's repository: ``patch_embed_{weight,bias}``, ``pos_embed`` (CLS
    folded in), ``l{i}_{norm1,qkv,attn_proj,norm2}_{weight,bias}``, dense blocks
    ``l{i}_fc{1,2}_*``, MoE blocks ``l{i}_htoh4_*``, ``l{i}_h4toh_*`` and one
    ``l{i}_w_gate_T_task{t}`` (experts, dim) per task.
    """
    rng = np.random.default_rng(seed)
    d, p, e = model.dim, model.patch, model.num_experts
    shapes = {"patch_embed_weight": (d, model.in_chans, p, p), "patch_embed_bias": (d,),
              "pos_embed": (model.num_tokens, d)}
    for i in range(model.depth):
        for part, shape in (("norm1", (d,)), ("norm2", (d,))):
            shapes[f"l{i}_{part}_weight"], shapes[f"l{i}_{part}_bias"] = shape, shape
        shapes.update({f"l{i}_qkv_weight": (3 * d, d), f"l{i}_qkv_bias": (3 * d,),
                       f"l{i}_attn_proj_weight": (d, d), f"l{i}_attn_proj_bias": (d,)})
        if i in model.moe_blocks:
            h = model.expert_hidden
            shapes.update({f"l{i}_htoh4_weight": (e, h, d), f"l{i}_htoh4_bias": (e, h),
                           f"l{i}_h4toh_weight": (e, d, h), f"l{i}_h4toh_bias": (e, d)})
            for t in range(len(model.tasks)):
                shapes[f"l{i}_w_gate_T_task{t}"] = (e, d)
        else:
            h = model.mlp_hidden
            shapes.update({f"l{i}_fc1_weight": (h, d), f"l{i}_fc1_bias": (h,),
                           f"l{i}_fc2_weight": (d, h), f"l{i}_fc2_bias": (d,)})
    path.mkdir(parents=True, exist_ok=True)
    for stem, shape in shapes.items():
        std = 1.0 if "norm" in stem and stem.endswith("weight") else 0.05
        rng.normal(0.0, std, shape).astype("<f4").tofile(path / f"{stem}.float32.bin")
    return sorted(f"{s}.float32.bin" for s in shapes)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("edgemoe_weights")
    write_edgemoe_folder(path, load_model("m3vit-micro"))
    return path


def test_fixture_uses_exactly_the_loader_file_names(tmp_path):
    model = load_model("m3vit-micro")
    files = write_edgemoe_folder(tmp_path, model)
    assert files == sorted(f for f in edgemoe_file_map(model) if not f.startswith("head_"))


def test_without_heads_option_missing_heads_are_listed_by_name(folder, capsys):
    rc = main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights", str(folder),
               "--out", str(folder.parent / "c0")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "head_seg_conv_0_weight" in err and "heads.seg.conv_0.weight" in err


def test_missing_backbone_file_is_named(tmp_path, capsys):
    write_edgemoe_folder(tmp_path, load_model("m3vit-micro"))
    (tmp_path / "l1_htoh4_bias.float32.bin").unlink()
    rc = main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights",
               str(tmp_path), "--heads", "none", "--out", str(tmp_path / "c")])
    assert rc == 2
    assert "l1_htoh4_bias.float32.bin" in capsys.readouterr().err


def test_heads_random_runs_end_to_end(folder, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--design", "tiny", "--model", "m3vit-micro", "--weights", str(folder),
                 "--heads", "random", "--out", str(out)]) == 0
    saved = np.load(out / "default.npz")
    assert saved["seg_output"].shape == (32, 64, 7)
    assert (out / "default_seg.png").is_file()


def test_heads_none_outputs_the_backbone_tokens(folder, tmp_path, caplog):
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    out = tmp_path / "run"
    caplog.set_level("INFO")
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights",
                 str(folder), "--heads", "none", "--out", str(tmp_path / "c")]) == 0
    assert main(["run", "--design", "tiny", "--model", "m3vit-micro", "--weights", str(folder),
                 "--heads", "none", "--out", str(out)]) == 0
    assert "random heads" not in caplog.text  # backbone only: no heads are made up
    assert "backbone only" in caplog.text
    saved = np.load(out / "default.npz")
    assert not list(out.glob("*.png"))
    # the same tokens as a full compile holds in x right after the last block
    full = compile_model(model, accel, load_weights(folder, model, head_seed=0))
    image = full.fresh_image()
    write_pixels(image, full.manifest, load_default_image(model))
    backbone = full.manifest["taps"]["after"][f"block{model.depth - 1}"]
    for task in ("seg", "depth"):
        img = image.copy()
        index = full.manifest["outputs"][task]["task_index"]
        assert execute(img, accel, full.program_offset, backbone, index,
                       full.status_offset) == 0
        want = read_tokens(img, full.manifest, accel.formats.act.cpp())
        assert saved[f"{task}_output"].shape == (model.num_tokens, model.dim)
        assert np.array_equal(saved[f"{task}_output"], want)
