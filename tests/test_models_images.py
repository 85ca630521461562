"""Input pixels, resizing and the shipped default image."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
from PIL import Image

from edgemoe.models import ImageError, image_to_pixels, load_default_image, resize_image
from edgemoe.models.make_default_image import draw_street
from edgemoe.params import load_model

pytestmark = pytest.mark.unit


def test_image_to_pixels_layouts():
    hwc = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    px = image_to_pixels(hwc)
    assert px.shape == (3, 4, 5) and px.flags.c_contiguous
    assert px[1, 2, 3] == hwc[2, 3, 1]
    rgba = np.concatenate([hwc, np.full((4, 5, 1), 9, np.uint8)], axis=2)
    assert np.array_equal(image_to_pixels(rgba), px)
    assert np.array_equal(image_to_pixels(px), px)


@pytest.mark.parametrize(("img", "match"), [
    (np.zeros((4, 5, 3), np.float32), "uint8"),
    (np.zeros((4, 5), np.uint8), "shape"),
    (np.zeros((3, 5, 3), np.uint8), "ambiguous"),
    (np.zeros((5, 6, 7), np.uint8), "no axis"),
])
def test_image_to_pixels_errors(img, match):
    with pytest.raises(ImageError, match=match):
        image_to_pixels(img)


def test_resize_area_and_nearest():
    px = np.array([[[0, 1, 10, 20], [2, 3, 30, 41]]], dtype=np.uint8)  # (1, 2, 4)
    # 2x2 block means 1.5 -> 2 (half up) and 25.25 -> 25
    np.testing.assert_array_equal(resize_image(px, 1, 2), [[[2, 25]]])
    near = resize_image(px, 2, 3)  # 4 -> 3 columns: centres 0.67, 2.0, 3.33 -> 0, 2, 3
    np.testing.assert_array_equal(near, [[[0, 10, 20], [2, 30, 41]]])


def test_default_image_file_and_script_agree():
    ref = resources.files("edgemoe").joinpath("data").joinpath("street.png")
    data = ref.read_bytes()
    assert len(data) < 100_000
    with ref.open("rb") as f, Image.open(f) as im:
        assert im.size == (512, 256) and im.mode == "RGB"
        shipped = np.asarray(im)
    assert np.array_equal(shipped, draw_street())  # PNG is lossless: the script made it
    assert shipped.std() > 20 and len(np.unique(shipped.reshape(-1, 3), axis=0)) > 20


@pytest.mark.parametrize("name", ["m3vit-micro", "m3vit-tiny"])
def test_load_default_image(name):
    model = load_model(name)
    px = load_default_image(model)
    assert px.shape == (3, model.image_height, model.image_width) and px.dtype == np.uint8
    full = draw_street().transpose(2, 0, 1).astype(int)
    fy, fx = 256 // model.image_height, 512 // model.image_width
    # one output pixel = rounded mean of its fy x fx block
    blk = full[:, :fy, fx:2 * fx].reshape(3, -1).mean(axis=1)
    np.testing.assert_array_equal(px[:, 0, 1], np.floor(blk + 0.5).astype(np.uint8))
