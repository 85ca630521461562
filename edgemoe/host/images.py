"""Image files in and out: read inputs, colour and save seg/depth predictions.

Pillow and matplotlib are imported when a function needs them, not with this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .accelerator import Result


def read_image(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB ``(H, W, 3)``.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Pillow cannot read it.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input image {path} does not exist")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise ValueError(f"{path} is not an image Pillow can read (PNG, JPEG, ...)") from None


def palette(n: int) -> np.ndarray:
    """``n`` distinct RGB colours (uint8 ``(n, 3)``): tab20 repeated, darker each cycle."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    cols = np.array([cmap(i % 20)[:3] for i in range(n)]) * 255.0
    cols *= (0.75 ** (np.arange(n) // 20))[:, None]
    return cols.round().astype(np.uint8)


def colorize_segmentation(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Class ids ``(H, W)`` -> RGB ``(H, W, 3)``."""
    return palette(max(n_classes, int(classes.max()) + 1))[classes]


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """Depth ``(H, W)`` -> RGB with the ``magma`` colormap over its own min..max."""
    import matplotlib

    lo, hi = float(depth.min()), float(depth.max())
    norm = (depth - lo) / (hi - lo) if hi > lo else np.zeros_like(depth)
    return (matplotlib.colormaps["magma"](norm)[..., :3] * 255).round().astype(np.uint8)


def save_png(path: str | Path, rgb: np.ndarray, scale: int = 1) -> Path:
    """Write an RGB uint8 image, optionally enlarged ``scale`` times (nearest)."""
    from PIL import Image

    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    out = Path(path)
    Image.fromarray(np.ascontiguousarray(rgb)).save(out)
    return out


def save_result(result: Result, out_dir: str | Path, stem: str, scale: int = 1) -> list[Path]:
    """Write ``<stem>_<task>.png`` per task and ``<stem>.npz`` (outputs + predictions)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task, output in result.items():
        if output.ndim == 2:  # backbone only (--heads none): tokens, no picture
            continue
        pred = result.predictions[task]
        if output.shape[-1] > 1 and pred.dtype.kind in "iu":
            rgb = colorize_segmentation(pred, output.shape[-1])
        else:
            rgb = colorize_depth(pred)
        written.append(save_png(out / f"{stem}_{task}.png", rgb, scale))
    arrays = {f"{t}_output": v for t, v in result.items()}
    arrays.update({f"{t}_prediction": v for t, v in result.predictions.items()})
    np.savez_compressed(out / f"{stem}.npz", **arrays)
    written.append(out / f"{stem}.npz")
    return written
