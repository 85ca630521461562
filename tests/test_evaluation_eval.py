"""`edgemoe eval` and the demo figures on a few scenes with the shipped trained weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.cli import main
from edgemoe.data import synthetic, trained_weights
from edgemoe.evaluation.evaluate import baselines, evaluate
from edgemoe.evaluation.figure import composite_figure, save_figure
from edgemoe.models import load_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden

N_SCENES = 2


@pytest.fixture(scope="module")
def demo():
    model = load_model("m3vit-demo")
    return model, load_weights(trained_weights("m3vit-demo"), model)


@pytest.fixture(scope="module")
def report(demo, zcu102):
    model, weights = demo
    return evaluate(model, zcu102, weights, "golden", "test", N_SCENES)


def test_accelerator_matches_float_on_the_trained_model(report):
    """Bounds of the issue: within 0.5 mIoU points and 1% relative depth abs-rel."""
    assert abs(report["deltas"]["miou_points"]) <= 0.5
    assert abs(report["deltas"]["abs_rel_relative"]) <= 0.01
    assert report["seg_agreement"] > 0.99


def test_trained_model_beats_the_constant_baselines(report):
    f, b = report["float"], report["baselines"]
    assert b["majority_class"] == "road"
    assert f["miou"] > b["miou"] + 0.3
    assert f["pixel_acc"] > b["pixel_acc"] + 0.3
    assert f["abs_rel"] < 0.5 * b["abs_rel"]
    assert f["rmse"] < 0.75 * b["rmse"]


def test_expert_loads_count_every_choice_and_differ_between_tasks(report, demo):
    model, _ = demo
    loads = report["expert_loads"]
    for task in ("seg", "depth"):
        for block in model.moe_blocks:
            counts = loads[task][str(block)]
            assert len(counts) == model.num_experts
            assert sum(counts) == N_SCENES * model.num_tokens * model.top_k
    assert any(loads["seg"][str(b)] != loads["depth"][str(b)] for b in model.moe_blocks)
    # the routers were trained per task: many tokens go to other experts in the two tasks
    for b in model.moe_blocks:
        assert 0.0 <= report["routing_overlap"][str(b)] < 0.9


def test_shared_choices_by_hand():
    from edgemoe.evaluation.evaluate import _shared_choices

    seg = np.array([[0, 1], [2, 3], [4, 5]])
    depth = np.array([[1, 0], [2, 7], [6, 7]])  # 2 + 1 + 0 choices in common
    assert _shared_choices(seg, depth) == 3


def test_baselines_by_hand_on_one_scene():
    s = synthetic.scene("test", 0)
    b = baselines([s], n_stats=3)
    stats = [synthetic.scene("train", i) for i in range(3)]
    counts = np.bincount(np.concatenate([t.labels.ravel() for t in stats]), minlength=7)
    mean = float(np.mean([t.depth.astype(np.float64).mean() for t in stats]))
    assert b["majority_class"] == synthetic.CLASSES[int(counts.argmax())]
    assert b["mean_depth_m"] == pytest.approx(mean)
    major = int(counts.argmax())
    assert b["pixel_acc"] == pytest.approx(float(np.mean(s.labels == major)))
    assert b["abs_rel"] == pytest.approx(float(np.mean(np.abs(mean - s.depth) / s.depth)),
                                         rel=1e-6)


def test_eval_cli_json(capsys):
    assert main(["eval", "--n", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["scenes"] == 1 and r["design_point"] == "edge-moe-zcu102"
    assert set(r["float"]["iou"]) == set(synthetic.CLASSES)


def test_eval_cli_w8a8_stays_near_float(capsys):
    """--int8: attention, dense MLPs and experts int8 (calibrated on train scenes, scored
    on test ones); one scene within the issue's W4.4A8 bounds (1 mIoU point, 2% abs-rel)."""
    from edgemoe.compiler.calibrate import int8_layers

    assert main(["eval", "--n", "1", "--int8", "2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["int8_layers"] == len(int8_layers(load_model("m3vit-demo"))) > 0
    assert abs(r["deltas"]["miou_points"]) <= 1.0
    assert abs(r["deltas"]["abs_rel_relative"]) <= 0.02
    assert r["seg_agreement"] < 1.0  # the int8 steps change some pixels: W8A8 did run


@pytest.mark.parametrize("argv, message", [
    (["eval", "--n", "0"], "--n 0: give a positive number of scenes"),
    (["eval", "--n", "1", "--int8", "-1"], "--int8 -1: give 1..4000 train scenes"),
    (["eval", "--model", "vovnet-tiny", "--int8", "1"], "graph model: drop --int8"),
    (["eval", "--n", "500"], "split 'test' has 200 scenes"),
    (["eval", "--model", "m3vit-micro"], "no trained weights ship for model 'm3vit-micro'"),
])
def test_eval_cli_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_composite_figure_with_and_without_ground_truth(tmp_path):
    s = synthetic.scene("test", 3)
    fig = composite_figure(s.image, s.labels.astype(np.int64), s.depth, "t", s.labels, s.depth)
    titles = [ax.get_title() for ax in fig.axes]
    assert "segmentation (ground truth)" in titles and "depth (ground truth)" in titles
    assert any(ax.get_ylabel() == "depth (m)" for ax in fig.axes)  # the colour bar
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(synthetic.CLASSES)
    path = save_figure(fig, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.partial*"))
    plain = composite_figure(s.image, s.labels.astype(np.int64), s.depth, "t")
    assert "depth (ground truth)" not in [ax.get_title() for ax in plain.axes]


def test_demo_figures(tmp_path):
    from edgemoe.evaluation.showcase import show_trained

    paths = show_trained(tmp_path)
    assert sorted(p.name for p in paths) == ["latency_depth.png", "latency_seg.png",
                                             "street.png", "test_scene0.png", "test_scene1.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_demo_design_point_fits(demo):
    model, _ = demo
    load_accel("edge-moe-zcu102").check_model(model)


#: Buffer sizes the tiny design point (sized for m3vit-micro) needs for m3vit-demo.
TINY_FOR_DEMO = ("buffers.max_tokens=129", "buffers.max_heads=3", "buffers.max_head_dim=32",
                 "buffers.max_experts=8", "buffers.max_in_features=864",
                 "buffers.max_out_features=384")


def test_demo_model_runs_on_the_tiny_engine(demo, zcu102):
    """A 4x4 engine with big enough buffers gives what the 16x16 one does, up to the
    order-dependent rounding of its narrower lanes (bound: 1e-4 of the output range)."""
    from edgemoe.compiler import compile_model
    from edgemoe.host import Accelerator

    model, weights = demo
    tiny = load_accel("tiny", TINY_FOR_DEMO)
    pixels = synthetic.scene("test", 0).pixels()
    outs = []
    for accel in (zcu102, tiny):
        with Accelerator(compile_model(model, accel, weights), backend="golden",
                         accel=accel) as acc:
            outs.append(acc.run(pixels, task="all")[0])
    for task in ("seg", "depth"):
        big, small = outs[0][task], outs[1][task]
        assert np.abs(big - small).max() <= 1e-4 * np.abs(big).max()
    agree = np.mean(outs[0].predictions["seg"] == outs[1].predictions["seg"])
    assert agree > 0.999
