"""Image files in and out: read inputs, colour and save seg/depth predictions.

Pillow and matplotlib are imported when a function needs them, not with this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .accelerator import Result
from .outdir import OutputDir, atomic_path

#: Pillow modes holding more than 8 bits per sample, and the largest value of each.
_WIDE_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535, "I": 65535,
               "F": 1.0}


def _to_rgb8(im) -> np.ndarray:
    """Pillow image -> uint8 RGB, scaling 16-bit and float samples instead of clipping.

    16-bit and 32-bit integer samples are taken as 0..65535 (what 16-bit PNG and TIFF
    hold) and scaled by 255/65535 with rounding; float samples are taken as 0..1.
    """
    if im.mode in _WIDE_MODES:
        top = _WIDE_MODES[im.mode]
        values = np.clip(np.asarray(im, dtype=np.float64), 0, top)
        grey = np.floor(values * (255.0 / top) + 0.5).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB ``(H, W, 3)``.

    16-bit and float images are scaled to 8 bits, not clipped.  Pillow's own
    decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) applies.

    Raises:
        FileNotFoundError: No such file.
        ValueError: A folder, not an image, damaged or truncated, empty, or larger than
            Pillow's limit (the message names the file).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"input image {path} is a folder: pass image files (e.g. {path}/*.png)")
    if not path.is_file():
        raise FileNotFoundError(f"input image {path} does not exist: check the path")
    try:
        with Image.open(path) as im:
            size = im.size
            rgb = _to_rgb8(im) if im.width and im.height else None
    except UnidentifiedImageError:
        raise ValueError(f"{path} is not an image Pillow can read (PNG, JPEG, ...): pass an "
                         "image file") from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{path} is too large to decode safely ({exc}): shrink the image "
                         "first") from None
    except Exception as exc:  # noqa: BLE001 - decoders of damaged files raise any type
        raise ValueError(f"{path} is damaged or truncated ({type(exc).__name__}: {exc}): "
                         "re-export or re-copy the image") from None
    if rgb is None:
        raise ValueError(f"input image {path} is empty ({size[0]}x{size[1]} pixels): pass "
                         "an image with pixels")
    return rgb


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
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="PNG")
    return out


def save_result(result: Result, out: str | Path | OutputDir, stem: str, scale: int = 1,
                source: str | None = None) -> list[Path]:
    """Write ``<stem>_<task>.png`` per task and ``<stem>.npz`` (outputs + predictions).

    Each file is written to a temporary name and renamed when complete; with an
    :class:`~edgemoe.host.outdir.OutputDir` each is also listed in its ``index.json``
    (``source`` names the input image there).
    """
    folder = out if isinstance(out, OutputDir) else None
    if folder is None:
        Path(out).mkdir(parents=True, exist_ok=True)
    written = []

    def target(name: str):
        return folder.file(name, source) if folder else atomic_path(Path(out) / name)

    for task, output in result.items():
        if output.ndim == 2 or output.shape[:2] == (1, 1):  # tokens or class scores:
            continue                                        # no picture, the .npz has them
        pred = result.predictions[task]
        if output.shape[-1] > 1 and pred.dtype.kind in "iu":
            rgb = colorize_segmentation(pred, output.shape[-1])
        else:
            rgb = colorize_depth(pred)
        with target(f"{stem}_{task}.png") as tmp:
            save_png(tmp, rgb, scale)
        written.append(tmp.parent / f"{stem}_{task}.png")
    arrays = {f"{t}_output": v for t, v in result.items()}
    arrays.update({f"{t}_prediction": v for t, v in result.predictions.items()})
    with target(f"{stem}.npz") as tmp:  # a path: numpy closes its own zip if interrupted
        np.savez_compressed(tmp, **arrays)
    written.append(tmp.parent / f"{stem}.npz")
    return written
