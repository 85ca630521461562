"""scikit-learn's bundled digits (8x8, 16 grey levels) as accelerator pixels.

The split is the project's reference setup: ``train_test_split(test_size=0.3,
random_state=0, stratify=y)``.  A digit value v in 0..16 becomes the pixel byte
``min(16 v, 255)``, i.e. the value v/16 the float models see (16 saturates to 255/256).
No download: the data ship with scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DIGITS_CLASSES", "digits_pixels", "load_digits_split"]

DIGITS_CLASSES = 10


def digits_pixels(values: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, 1, 8, 8) of digit images with values 0..16."""
    v = np.asarray(values, np.float64).reshape(-1, 1, 8, 8)
    return np.clip(np.rint(v * 16.0), 0, 255).astype(np.uint8)


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train pixels, train labels, test pixels, test labels) of the reference split.

    Raises:
        ImportError: scikit-learn is missing (``pip install edgemoe[train]``).
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("the digits need scikit-learn: pip install 'edgemoe[train]'") from exc
    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.3,
                                              random_state=0, stratify=data.target)
    return digits_pixels(x_tr), y_tr.astype(np.int64), digits_pixels(x_te), y_te.astype(np.int64)
