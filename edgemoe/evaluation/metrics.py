"""Segmentation and depth metrics accumulated over images (numpy only).

Segmentation: a confusion matrix; IoU of class c = TP / (TP + FP + FN), mIoU the mean
over classes that occur in the ground truth or the prediction (a class absent from both
is left out, as in the usual mIoU), pixel accuracy = correct / all pixels.
Depth: abs-rel = mean(|pred - gt| / gt) and RMSE = sqrt(mean((pred - gt)^2)) over all
pixels with gt > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DepthMetrics", "SegMetrics"]


@dataclass
class SegMetrics:
    """Running confusion matrix of a ``classes``-class segmentation.

    Attributes:
        classes: Number of classes.
        confusion: (classes, classes) int64 counts, rows = ground truth, cols = prediction.
    """

    classes: int
    confusion: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.confusion = np.zeros((self.classes, self.classes), dtype=np.int64)

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Accumulate one prediction (integer class map) against its ground truth."""
        pred, gt = np.asarray(pred).ravel(), np.asarray(gt).ravel()
        if pred.shape != gt.shape:
            raise ValueError(f"prediction has {pred.size} pixels, ground truth {gt.size}")
        bad = (gt < 0) | (gt >= self.classes) | (pred < 0) | (pred >= self.classes)
        if bad.any():
            raise ValueError(f"class ids must be in 0..{self.classes - 1}")
        flat = gt.astype(np.int64) * self.classes + pred.astype(np.int64)
        self.confusion += np.bincount(flat, minlength=self.classes**2).reshape(
            self.classes, self.classes)

    def iou(self) -> np.ndarray:
        """IoU per class; NaN for a class in neither ground truth nor prediction."""
        tp = np.diag(self.confusion).astype(np.float64)
        union = self.confusion.sum(0) + self.confusion.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / union, np.nan)

    def miou(self) -> float:
        """Mean IoU over the classes present (see :meth:`iou`)."""
        iou = self.iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def pixel_accuracy(self) -> float:
        """Fraction of pixels whose class is right."""
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else float("nan")


@dataclass
class DepthMetrics:
    """Running sums of absolute relative and squared depth errors."""

    abs_rel_sum: float = 0.0
    sq_sum: float = 0.0
    count: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Accumulate one depth map (metres) against its ground truth."""
        pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
        if pred.shape != gt.shape:
            raise ValueError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
        valid = gt > 0
        err = pred[valid] - gt[valid]
        self.abs_rel_sum += float(np.sum(np.abs(err) / gt[valid]))
        self.sq_sum += float(np.sum(err**2))
        self.count += int(valid.sum())

    def abs_rel(self) -> float:
        """Mean of |pred - gt| / gt."""
        return self.abs_rel_sum / self.count if self.count else float("nan")

    def rmse(self) -> float:
        """Root mean squared error in metres."""
        return float(np.sqrt(self.sq_sum / self.count)) if self.count else float("nan")
