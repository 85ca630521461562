"""Seeded synthetic street scenes with per-pixel labels and metric depth (numpy only).

The data are synthetic: a pinhole camera at ``height_m`` above a flat ground plane looks
down a street. Road and sidewalks lie on the ground; building facades are vertical
planes parallel to the street; trees, vehicles and people are upright billboards standing
on the ground at a distance. Every surface is rendered with a z-buffer, so nearer objects
occlude farther ones, and the depth of a pixel is the z-depth (metres along the optical
axis) of the surface it shows; the sky is at :data:`MAX_DEPTH_M`. Colours, textures
(lane markings, paving, windows, foliage), lighting, haze and sensor noise vary per scene.

A scene is a pure function of its seed; :func:`scene` derives the seed from a split name
and an index, so the train, val and test splits are fixed and disjoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edgemoe.data.painting import Canvas, billboard_shapes, value_noise

__all__ = [
    "CLASSES",
    "HEIGHT",
    "MAX_DEPTH_M",
    "SPLITS",
    "WIDTH",
    "Camera",
    "Scene",
    "load_split",
    "make_scene",
    "scene",
    "split_size",
]

HEIGHT, WIDTH = 128, 256
"""Image size in pixels (M3ViT's Cityscapes input, 128x256)."""

CLASSES = ("sky", "road", "sidewalk", "building", "vegetation", "vehicle", "person")
"""Class names; a label is the index into this tuple."""
SKY, ROAD, SIDEWALK, BUILDING, VEGETATION, VEHICLE, PERSON = range(len(CLASSES))

MAX_DEPTH_M = 80.0
"""Depth of the sky and cap of every depth, in metres."""

SPLITS = {"train": (0x5EED_0001, 4000), "val": (0x5EED_0002, 200), "test": (0x5EED_0003, 200)}
"""Split name -> (seed stream, number of scenes). Scene i of a split uses seed [stream, i]."""


@dataclass(frozen=True)
class Camera:
    """Pinhole camera over the ground plane (y up, z forward, x right).

    Attributes:
        focal_px: Focal length in pixels.
        cx: Column of the principal point (pixel-centre coordinates).
        horizon_row: Row of the horizon (pixel-centre coordinates).
        height_m: Camera height above the ground in metres.
    """

    focal_px: float
    cx: float
    horizon_row: float
    height_m: float

    def ray_dirs(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-column x and per-row y slope of the viewing rays (y positive upwards)."""
        cols = np.arange(WIDTH) + 0.5
        rows = np.arange(HEIGHT) + 0.5
        return (cols - self.cx) / self.focal_px, (self.horizon_row - rows) / self.focal_px

    def ground_depth(self) -> np.ndarray:
        """(H,) z-depth of the ground seen on each row (inf at or above the horizon)."""
        _, ydir = self.ray_dirs()
        with np.errstate(divide="ignore"):
            return np.where(ydir < 0, self.height_m / -ydir, np.inf)

    def row_of_ground(self, z: float) -> float:
        """Image row (continuous) where the ground at depth ``z`` appears."""
        return self.horizon_row + self.focal_px * self.height_m / z


@dataclass(frozen=True)
class Scene:
    """One rendered scene.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        labels: (H, W) uint8 class indices into :data:`CLASSES`.
        depth: (H, W) float32 z-depth in metres, in (0, MAX_DEPTH_M].
        camera: The camera it was rendered with.
    """

    image: np.ndarray
    labels: np.ndarray
    depth: np.ndarray
    camera: Camera

    def pixels(self) -> np.ndarray:
        """The image as the accelerator's planar (3, H, W) uint8 pixels."""
        return np.ascontiguousarray(self.image.transpose(2, 0, 1))


def split_size(split: str) -> int:
    """Number of scenes in ``split`` (one of :data:`SPLITS`)."""
    return SPLITS[_check_split(split)][1]


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
    return split


def scene(split: str, index: int) -> Scene:
    """Scene ``index`` of ``split``: always the same arrays for the same arguments."""
    stream, size = SPLITS[_check_split(split)]
    if not 0 <= index < size:
        raise ValueError(f"scene index {index} is outside split '{split}' (0..{size - 1})")
    return make_scene([stream, index])


def iter_split(split: str, n: int | None = None) -> Iterator[Scene]:
    """The first ``n`` scenes (all when None) of ``split``, in order."""
    count = split_size(split) if n is None else min(n, split_size(split))
    for i in range(count):
        yield scene(split, i)


def load_split(split: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack the first ``n`` scenes of ``split``.

    Returns:
        (pixels (N, 3, H, W) uint8, labels (N, H, W) uint8, depth (N, H, W) float32).
    """
    scenes = list(iter_split(split, n))
    return (np.stack([s.pixels() for s in scenes]), np.stack([s.labels for s in scenes]),
            np.stack([s.depth for s in scenes]))


# ---------------------------------------------------------------------------- rendering
def make_scene(seed: int | list[int]) -> Scene:
    """Render the scene of ``seed`` (anything ``numpy.random.default_rng`` accepts)."""
    rng = np.random.default_rng(seed)
    cam = Camera(focal_px=float(rng.uniform(170.0, 240.0)),
                 cx=WIDTH / 2 + float(rng.uniform(-12.0, 12.0)),
                 horizon_row=HEIGHT * float(rng.uniform(0.36, 0.50)),
                 height_m=float(rng.uniform(1.3, 1.9)))
    sky_top = rng.uniform([40, 90, 160], [120, 170, 240])
    horizon_rgb = np.clip(sky_top + rng.uniform(40, 110), 0, 255)
    canvas = Canvas(HEIGHT, WIDTH, MAX_DEPTH_M)
    _paint_sky(canvas, cam, rng, sky_top, horizon_rgb)
    street = _paint_ground(canvas, cam, rng)
    for side in (-1.0, 1.0):
        _paint_facades(canvas, cam, rng, side * street["facade_x"])
    _paint_objects(canvas, cam, rng, street)
    image = _light(canvas, cam, rng, horizon_rgb)
    return Scene(image=image, labels=canvas.labels.astype(np.uint8),
                 depth=canvas.depth.astype(np.float32), camera=cam)


def _paint_sky(canvas: Canvas, cam: Camera, rng: np.random.Generator,
               top: np.ndarray, horizon: np.ndarray) -> None:
    _, ydir = cam.ray_dirs()
    t = np.clip(ydir / 0.6, 0.0, 1.0)[:, None, None]
    rgb = horizon * (1 - t) + top * t + np.zeros((1, WIDTH, 3))
    clouds = value_noise(rng, HEIGHT, WIDTH, 3, 8) ** 2 * rng.uniform(0.0, 0.8)
    rgb = rgb * (1 - clouds[..., None]) + 235.0 * clouds[..., None]
    canvas.fill_background(SKY, rgb)


def _paint_ground(canvas: Canvas, cam: Camera, rng: np.random.Generator) -> dict[str, float]:
    """Road, sidewalks and grass verges on the ground plane; returns the street geometry."""
    xdir, _ = cam.ray_dirs()
    z = cam.ground_depth()[:, None] + np.zeros((1, WIDTH))
    visible = np.isfinite(z)
    z = np.where(visible, z, 1e6)  # above the horizon: masked out, finite for the textures
    x = xdir[None, :] * z
    road_c = float(rng.uniform(-1.5, 1.5))
    road_half = float(rng.uniform(3.0, 7.0))
    walk = float(rng.uniform(1.8, 4.5))
    facade_x = road_half + walk + float(rng.uniform(0.0, 4.0))
    dx = np.abs(x - road_c)
    label = np.where(dx < road_half, ROAD, np.where(dx < road_half + walk, SIDEWALK, VEGETATION))
    grain = value_noise(rng, HEIGHT, WIDTH, 6, 24)[..., None]
    asphalt = rng.uniform(60, 120) + rng.uniform(-8, 8, 3)
    paving = rng.uniform(130, 200) + rng.uniform(-15, 15, 3)
    grass = np.array([rng.uniform(40, 90), rng.uniform(90, 150), rng.uniform(30, 70)])
    rgb = np.where((label == ROAD)[..., None], asphalt, np.where(
        (label == SIDEWALK)[..., None], paving, grass)) * (0.85 + 0.3 * grain)
    lanes = (np.abs(x - road_c) < 0.08) & (np.mod(z, 9.0) < 4.0) & (label == ROAD)
    kerb = (np.abs(dx - road_half) < 0.12) & (label == SIDEWALK)
    joints = (label == SIDEWALK) & ((np.mod(z, 1.2) < 0.06) | (np.mod(x, 1.2) < 0.06))
    rgb[lanes] = 225.0
    rgb[kerb] *= 1.25
    rgb[joints] *= 0.75
    canvas.paint(np.s_[:, :], visible, z, label, rgb)
    return {"road_c": road_c, "road_half": road_half, "walk": walk, "facade_x": facade_x}


def _paint_facades(canvas: Canvas, cam: Camera, rng: np.random.Generator, facade_x: float) -> None:
    """A row of buildings (and gaps) on the vertical plane x = facade_x."""
    if rng.random() < 0.15:  # an open side: the grass verge and the trees stay visible
        return
    xdir, ydir = cam.ray_dirs()
    with np.errstate(divide="ignore"):
        zcol = np.where(xdir * facade_x > 0, facade_x / xdir, np.inf)
    starts, ends, heights, colours = [], [], [], []
    z = float(rng.uniform(-5.0, 6.0))
    while z < MAX_DEPTH_M:
        length = float(rng.uniform(6.0, 22.0))
        starts.append(z)
        ends.append(z + length)
        heights.append(float(rng.uniform(5.0, 28.0)))
        colours.append(rng.uniform(60, 210, 3) * rng.uniform(0.6, 1.0, 3))
        z += length + (float(rng.uniform(2.0, 10.0)) if rng.random() < 0.3 else 0.0)
    starts_a, ends_a = np.array(starts), np.array(ends)
    k = np.clip(np.searchsorted(starts_a, zcol, side="right") - 1, 0, len(starts) - 1)
    inside = np.isfinite(zcol) & (zcol >= starts_a[k]) & (zcol < ends_a[k]) & (zcol < MAX_DEPTH_M)
    zz = np.where(inside, zcol, MAX_DEPTH_M)[None, :] + np.zeros((HEIGHT, 1))
    y = cam.height_m + ydir[:, None] * zz                       # height of the facade point
    mask = inside[None, :] & (y >= 0.0) & (y <= np.array(heights)[k][None, :])
    along = zz - starts_a[k][None, :]
    floor_h, bay = float(rng.uniform(2.8, 3.6)), float(rng.uniform(2.0, 3.5))
    windows = (np.mod(y, floor_h) > 0.9) & (np.mod(y, floor_h) < 2.3) & (y > floor_h) & (
        np.mod(along, bay) > 0.6) & (np.mod(along, bay) < bay - 0.6)
    rgb = np.array(colours)[k][None, :, :] * (0.9 + 0.2 * value_noise(rng, HEIGHT, WIDTH, 4, 16)[
        ..., None])
    glass = rng.uniform(30, 110, 3)
    rgb = np.where(windows[..., None], glass, rgb)
    canvas.paint(np.s_[:, :], mask, zz, BUILDING, rgb)


def _paint_objects(canvas: Canvas, cam: Camera, rng: np.random.Generator,
                   street: dict[str, float]) -> None:
    """Trees, vehicles and people as billboards, painted far to near."""
    rc, rh, walk = street["road_c"], street["road_half"], street["walk"]
    items: list[tuple[float, float, str]] = []  # (z, x, kind)
    for side in (-1.0, 1.0):
        for _ in range(int(rng.integers(0, 6))):
            items.append((float(rng.uniform(4.0, 70.0)), rc + side * (rh + walk - 0.6), "tree"))
        for _ in range(int(rng.integers(0, 4))):
            off = float(rng.uniform(rh + 0.3, rh + walk - 0.3))
            items.append((float(rng.uniform(3.0, 45.0)), rc + side * off, "person"))
        for _ in range(int(rng.integers(0, 3))):  # parked at the kerb
            items.append((float(rng.uniform(5.0, 60.0)), rc + side * (rh - 1.2), "vehicle"))
    for _ in range(int(rng.integers(0, 4))):  # driving in a lane
        lane = float(rng.choice([-1.0, 1.0])) * float(rng.uniform(1.5, max(1.6, rh - 2.2)))
        items.append((float(rng.uniform(6.0, 70.0)), rc + lane, "vehicle"))
    if rng.random() < 0.3:  # someone crossing the road
        items.append((float(rng.uniform(4.0, 25.0)), rc + float(rng.uniform(-rh, rh)), "person"))
    for z, x, kind in sorted(items, reverse=True):
        _paint_billboard(canvas, cam, rng, z, x, kind)


_SIZES = {"tree": ((2.5, 5.0), (4.0, 9.0)), "vehicle": ((1.7, 2.1), (1.4, 2.4)),
          "person": ((0.45, 0.65), (1.5, 1.95))}
"""Billboard kind -> ((width range), (height range)) in metres."""


def _paint_billboard(canvas: Canvas, cam: Camera, rng: np.random.Generator, z: float, x: float,
                     kind: str) -> None:
    (w_lo, w_hi), (h_lo, h_hi) = _SIZES[kind]
    w_m, h_m = float(rng.uniform(w_lo, w_hi)), float(rng.uniform(h_lo, h_hi))
    scale = cam.focal_px / z
    bottom = cam.row_of_ground(z)
    left = cam.cx + x * scale - 0.5 * w_m * scale
    r0, r1 = int(np.floor(bottom - h_m * scale)), int(np.ceil(bottom))
    c0, c1 = int(np.floor(left)), int(np.ceil(left + w_m * scale))
    r0c, r1c, c0c, c1c = max(r0, 0), min(r1, HEIGHT), max(c0, 0), min(c1, WIDTH)
    if r0c >= r1c or c0c >= c1c:
        return
    rows = np.arange(r0c, r1c) + 0.5
    cols = np.arange(c0c, c1c) + 0.5
    u = (cols[None, :] - left) / (w_m * scale)                # 0..1 across
    v = (bottom - rows[:, None]) / (h_m * scale)              # 0 at the ground, 1 at the top
    shapes = billboard_shapes(kind, u, v, rng)
    region = np.s_[r0c:r1c, c0c:c1c]
    for label_name, mask, rgb in shapes:
        label = CLASSES.index(label_name)
        canvas.paint(region, mask, np.full(mask.shape, z), label, rgb)


def _light(canvas: Canvas, cam: Camera, rng: np.random.Generator,
           horizon_rgb: np.ndarray) -> np.ndarray:
    """Global gain and tint, a vertical light falloff, distance haze, then sensor noise."""
    rgb = canvas.rgb * rng.uniform(0.55, 1.25) * rng.uniform(0.85, 1.15, 3)
    visibility = float(rng.uniform(60.0, 400.0))
    haze = (1.0 - np.exp(-canvas.depth / visibility))[..., None]
    rgb = rgb * (1 - haze) + horizon_rgb * haze
    shade = 1.0 - rng.uniform(0.0, 0.25) * (np.arange(HEIGHT) / HEIGHT)[:, None, None]
    rgb = rgb * shade + rng.normal(0.0, rng.uniform(1.0, 6.0), rgb.shape)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
