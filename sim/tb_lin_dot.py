"""cocotb bench of edgemoe_lin_dot (the linear MAC array) against exact integer dot products.

The lanes take their format extremes first (every input at its most negative value times
every weight at its most negative: the largest sum, which must not wrap; then mixed
signs), then ``LIN_DOT_N`` random vectors; the upper P_OUT sums must stay zero.  Then the
W8A8 mode (``q8``): each weight lane holds two int8 codes (byte 0: tile 2j, byte 1: tile
2j + 1) sharing one int8 input, at the int8 extremes and random.  The reference is Python
integer arithmetic.
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
    dut.q8.value = 0
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
            assert (word >> (64 * (po + o))) & ((1 << 64) - 1) == 0, ("upper sums", o)
    await pairs_exact(dut, pi, po, xb, wb, n, rng)


async def pairs_exact(dut, pi: int, po: int, xb: int, wb: int, n: int, rng) -> None:
    """W8A8: 2 P_OUT int8 dot products of P_IN terms through the packed multipliers."""
    q = 127
    cases = [(s * q, a * q, b * q) for s in (-1, 1) for a in (-1, 1) for b in (-1, 1)]
    vectors = [([sx] * pi, [[a] * pi] * po, [[b] * pi] * po) for sx, a, b in cases]
    vectors.append(([-q] * pi, [[0] * pi] * po, [[-q] * pi] * po))  # borrow with a = 0
    for _ in range(n):
        x = rng.integers(-q, q + 1, pi).tolist()
        lo = rng.integers(-q, q + 1, (po, pi)).tolist()
        hi = rng.integers(-q, q + 1, (po, pi)).tolist()
        vectors.append((x, lo, hi))
    dut.q8.value = 1
    for x, lo, hi in vectors:
        lanes = [(lo[o][i] & 0xFF) | ((hi[o][i] & 0xFF) << 8) for o in range(po) for i in range(pi)]
        dut.x.value = _pack(x, xb)
        dut.w.value = _pack(lanes, wb)
        await Timer(1, unit="ns")
        word = int(dut.dot.value)
        for tile, codes in ((0, lo), (1, hi)):
            for o in range(po):
                want = sum(a * b for a, b in zip(x, codes[o]))
                got = _signed((word >> (64 * (tile * po + o))) & ((1 << 64) - 1), 64)
                assert got == want, (tile, o, x, codes[o], got, want)
