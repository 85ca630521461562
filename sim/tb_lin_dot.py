"""cocotb bench of edgemoe_lin_dot (the linear MAC array) against exact integer dot products.

The lanes take their format extremes first (every input at its most negative value times
every weight at its most negative: the largest sum, which must not wrap; then mixed
signs), then ``LIN_DOT_N`` random vectors.  The reference is Python integer arithmetic.
Environment: LIN_DOT_P_IN, LIN_DOT_P_OUT, LIN_DOT_XBITS, LIN_DOT_WBITS (the design's).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer


def _pack(values, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def _signed(word: int, bits: int) -> int:
    return word - (1 << bits) if word >> (bits - 1) else word


@cocotb.test()
async def dot_products_exact(dut):
    env = os.environ
    pi, po = int(env["LIN_DOT_P_IN"]), int(env["LIN_DOT_P_OUT"])
    xb, wb = int(env["LIN_DOT_XBITS"]), int(env["LIN_DOT_WBITS"])
    n = int(env.get("LIN_DOT_N", "300"))
    rng = np.random.default_rng(5)
    xlo, xhi, wlo, whi = -(1 << (xb - 1)), (1 << (xb - 1)) - 1, -(1 << (wb - 1)), (1 << (wb - 1)) - 1
    vectors = [([xlo] * pi, [[wlo] * pi] * po), ([xhi] * pi, [[wlo] * pi] * po),
               ([xlo] * pi, [[whi] * pi] * po), ([xhi] * pi, [[whi] * pi] * po),
               ([xlo if i % 2 else xhi for i in range(pi)], [[wlo] * pi, [whi] * pi] * po)]
    for _ in range(n):
        x = [int(v) for v in rng.integers(xlo, xhi + 1, pi, dtype=np.int64)]
        w = [[int(v) for v in rng.integers(wlo, whi + 1, pi, dtype=np.int64)] for _ in range(po)]
        vectors.append((x, w))
    for x, w in vectors:
        w = list(w)[:po]
        dut.x.value = _pack(x, xb)
        dut.w.value = _pack([v for row in w for v in row], wb)
        await Timer(1, unit="ns")
        word = int(dut.dot.value)
        for o in range(po):
            want = sum(a * b for a, b in zip(x, w[o]))
            got = _signed((word >> (64 * o)) & ((1 << 64) - 1), 64)
            assert got == want, (o, x, w[o], got, want)
