"""Throughput of each integer numerics kernel (elements per second)."""

from __future__ import annotations

from ..numerics.bench import bench_numerics


def run(quick: bool = False) -> list[tuple[str, str]]:
    n = 200_000 if quick else 1_000_000
    return [(f"{name} elements/s", f"{rate:.3g}") for name, rate in bench_numerics(n)]
