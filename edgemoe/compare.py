"""Byte comparison of memory images produced by different executors.

Executors must agree byte for byte on the whole image, except the profile ``cycles``
field, which holds each executor's own (modelled or measured) cycle count.
"""

from __future__ import annotations

import numpy as np

from .layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES, VOLATILE_PROFILE_FIELDS


def volatile_mask(size: int, status_offset: int, n_instructions: int) -> np.ndarray:
    """Boolean mask of the bytes excluded from comparison."""
    mask = np.zeros(size, dtype=bool)
    base = status_offset + STATUS_BYTES
    for name in VOLATILE_PROFILE_FIELDS:
        k = PROFILE_FIELDS.index(name)
        for i in range(n_instructions):
            start = base + i * PROFILE_ENTRY_BYTES + 8 * k
            mask[start:start + 8] = True
    return mask


def diff_images(a: np.ndarray, b: np.ndarray, manifest: dict) -> list[str]:
    """Human-readable differences between two images (empty when they agree).

    Reports, per manifest region, how many bytes differ and the first differing offset.
    """
    if a.size != b.size:
        return [f"image sizes differ: {a.size} vs {b.size} bytes"]
    n = manifest["program"]["n_instructions"]
    differ = (a != b) & ~volatile_mask(a.size, manifest["status"]["offset"], n)
    problems = []
    for name, (off, size) in manifest["regions"].items():
        bad = np.flatnonzero(differ[off:off + size])
        if bad.size:
            problems.append(f"region {name}: {bad.size} bytes differ, first at offset "
                            f"{off + int(bad[0])} (region +{int(bad[0])})")
    return problems


def assert_images_equal(a: np.ndarray, b: np.ndarray, manifest: dict, what: str = "") -> None:
    """Raise AssertionError listing the differing regions."""
    problems = diff_images(a, b, manifest)
    if problems:
        raise AssertionError(f"{what} images differ:\n" + "\n".join(problems))
