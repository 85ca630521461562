"""ROMs and constants exported for code generation, and the benchmark entry point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgemoe.numerics import (
    exp_tables,
    numerics_constants,
    numerics_digest,
    numerics_tables,
    reciprocal_table,
    rsqrt_table,
)
from edgemoe.numerics.bench import bench_numerics

pytestmark = pytest.mark.unit


def test_tables_are_read_only_int64_of_the_documented_sizes() -> None:
    tables = numerics_tables()
    sizes = {name: t.size for name, t in tables.items()}
    assert sizes == {
        "EXP_T0": 256,
        "EXP_T1": 256,
        "EXP_T2": 256,
        "RECIP_TABLE": 65,
        "RSQRT_TABLE": 193,
        "GELU_DELTA_TABLE": 177,
        "POOL_WINDOW_RECIP": 10,
    }
    for name, t in tables.items():
        assert t.dtype == np.int64 and not t.flags.writeable, name
        # fit unsigned 31-bit ROM words; POOL's reciprocals keep 30 significant bits above
        # the window count's clog2, so they reach 2**31 - 1 (a signed 32-bit operand)
        top = (1 << 31) - 1 if name == "POOL_WINDOW_RECIP" else 1 << 30
        assert t.min() >= 0 and t.max() <= top, name
    consts = numerics_constants()
    assert all(isinstance(v, int) for v in consts.values())
    assert consts["GELU_TABLE_SIZE"] == 177 and consts["RECIP_TABLE_SIZE"] == 65


def test_table_entries_match_their_definitions_within_half_an_lsb() -> None:
    q = 2.0**30
    t0, t1, t2 = exp_tables()
    k = np.arange(256)
    for j, t in enumerate((t0, t1, t2)):
        assert np.abs(t - q * 2.0 ** (-k / 2.0 ** (8 * (j + 1)))).max() <= 0.5
    i = np.arange(65)
    assert np.abs(reciprocal_table() - q / (1 + i / 64)).max() <= 0.5
    j = np.arange(193)
    assert np.abs(rsqrt_table() - q / np.sqrt(1 + j / 64)).max() <= 0.5
    assert numerics_constants()["EXP_LOG2E_Q30"] == round(math.log2(math.e) * q)


def test_digest_is_stable_and_covers_the_tables() -> None:
    d = numerics_digest()
    assert len(d) == 16 and int(d, 16) >= 0
    assert numerics_digest() == d


def test_bench_reports_every_kernel() -> None:
    res = bench_numerics(n=3000)
    assert [name for name, _ in res] == ["exp_neg", "reciprocal", "rsqrt", "gelu", "softmax_row"]
    assert all(rate > 0 for _, rate in res)
