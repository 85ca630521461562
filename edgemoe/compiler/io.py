"""Reading and writing a compiled program's tensors in a memory image (numpy only)."""

from __future__ import annotations

import numpy as np

from ..params.fixed import FixedType


def _fmt(spelling: str) -> FixedType:
    return FixedType.parse(spelling)


def write_pixels(image: np.ndarray, manifest: dict, pixels: np.ndarray) -> None:
    """Store a (C, H, W) uint8 image into the input region."""
    spec = manifest["inputs"]["pixels"]
    if tuple(pixels.shape) != tuple(spec["shape"]) or pixels.dtype != np.uint8:
        raise ValueError(f"input image must be uint8 of shape {tuple(spec['shape'])} (C, H, W), "
                         f"got {pixels.dtype} {tuple(pixels.shape)}: resize it with "
                         "edgemoe.models.resize_image or pass an image of the model's size")
    off = spec["offset"]
    image[off:off + pixels.size] = pixels.reshape(-1)


def read_tensor(image: np.ndarray, offset: int, shape, fmt: FixedType) -> np.ndarray:
    """Raw int64 values of a tensor stored at ``offset``."""
    count = int(np.prod(shape))
    dt = np.dtype(fmt.storage_dtype).newbyteorder("<")
    return image[offset:offset + count * dt.itemsize].view(dt).astype(np.int64).reshape(shape)


def read_output(image: np.ndarray, manifest: dict, task: str) -> np.ndarray:
    """A task's output as float64 (H, W, C)."""
    spec = manifest["outputs"][task]
    fmt = _fmt(spec["format"])
    return fmt.to_float(read_tensor(image, spec["offset"], spec["shape"], fmt))


def read_tokens(image: np.ndarray, manifest: dict, act_spelling: str) -> np.ndarray:
    """The backbone token tensor ``x`` as float64 (tokens, dim)."""
    taps = manifest["taps"]
    fmt = _fmt(act_spelling)
    return fmt.to_float(read_tensor(image, taps["x"], taps["x_shape"], fmt))


def prediction(output_hwc: np.ndarray, task: str) -> np.ndarray:
    """Segmentation map (argmax over channels) or depth map (channel 0); a backbone-only
    output (tokens, dim) has no decoded map and is returned as is."""
    if output_hwc.ndim == 2:
        return output_hwc
    if output_hwc.shape[-1] == 1 or task == "depth":
        return output_hwc[..., 0]
    return np.argmax(output_hwc, axis=-1)
