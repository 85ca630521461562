"""Composite result figure: input | segmentation overlay + legend | depth + colour bar.

With ground truth (a generated scene) a second row shows the true labels and depth
beside the per-image scores. Built without pyplot (no GUI backend needed or changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgemoe.data.synthetic import CLASSES, MAX_DEPTH_M
from edgemoe.evaluation.metrics import DepthMetrics, SegMetrics
from edgemoe.host.images import palette

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["OVERLAY_ALPHA", "composite_figure", "save_figure"]

OVERLAY_ALPHA = 0.55
"""Weight of the class colour over the input image in the segmentation overlay."""


def _overlay(rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    colours = palette(len(CLASSES))[labels].astype(np.float64)
    return (OVERLAY_ALPHA * colours + (1 - OVERLAY_ALPHA) * rgb).round().astype(np.uint8)


def composite_figure(image: np.ndarray, seg: np.ndarray, depth: np.ndarray, title: str,
                     gt_labels: np.ndarray | None = None,
                     gt_depth: np.ndarray | None = None) -> Figure:
    """One figure per image.

    Args:
        image: (H, W, 3) uint8 input.
        seg: (H, W) predicted class indices into :data:`CLASSES`.
        depth: (H, W) predicted depth in metres.
        title: Figure title (model, design point, executor).
        gt_labels: True labels, when the scene comes from the generator.
        gt_depth: True depth in metres, likewise.

    Returns:
        A matplotlib Figure.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    has_gt = gt_labels is not None and gt_depth is not None
    fig = Figure(figsize=(15, 3.2 * (2 if has_gt else 1) + 0.6))
    axes = np.atleast_2d(fig.subplots(2 if has_gt else 1, 3))
    depth_kw = {"cmap": "magma_r", "vmin": 0.0, "vmax": MAX_DEPTH_M}
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("input")
    axes[0, 1].imshow(_overlay(image, seg))
    axes[0, 1].set_title("segmentation (accelerator)")
    shown = axes[0, 2].imshow(depth, **depth_kw)
    axes[0, 2].set_title("depth (accelerator)")
    cols = palette(len(CLASSES)) / 255.0
    fig.legend(handles=[Patch(color=cols[i], label=c) for i, c in enumerate(CLASSES)],
               loc="lower center", ncol=len(CLASSES), fontsize=8, frameon=False)
    if has_gt:
        sm, dm = SegMetrics(len(CLASSES)), DepthMetrics()
        sm.add(seg, gt_labels)
        dm.add(depth, gt_depth)
        axes[1, 0].axis("off")
        axes[1, 0].text(0.02, 0.5, f"this image:\nmIoU {100 * sm.miou():.1f}%\n"
                        f"pixel accuracy {100 * sm.pixel_accuracy():.1f}%\n"
                        f"depth abs-rel {dm.abs_rel():.3f}\ndepth RMSE {dm.rmse():.2f} m",
                        va="center", fontsize=10)
        axes[1, 1].imshow(_overlay(image, gt_labels))
        axes[1, 1].set_title("segmentation (ground truth)")
        axes[1, 2].imshow(gt_depth, **depth_kw)
        axes[1, 2].set_title("depth (ground truth)")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title + " (synthetic data, synthetic-trained weights)")
    fig.subplots_adjust(left=0.02, right=0.9, top=0.88, bottom=0.1, wspace=0.05, hspace=0.2)
    fig.colorbar(shown, cax=fig.add_axes((0.915, 0.15, 0.012, 0.7)), label="depth (m)")
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG via a temporary file, so no half-written file is left."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial.png")
    fig.savefig(tmp, dpi=dpi)
    tmp.replace(out)
    return out
