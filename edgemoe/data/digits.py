"""scikit-learn's bundled 8x8 digits with the project's fixed split (no download)."""

from __future__ import annotations

import numpy as np

#: Fraction of the samples in the test split, and the split's seed.
TEST_SIZE, SPLIT_SEED = 0.3, 0


def load_split() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): pixels / 16 in [0, 1], shape (N, 64), float64.

    Raises:
        ImportError: scikit-learn is missing (``pip install edgemoe[train]``).
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("the digits data set needs scikit-learn: pip install 'edgemoe[train]'") from exc
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x / 16.0, y, test_size=TEST_SIZE, random_state=SPLIT_SEED,
                                          stratify=y)
    return (xtr, ytr.astype(np.int64)), (xte, yte.astype(np.int64))
