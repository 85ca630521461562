"""Throughput of the numerics kernels on random inputs (elements per second).

Run from the CLI (``edgemoe bench``) or directly: ``bench_numerics(n)``. Timings are
measured in one run and only meant for ratios; nothing asserts on them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from .exp import exp_neg
from .gelu_kernel import gelu
from .recip import reciprocal, rsqrt
from .softmax import softmax_row

log = logging.getLogger(__name__)

#: Default formats (Edge-MoE activations; layernorm variance and its rsqrt).
ACT = "ap_fixed<32,10>"
VAR = "ap_ufixed<48,16>"
RSQRT_OUT = "ap_ufixed<32,12>"
SOFTMAX_ROW = 129


def _time(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_numerics(n: int = 1_000_000, seed: int = 0) -> list[tuple[str, float]]:
    """Time each kernel on ``n`` random elements (best of 3) and report elements/second.

    Args:
        n: elements per kernel (softmax: rounded down to whole rows of 129 scores).
        seed: random seed of the inputs.

    Returns:
        List of ``(kernel name, elements per second)`` in a fixed order.
    """
    from edgemoe.params.fixed import FixedType

    act, var, rs_out = FixedType.parse(ACT), FixedType.parse(VAR), FixedType.parse(RSQRT_OUT)
    rng = np.random.default_rng(seed)
    neg = act.quantize(rng.uniform(-16.0, 0.0, n))
    pos = act.quantize(rng.uniform(2.0**-10, 256.0, n))
    wide = var.quantize(rng.uniform(1e-6, 1e4, n))
    x = act.quantize(rng.uniform(-8.0, 8.0, n))
    rows = max(n // SOFTMAX_ROW, 1)
    scores = act.quantize(rng.uniform(-20.0, 20.0, (rows, SOFTMAX_ROW)))
    cases: list[tuple[str, int, Callable[[], object]]] = [
        ("exp_neg", n, lambda: exp_neg(neg, act, act)),
        ("reciprocal", n, lambda: reciprocal(pos, act, act)),
        ("rsqrt", n, lambda: rsqrt(wide, var, rs_out)),
        ("gelu", n, lambda: gelu(x, act)),
        ("softmax_row", scores.size, lambda: softmax_row(scores, act)),
    ]
    results = []
    for name, count, fn in cases:
        rate = count / _time(fn)
        log.info("%-12s %12.3e elements/s", name, rate)
        results.append((name, rate))
    return results
