"""POOL: max pooling (ceil mode), global average pooling and eSE's channel scale."""

from __future__ import annotations

import numpy as np

from ..isa import Instr, PoolMode, unpack_ksp
from ..ops import POOL_RECIP_BITS
from . import memory as mem


def clog2(n: int) -> int:
    """Smallest e with 2**e >= n (n >= 1)."""
    return (int(n) - 1).bit_length()


def pool_recip(positions: int) -> int:
    """POOL GLOBAL_AVG's ``recip`` for a mean over ``positions`` values (fits in 31 bits)."""
    shift = POOL_RECIP_BITS + clog2(positions)
    return ((1 << shift) + positions // 2) // positions


def pool_out(size: int, kernel: int, stride: int) -> int:
    """Ceil-mode output size of an unpadded window (stride <= kernel <= size)."""
    return -(-(size - kernel) // stride) + 1


def op_pool(image, ins: Instr, accel, prof: dict) -> None:
    """POOL on an HWC activation map; see isa.PoolMode for the modes."""
    act, g = accel.formats.act, ins.get
    h, w, c, mode = g("in_h"), g("in_w"), g("channels"), g("mode")
    x = mem.read(image, g("src"), h * w * c, act).reshape(h, w, c)
    if mode == PoolMode.MAX:
        k, s, _ = unpack_ksp(g("kernel_stride_pad"))
        oh, ow = pool_out(h, k, s), pool_out(w, k, s)
        y = np.empty((oh, ow, c), np.int64)
        for i in range(oh):  # windows past the edge are clipped (ceil mode)
            for j in range(ow):
                y[i, j] = x[i * s:i * s + k, j * s:j * s + k].max(axis=(0, 1))
    elif mode == PoolMode.GLOBAL_AVG:
        n = h * w
        total = x.reshape(n, c).sum(axis=0)  # exact: |sum| < 2**47 for n <= 2**16
        prod = np.array([int(v) * g("recip") for v in total], dtype=object)
        y = act.from_raw(prod, act.frac_bits + POOL_RECIP_BITS + clog2(n))
    else:  # SCALE: gate clipped at 1.0 (the upper half of eSE's hard sigmoid)
        gate = np.minimum(mem.read(image, g("gate"), c, act), 1 << act.frac_bits)
        y = act.from_raw(x * gate[None, None, :], 2 * act.frac_bits)
    mem.write(image, g("dst"), y, act)
