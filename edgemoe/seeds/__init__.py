"""Offline algorithms that prepare models for the accelerator (host side, numpy/torch).

- :mod:`.kmeans`, :mod:`.a2ats`: query-aware vector-quantised keys (A2ATS) and top-k.
- :mod:`.quant`, :mod:`.salience`, :mod:`.precision_map`: MixLLM-style global mixed precision.
- :mod:`.turbo_vbi`, :mod:`.mrf`, :mod:`.pruning`: Turbo-VBI structured pruning and baselines.

None of these change an executor; they write files (codebooks, precision maps, pruned
weights) that the compiler can consume.
"""


def require_train_extra() -> None:
    """Raise a one-line error with the fix when torch or scikit-learn is missing.

    Raises:
        RuntimeError: ``edgemoe[train]`` is not installed.
    """
    import importlib.util

    missing = [m for m in ("torch", "sklearn") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"{' and '.join(missing)} not installed: this command needs the "
                           "train extra (pip install 'edgemoe[train]')")
