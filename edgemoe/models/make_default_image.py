"""Draw the default input image ``edgemoe/data/street.png`` (run once; the PNG is committed).

The scene is procedural and deterministic (no randomness): a sky gradient, a row of
buildings with windows, trees, a sidewalk, a road in perspective with dashed lane
marks, and a car. It is 256x512 RGB (Cityscapes' 1:2 aspect), so M3ViT-Tiny's
128x256 input is an exact 2x2 area average of it.

Usage::

    python -m edgemoe.models.make_default_image [output.png]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

HEIGHT, WIDTH = 256, 512
HORIZON = 150  # image row of the vanishing point / bottom of the buildings
VANISH_X = 256

_YY, _XX = np.mgrid[0:HEIGHT, 0:WIDTH]


def _fill(img: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> None:
    img[mask] = rgb


def _rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    return (_YY >= y0) & (_YY < y1) & (_XX >= x0) & (_XX < x1)


def _disc(cy: float, cx: float, r: float) -> np.ndarray:
    return (_YY - cy) ** 2 + (_XX - cx) ** 2 <= r * r


def _sky(img: np.ndarray) -> None:
    t = (_YY[:HORIZON] / HORIZON)[..., None]
    top, bottom = np.array([70, 120, 200]), np.array([190, 215, 240])
    img[:HORIZON] = np.round(top + (bottom - top) * t).astype(np.uint8)


def _buildings(img: np.ndarray) -> None:
    # (x0, x1, top row, colour)
    specs = [
        (0, 70, 40, (120, 110, 100)), (70, 130, 80, (150, 140, 125)),
        (130, 200, 25, (95, 100, 110)), (200, 235, 95, (170, 160, 150)),
        (280, 330, 70, (130, 120, 115)), (330, 410, 30, (105, 110, 120)),
        (410, 460, 85, (160, 145, 130)), (460, 512, 55, (115, 105, 100)),
    ]
    for x0, x1, top, colour in specs:
        _fill(img, _rect(top, HORIZON, x0, x1), colour)
        win = (((_YY - top - 8) % 16) < 8) & (((_XX - x0 - 6) % 14) < 7)
        inner = _rect(top + 6, HORIZON - 12, x0 + 5, x1 - 5)
        _fill(img, win & inner, (60, 70, 90))


def _trees(img: np.ndarray) -> None:
    for cx in (245, 268, 480):
        _fill(img, _rect(118, HORIZON + 5, cx - 3, cx + 3), (90, 65, 40))
        _fill(img, _disc(105, cx, 18), (50, 110, 45))
        _fill(img, _disc(98, cx - 6, 10), (70, 135, 60))


def _road(img: np.ndarray) -> None:
    _fill(img, _YY >= HORIZON, (175, 170, 165))  # sidewalk
    depth = np.maximum(_YY - HORIZON, 0) / (HEIGHT - HORIZON)  # 0 at horizon, 1 at bottom
    half = 20 + 300 * depth  # road half width in pixels
    road = (_YY >= HORIZON + 2) & (np.abs(_XX - VANISH_X) <= half)
    _fill(img, road, (80, 80, 85))
    for lane in (-1 / 3, 1 / 3):
        centre = VANISH_X + lane * half
        width = 0.5 + 3.0 * depth
        dash = ((np.sqrt(np.maximum(depth, 0)) * 12.0) % 1.0) < 0.55
        _fill(img, road & (np.abs(_XX - centre) <= width) & dash, (235, 235, 225))
    edge = road & (np.abs(np.abs(_XX - VANISH_X) - half) <= 1 + 2 * depth)
    _fill(img, edge, (230, 230, 230))


def _car(img: np.ndarray) -> None:
    x0, x1, y0, y1 = 300, 420, 190, 228
    _fill(img, _rect(y0, y1, x0, x1), (170, 30, 35))
    rise = y0 - _YY  # rows above the body: the cabin narrows towards the roof
    cabin = (_YY >= 165) & (rise > 0) & (_XX >= x0 + 25 + rise) & (_XX < x1 - 25 - rise // 2)
    _fill(img, cabin, (150, 25, 30))
    window = cabin & _rect(170, y0 - 3, 0, WIDTH) & (np.abs(_XX - (x0 + x1) // 2) > 3)
    _fill(img, window, (140, 170, 195))
    for cx in (x0 + 25, x1 - 25):
        _fill(img, _disc(y1, cx, 13), (25, 25, 25))
        _fill(img, _disc(y1, cx, 5), (150, 150, 150))
    _fill(img, _rect(y0 + 6, y0 + 14, x1 - 8, x1), (250, 220, 120))  # tail light


def draw_street() -> np.ndarray:
    """Return the scene as a (256, 512, 3) uint8 array."""
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    _sky(img)
    _buildings(img)
    _trees(img)
    _road(img)
    _car(img)
    return img


def main(argv: list[str] | None = None) -> Path:
    """Draw the scene and write it as an optimised PNG; returns the path written."""
    from PIL import Image

    default = Path(__file__).resolve().parent.parent / "data" / "street.png"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=default)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(draw_street(), mode="RGB").save(args.output, optimize=True)
    log.info("wrote %s (%d bytes)", args.output, args.output.stat().st_size)
    return args.output


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
