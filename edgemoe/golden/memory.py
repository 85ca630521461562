"""Typed little-endian views of a memory image (a writable uint8 numpy array)."""

from __future__ import annotations

import numpy as np

from ..layout import unpack_tiled


def read(image: np.ndarray, offset: int, count: int, fmt) -> np.ndarray:
    """``count`` raw values of FixedType ``fmt`` at ``offset`` as int64."""
    dt = np.dtype(fmt.storage_dtype).newbyteorder("<")
    return image[offset:offset + count * dt.itemsize].view(dt).astype(np.int64)


def write(image: np.ndarray, offset: int, raw: np.ndarray, fmt) -> None:
    """Store raw values (already in ``fmt``'s range) at ``offset``."""
    dt = np.dtype(fmt.storage_dtype).newbyteorder("<")
    flat = np.ascontiguousarray(raw, dtype=np.int64).reshape(-1)
    image[offset:offset + flat.size * dt.itemsize] = flat.astype(dt).view(np.uint8)


def read_u32(image: np.ndarray, offset: int, count: int) -> np.ndarray:
    """``count`` little-endian uint32 words as int64."""
    return image[offset:offset + 4 * count].view("<u4").astype(np.int64)


def write_u32(image: np.ndarray, offset: int, values) -> None:
    """Store uint32 words."""
    arr = np.asarray(values, dtype=np.int64).reshape(-1)
    image[offset:offset + 4 * arr.size] = (arr & 0xFFFFFFFF).astype("<u4").view(np.uint8)


def write_u64(image: np.ndarray, offset: int, values) -> None:
    """Store uint64 words."""
    arr = np.asarray(values, dtype=np.uint64).reshape(-1)
    image[offset:offset + 8 * arr.size] = arr.astype("<u8").view(np.uint8)


def read_matrix(image: np.ndarray, offset: int, out_f: int, in_f: int, fmt, accel) -> np.ndarray:
    """A tile-packed weight matrix as a dense int64 ``[out][in]`` array."""
    po, pi = accel.linear_p_out, accel.linear_p_in
    words = -(-out_f // po) * po * -(-in_f // pi) * pi
    return unpack_tiled(read(image, offset, words, fmt), out_f, in_f, po, pi)
