"""Input images: conversion to Edge-MoE's planar uint8 pixels and the shipped default image."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from edgemoe.models.errors import ImageError

if TYPE_CHECKING:
    from edgemoe.params import ModelConfig

__all__ = ["DEFAULT_IMAGE", "image_to_pixels", "load_default_image", "resize_image"]

DEFAULT_IMAGE = "street.png"
"""File name of the default input in ``edgemoe/data`` (256x512 RGB street scene)."""


def image_to_pixels(img: np.ndarray, layout: str | None = None) -> np.ndarray:
    """Convert an RGB image to the accelerator's planar pixel layout.

    Pixels are ``ap_ufixed<8,0>``: the byte value ``b`` stands for ``b / 256`` (not /255,
    no mean/std normalisation, as Edge-MoE); this function only fixes the layout.

    Args:
        img: uint8 (H, W, 3) interleaved, (H, W, 4) with alpha (dropped) or (3, H, W)
            planar.
        layout: ``"HWC"`` or ``"CHW"`` when the caller knows it (a 3-pixel-high image
            is otherwise ambiguous); None guesses from the shape.

    Returns:
        (3, H, W) uint8, C-contiguous.

    Raises:
        ImageError: Not uint8, not 3-D, empty, or the channel axis cannot be identified.
    """
    img = np.asarray(img)
    if layout not in (None, "HWC", "CHW"):
        raise ImageError(f"layout {layout!r} is not HWC or CHW")
    if img.dtype != np.uint8:
        raise ImageError(
            f"image dtype is {img.dtype}, expected uint8; convert floats in [0, 1] with "
            "(img * 255).round().astype(np.uint8)"
        )
    if img.ndim != 3:
        raise ImageError(f"image has shape {img.shape}, expected (H, W, 3) or (3, H, W)")
    if img.size == 0:
        raise ImageError(f"image has shape {img.shape}: it has no pixels")
    last_rgb = img.shape[2] in (3, 4) and layout != "CHW"
    first_rgb = img.shape[0] == 3 and layout != "HWC"
    if last_rgb and first_rgb:
        raise ImageError(
            f"image shape {img.shape} is ambiguous (3 on both ends): pass "
            "layout='HWC' or layout='CHW'"
        )
    if last_rgb:
        return np.ascontiguousarray(img[:, :, :3].transpose(2, 0, 1))
    if first_rgb:
        return np.ascontiguousarray(img)
    raise ImageError(f"image has shape {img.shape}: no axis of 3 (RGB) channels")


def resize_image(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize planar (3, H, W) uint8 pixels.

    Exact integer down-scaling uses area averaging (rounded half up); any other factor
    uses nearest neighbour with pixel-centre sampling.
    """
    c, h, w = pixels.shape
    if (h, w) == (height, width):
        return pixels.copy()
    if h % height == 0 and w % width == 0:
        fy, fx = h // height, w // width
        blocks = pixels.reshape(c, height, fy, width, fx).astype(np.uint32).sum(axis=(2, 4))
        n = fy * fx
        return ((blocks + n // 2) // n).astype(np.uint8)
    rows = (2 * np.arange(height) + 1) * h // (2 * height)
    cols = (2 * np.arange(width) + 1) * w // (2 * width)
    return np.ascontiguousarray(pixels[:, rows][:, :, cols])


def load_default_image(model: ModelConfig) -> np.ndarray:
    """The shipped street scene resized to ``model``'s input: (3, H, W) uint8 planar."""
    from PIL import Image  # lazy: edgemoe.host imports this package on boards

    ref = resources.files("edgemoe").joinpath("data").joinpath(DEFAULT_IMAGE)
    with ref.open("rb") as f, Image.open(f) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    pixels = resize_image(image_to_pixels(rgb), model.image_height, model.image_width)
    return match_channels(pixels, model.in_chans)


def match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Planar RGB pixels (3, H, W) as a model with ``channels`` inputs takes them: grey
    (the mean of R, G, B, rounded) for one channel, unchanged for three.

    Raises:
        ImageError: Any other channel count.
    """
    if pixels.shape[0] == channels:
        return pixels
    if channels == 1 and pixels.shape[0] == 3:
        return np.rint(pixels.astype(np.float64).mean(axis=0, keepdims=True)).astype(np.uint8)
    raise ImageError(f"cannot make {channels}-channel model input from a {pixels.shape[0]}-"
                     "channel image: pass planar uint8 pixels of the model's input shape")
