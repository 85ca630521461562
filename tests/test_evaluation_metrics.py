"""Segmentation and depth metrics against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgemoe.evaluation.metrics import DepthMetrics, SegMetrics

pytestmark = pytest.mark.unit


def test_iou_miou_and_accuracy_of_a_2x2_case():
    # gt  0 0   pred 0 1   class 0: TP 1, FN 1, FP 0 -> IoU 1/2
    #     1 1        1 1   class 1: TP 2, FN 0, FP 1 -> IoU 2/3
    m = SegMetrics(2)
    m.add(np.array([[0, 1], [1, 1]]), np.array([[0, 0], [1, 1]]))
    np.testing.assert_allclose(m.iou(), [0.5, 2 / 3])
    assert m.miou() == pytest.approx((0.5 + 2 / 3) / 2)
    assert m.pixel_accuracy() == pytest.approx(0.75)
    assert m.confusion.tolist() == [[1, 1], [0, 2]]


def test_class_absent_everywhere_is_left_out_but_a_missed_class_counts_zero():
    m = SegMetrics(3)
    # class 2 never occurs; class 1 is in the gt but never predicted
    m.add(np.array([0, 0, 0, 0]), np.array([0, 0, 1, 1]))
    iou = m.iou()
    assert iou[0] == pytest.approx(0.5) and iou[1] == 0.0 and math.isnan(iou[2])
    assert m.miou() == pytest.approx(0.25)
    assert m.pixel_accuracy() == pytest.approx(0.5)


def test_accumulating_images_equals_scoring_them_together():
    rng = np.random.default_rng(3)
    gts = [rng.integers(0, 4, (5, 7)) for _ in range(3)]
    preds = [rng.integers(0, 4, (5, 7)) for _ in range(3)]
    a, b = SegMetrics(4), SegMetrics(4)
    for p, g in zip(preds, gts):
        a.add(p, g)
    b.add(np.concatenate(preds), np.concatenate(gts))
    assert np.array_equal(a.confusion, b.confusion)
    assert a.miou() == b.miou()


def test_perfect_prediction_scores_one():
    labels = np.arange(6).reshape(2, 3) % 3
    m = SegMetrics(3)
    m.add(labels, labels)
    assert m.miou() == 1.0 and m.pixel_accuracy() == 1.0


def test_depth_abs_rel_and_rmse_by_hand():
    d = DepthMetrics()
    d.add(np.array([2.0, 2.0, 2.0]), np.array([1.0, 2.0, 4.0]))
    # |2-1|/1 + 0 + |2-4|/4 = 1.5 over 3 pixels; squared errors 1 + 0 + 4 = 5
    assert d.abs_rel() == pytest.approx(0.5)
    assert d.rmse() == pytest.approx(math.sqrt(5 / 3))


def test_depth_ignores_pixels_without_ground_truth_and_accumulates():
    d = DepthMetrics()
    d.add(np.array([[9.0, 3.0]]), np.array([[0.0, 2.0]]))  # first pixel has no gt
    d.add(np.array([4.0]), np.array([4.0]))
    assert d.count == 2
    assert d.abs_rel() == pytest.approx(0.25)
    assert d.rmse() == pytest.approx(math.sqrt(0.5))


def test_empty_metrics_are_nan():
    assert math.isnan(SegMetrics(2).miou()) and math.isnan(SegMetrics(2).pixel_accuracy())
    assert math.isnan(DepthMetrics().abs_rel()) and math.isnan(DepthMetrics().rmse())


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="class ids must be in 0..1"):
        SegMetrics(2).add(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="prediction has 3 pixels, ground truth 2"):
        SegMetrics(2).add(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="differs from ground truth"):
        DepthMetrics().add(np.ones(3), np.ones(2))
