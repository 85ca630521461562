"""Synthetic street scenes: determinism, splits, and labels/depth agreeing with the geometry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgemoe.data import synthetic as syn

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def scenes():
    return [syn.scene("test", i) for i in range(12)]


def _ground_depth_by_hand(cam: syn.Camera) -> np.ndarray:
    """Z-depth of the ground plane on every row: similar triangles h / z = (row - horizon) / f."""
    rows = np.arange(syn.HEIGHT) + 0.5
    below = rows - cam.horizon_row
    z = np.full(syn.HEIGHT, np.inf)
    z[below > 0] = cam.height_m * cam.focal_px / below[below > 0]
    return z


def test_same_split_and_index_give_identical_arrays():
    a, b = syn.scene("val", 5), syn.scene("val", 5)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.depth, b.depth)
    assert a.camera == b.camera


def test_splits_and_indices_differ():
    images = [syn.scene("train", 0).image, syn.scene("val", 0).image,
              syn.scene("test", 0).image, syn.scene("test", 1).image]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not np.array_equal(images[i], images[j])


def test_shapes_types_and_ranges(scenes):
    for s in scenes:
        assert s.image.shape == (128, 256, 3) and s.image.dtype == np.uint8
        assert s.labels.shape == (128, 256) and s.labels.dtype == np.uint8
        assert s.depth.shape == (128, 256) and s.depth.dtype == np.float32
        assert s.labels.max() < len(syn.CLASSES)
        assert s.depth.min() > 0 and s.depth.max() <= syn.MAX_DEPTH_M
        assert s.pixels().shape == (3, 128, 256)
        assert np.array_equal(s.pixels()[:, 10, 20], s.image[10, 20])


def test_sky_is_at_max_depth_and_above_the_horizon(scenes):
    for s in scenes:
        sky = s.labels == syn.SKY
        assert sky.any()
        assert np.all(s.depth[sky] == syn.MAX_DEPTH_M)
        rows = np.nonzero(sky)[0] + 0.5
        assert rows.max() < s.camera.horizon_row


def test_road_and_sidewalk_depth_is_the_ground_plane(scenes):
    for s in scenes:
        want = np.minimum(_ground_depth_by_hand(s.camera), syn.MAX_DEPTH_M)
        for cls in (syn.ROAD, syn.SIDEWALK):
            r, _ = np.nonzero(s.labels == cls)
            assert r.size
            np.testing.assert_allclose(s.depth[s.labels == cls], want[r], rtol=1e-6)


def test_objects_stand_in_front_of_the_ground_they_hide(scenes):
    """A vehicle or person pixel is never behind the ground seen on the same row."""
    seen = 0
    for s in scenes:
        ground = _ground_depth_by_hand(s.camera)
        for cls in (syn.VEHICLE, syn.PERSON):
            r, c = np.nonzero(s.labels == cls)
            seen += r.size
            assert np.all(s.depth[r, c] <= np.minimum(ground[r], syn.MAX_DEPTH_M) * (1 + 1e-6))
    assert seen > 0


def test_building_facades_are_vertical_planes(scenes):
    """A facade parallel to the street has one depth per image column."""
    for s in scenes:
        mask = s.labels == syn.BUILDING
        for c in np.nonzero(mask.any(axis=0))[0]:
            d = s.depth[mask[:, c], c]
            assert d.max() - d.min() <= 1e-5 * d.max()


def test_every_class_occurs_and_scenes_vary(scenes):
    counts = np.bincount(np.concatenate([s.labels.ravel() for s in scenes]),
                         minlength=len(syn.CLASSES))
    assert np.all(counts > 0), dict(zip(syn.CLASSES, counts))
    brightness = [float(s.image.mean()) for s in scenes]
    assert max(brightness) - min(brightness) > 15  # lighting differs between scenes
    horizons = {round(s.camera.horizon_row) for s in scenes}
    assert len(horizons) > 3


def test_load_split_stacks_the_same_scenes():
    px, lab, dep = syn.load_split("test", 2)
    assert px.shape == (2, 3, 128, 256)
    assert np.array_equal(px[1], syn.scene("test", 1).pixels())
    assert np.array_equal(lab[0], syn.scene("test", 0).labels)
    assert np.array_equal(dep[1], syn.scene("test", 1).depth)


def test_bad_split_or_index_names_the_fix():
    with pytest.raises(ValueError, match="unknown split 'testing'.*train, val, test"):
        syn.scene("testing", 0)
    with pytest.raises(ValueError, match=r"outside split 'val' \(0..199\)"):
        syn.scene("val", 200)


def test_generator_imports_with_numpy_only():
    code = ("import sys, edgemoe.data.synthetic; "
            "bad = {'torch', 'matplotlib', 'PIL', 'jinja2'} & set(sys.modules); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
