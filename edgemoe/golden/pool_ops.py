"""POOL: max and average pooling (ceil mode), global average pooling and eSE's channel scale."""

from __future__ import annotations

import numpy as np

from ..isa import Instr, PoolMode, unpack_ksp
from ..numerics.mean import POOL_RECIP_BITS, clog2, mean_recip, window_recip_table
from . import memory as mem

__all__ = ["clog2", "op_pool", "pool_out", "pool_recip"]

#: GLOBAL_AVG's ``recip`` (imm) for a mean over ``positions`` values: numerics.mean.mean_recip.
pool_recip = mean_recip


def pool_out(size: int, kernel: int, stride: int) -> int:
    """Ceil-mode output size of an unpadded window (stride <= kernel <= size)."""
    return -(-(size - kernel) // stride) + 1


def _mean(total: np.ndarray, count: int, recip: int, act) -> tuple[np.ndarray, int]:
    """q(total * recip >> (POOL_RECIP_BITS + clog2(count))): one rounding, overflows counted."""
    prod = np.array([int(v) * recip for v in total], dtype=object)  # exact: < 2**79
    return act.from_raw_counted(prod, act.frac_bits + POOL_RECIP_BITS + clog2(count))


def op_pool(image, ins: Instr, accel, prof: dict) -> None:
    """POOL on an HWC activation map; see isa.PoolMode for the modes.

    ``prof["overflows"]`` counts the outputs that wrapped or saturated (AVG, GLOBAL_AVG and
    SCALE quantize; a maximum of stored values always fits).
    """
    act, g = accel.formats.act, ins.get
    h, w, c, mode = g("in_h"), g("in_w"), g("channels"), g("mode")
    x = mem.read(image, g("src"), h * w * c, act).reshape(h, w, c)
    overflows = 0
    if mode in (PoolMode.MAX, PoolMode.AVG):
        k, s, _ = unpack_ksp(g("kernel_stride_pad"))
        oh, ow = pool_out(h, k, s), pool_out(w, k, s)
        recips = window_recip_table()
        y = np.empty((oh, ow, c), np.int64)
        for i in range(oh):  # windows past the edge are clipped (ceil mode)
            for j in range(ow):
                win = x[i * s:i * s + k, j * s:j * s + k]
                if mode == PoolMode.MAX:
                    y[i, j] = win.max(axis=(0, 1))
                    continue
                n = win.shape[0] * win.shape[1]  # the clipped window's own count
                y[i, j], wrapped = _mean(win.sum(axis=(0, 1)), n, int(recips[n]), act)
                overflows += wrapped
    elif mode == PoolMode.GLOBAL_AVG:
        total = x.reshape(h * w, c).sum(axis=0)  # exact: |sum| < 2**47 for n <= 2**16
        y, overflows = _mean(total, h * w, g("recip"), act)
    else:  # SCALE: gate clipped at 1.0 (the upper half of eSE's hard sigmoid)
        gate = np.minimum(mem.read(image, g("gate"), c, act), 1 << act.frac_bits)
        y, overflows = act.from_raw_counted(x * gate[None, None, :], 2 * act.frac_bits)
    prof["overflows"] = overflows
    mem.write(image, g("dst"), y, act)
