"""Z-buffered canvas, smooth noise and billboard silhouettes for the synthetic scenes."""

from __future__ import annotations

import numpy as np

__all__ = ["Canvas", "billboard_shapes", "value_noise"]


def value_noise(rng: np.random.Generator, h: int, w: int, cells_h: int, cells_w: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a random (cells_h+1, cells_w+1) grid, bilinearly upsampled."""
    grid = rng.random((cells_h + 1, cells_w + 1))
    ys = np.linspace(0.0, cells_h, h, endpoint=False)
    xs = np.linspace(0.0, cells_w, w, endpoint=False)
    i, j = ys.astype(int), xs.astype(int)
    ty, tx = (ys - i)[:, None], (xs - j)[None, :]
    top = grid[i][:, j] * (1 - tx) + grid[i][:, j + 1] * tx
    bottom = grid[i + 1][:, j] * (1 - tx) + grid[i + 1][:, j + 1] * tx
    return top * (1 - ty) + bottom * ty


class Canvas:
    """RGB, label and depth buffers; a surface wins a pixel when it is not farther.

    Args:
        h: Height in pixels.
        w: Width in pixels.
        max_depth: Depth given to pixels no surface covers and cap of all depths.
    """

    def __init__(self, h: int, w: int, max_depth: float) -> None:
        self.max_depth = max_depth
        self.rgb = np.zeros((h, w, 3))
        self.labels = np.zeros((h, w), dtype=np.int64)
        self._z = np.full((h, w), np.inf)

    @property
    def depth(self) -> np.ndarray:
        """Z-depth per pixel, capped at ``max_depth``."""
        return np.minimum(self._z, self.max_depth)

    def fill_background(self, label: int, rgb: np.ndarray) -> None:
        """Set every pixel to ``label`` and ``rgb`` at infinite depth."""
        self.labels[:] = label
        self.rgb[:] = rgb

    def paint(self, region: tuple[slice, slice], mask: np.ndarray, z: np.ndarray,
              label: int | np.ndarray, rgb: np.ndarray) -> None:
        """Paint ``mask`` of ``region`` where ``z`` is not behind what is there.

        Args:
            region: 2-D slice of the canvas.
            mask: Boolean coverage, shape of the region.
            z: Depth per pixel of the region.
            label: Class index, scalar or per pixel.
            rgb: Colour, broadcastable to region + (3,).
        """
        zbuf = self._z[region]
        win = mask & (z <= zbuf)
        zbuf[win] = z[win]
        self.labels[region][win] = np.broadcast_to(label, mask.shape)[win]
        self.rgb[region][win] = np.broadcast_to(rgb, mask.shape + (3,))[win]


def _blotchy(rng: np.random.Generator, shape: tuple[int, ...], base: np.ndarray,
             amount: float) -> np.ndarray:
    """``base`` colour with multiplicative per-pixel and smooth noise of ``amount``."""
    h, w = shape
    smooth = value_noise(rng, h, w, 3, 3)
    grain = rng.random(shape)
    return base * (1.0 - amount + amount * (0.5 * smooth + 0.5 * grain))[..., None]


def billboard_shapes(kind: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator
                     ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Silhouette parts of an upright object, in painting order.

    Args:
        kind: ``tree``, ``vehicle`` or ``person``.
        u: (1, W) horizontal position across the billboard, 0..1 left to right.
        v: (H, 1) height above the ground as a fraction of the object height.
        rng: Colour and texture source.

    Returns:
        (class name, mask, rgb) per part; masks and colours have the region's shape.
    """
    u, v = np.broadcast_arrays(u, v)
    shape = u.shape
    if kind == "tree":
        wobble = 0.08 * (value_noise(rng, *shape, 2, 2) - 0.5)
        crown = ((u - 0.5) / 0.5) ** 2 + ((v - 0.68) / 0.32) ** 2 < 1.0 + wobble
        trunk = (np.abs(u - 0.5) < 0.07) & (v < 0.5)
        leaves = np.array([rng.uniform(20, 70), rng.uniform(70, 140), rng.uniform(15, 60)])
        return [("vegetation", trunk, rng.uniform(60, 100) * np.array([1.0, 0.75, 0.5])),
                ("vegetation", crown, _blotchy(rng, shape, leaves, 0.6))]
    if kind == "vehicle":
        paint = rng.uniform(20, 230, 3)
        narrowing = 0.42 - 0.18 * (v - 0.55) / 0.4
        body = (v < 0.56) & (v > 0.04) & (np.abs(u - 0.5) < 0.5)
        cabin = (v >= 0.5) & (v < 0.95) & (np.abs(u - 0.5) < narrowing)
        glass = (v >= 0.58) & (v < 0.9) & (np.abs(u - 0.5) < narrowing - 0.06)
        wheels = (v < 0.2) & ((np.abs(u - 0.18) < 0.1) | (np.abs(u - 0.82) < 0.1))
        lights = (v > 0.35) & (v < 0.45) & ((np.abs(u - 0.08) < 0.06) | (np.abs(u - 0.92) < 0.06))
        return [("vehicle", body | cabin, _blotchy(rng, shape, paint, 0.15)),
                ("vehicle", glass, rng.uniform(20, 70, 3)),
                ("vehicle", wheels, np.full(3, rng.uniform(10, 35))),
                ("vehicle", lights, np.array([200.0, 30.0, 20.0]))]
    if kind == "person":
        legs = (v < 0.48) & ((np.abs(u - 0.36) < 0.12) | (np.abs(u - 0.64) < 0.12))
        torso = (v >= 0.46) & (v < 0.83) & (np.abs(u - 0.5) < 0.38 - 0.1 * (0.83 - v))
        head = ((u - 0.5) / 0.2) ** 2 + ((v - 0.91) / 0.09) ** 2 < 1.0
        skin = rng.uniform(90, 230) * np.array([1.0, 0.8, 0.65])
        return [("person", legs, rng.uniform(20, 150, 3)),
                ("person", torso, _blotchy(rng, shape, rng.uniform(20, 240, 3), 0.2)),
                ("person", head, skin)]
    raise ValueError(f"unknown billboard kind '{kind}': use tree, vehicle or person")
