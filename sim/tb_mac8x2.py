"""cocotb bench of edgemoe_mac8x2 against edgemoe.numerics.int8.packed_products.

Every weight pair (a, b) at the extreme inputs, then ``MAC8X2_N`` random triples.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer

from edgemoe.numerics import int8


@cocotb.test()
async def packed_products_match(dut):
    rng = np.random.default_rng(1)
    v = np.arange(-128, 128)
    a, b = (g.reshape(-1) for g in np.meshgrid(v, v, indexing="ij"))
    pick = rng.choice(a.size, 2048, replace=False)  # a sample of pairs per extreme input
    n = int(os.environ.get("MAC8X2_N", "2000"))
    xs = np.concatenate([np.repeat([-128, 127], pick.size), rng.integers(-128, 128, n)])
    aa = np.concatenate([np.tile(a[pick], 2), rng.integers(-128, 128, n)])
    bb = np.concatenate([np.tile(b[pick], 2), rng.integers(-128, 128, n)])
    want_a, want_b = int8.packed_products(xs, aa, bb)
    assert np.array_equal(want_a, xs * aa) and np.array_equal(want_b, xs * bb)
    for i in range(xs.size):
        dut.x.value, dut.a.value, dut.b.value = int(xs[i]) & 0xFF, int(aa[i]) & 0xFF, int(bb[i]) & 0xFF
        await Timer(1, unit="ns")
        got = (dut.ax.value.to_signed(), dut.bx.value.to_signed())
        assert got == (int(want_a[i]), int(want_b[i])), (int(xs[i]), int(aa[i]), int(bb[i]), got)
