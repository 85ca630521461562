"""scikit-learn's bundled 8x8 digits as accelerator pixels, with the project's fixed split.

The digits hold 0..16 per pixel; the accelerator's pixel format is a byte read as
``byte / 256`` (edgemoe.models.m3vit.PIXEL_SCALE), so a pixel is ``min(16 * value, 255)``:
float models train on exactly the values the accelerator sees.  Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

#: Fraction of the samples in the test split, and the split's seed.
TEST_SIZE, SPLIT_SEED = 0.3, 0


def load_split() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((pixels_train, y_train), (pixels_test, y_test)): uint8 pixels of shape (N, 64).

    The split is ``train_test_split(test_size=0.3, random_state=0, stratify=y)``.

    Raises:
        ImportError: scikit-learn is missing (``pip install 'edgemoe[train]'``).
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("the digits data set needs scikit-learn: "
                          "pip install 'edgemoe[train]'") from exc
    x, y = load_digits(return_X_y=True)
    pixels = np.minimum(x * 16, 255).astype(np.uint8)
    ptr, pte, ytr, yte = train_test_split(pixels, y, test_size=TEST_SIZE,
                                          random_state=SPLIT_SEED, stratify=y)
    return (ptr, ytr.astype(np.int64)), (pte, yte.astype(np.int64))
