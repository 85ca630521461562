"""LINEAR with ``Flag.WFMT_Q4``: mixed int8/int4 rows, the steps of :mod:`edgemoe.numerics.int4`."""

from __future__ import annotations

import numpy as np

from ..isa import Err, Instr
from ..numerics import int4, int8
from ..numerics.int4 import unpack_split
from . import memory as mem
from .intmath import matmul_exact, shift_frac


def linear_mixed(image, ins: Instr, accel, x: np.ndarray, b: np.ndarray, b_fmt,
                 fault) -> tuple[np.ndarray, int, int]:
    """``x @ W.T + b`` of a mixed layer into act, in the original channel order.

    Args:
        image: Memory image.
        ins: The LINEAR instruction.
        accel: Design point.
        x: Act raw inputs (T, K).
        b: Raw biases in part-row order (N,).
        b_fmt: Bias format.
        fault: ``fault(code, message)`` exception factory (an index out of range).

    Returns:
        (raw act outputs (T, N) before the epilogue, clamped inputs + act overflows,
        bytes of the ``weights`` operand).
    """
    act = accel.formats.act
    g = ins.get
    n, k = g("out_features"), g("in_features")
    high, groups = unpack_split(g("q4_split"))
    po, pi = accel.linear_p_out, accel.linear_p_in
    nbytes = int4.weight_bytes(n, high, k, groups, po, pi)
    w8, u, e, z = int4.unpack_weights(image[g("weights"):g("weights") + nbytes], n, high, k,
                                      groups, po, pi)
    order = mem.read_u32(image, g("channel_index"), n)
    if n and (order.max() >= n or np.unique(order).size != n):
        raise fault(Err.BAD_QUEUE, f"channel_index is not a permutation of 0..{n - 1}")
    m = image[g("scales"):g("scales") + 4 * n].view("<i4").astype(np.int64)
    xq, clamped = int8.quantize_input(x, g("x_mul"), act)
    t = np.concatenate([matmul_exact(xq, w8), int4.low_sums(xq, u, e, z)], axis=1)
    dq = g("dq_shift")
    y_part, count = int8.dequantize(t, m, shift_frac(b, b_fmt.frac_bits, act.frac_bits + dq),
                                    dq, act)
    y = np.empty_like(y_part)
    y[:, order] = y_part
    return y, clamped + count, nbytes
