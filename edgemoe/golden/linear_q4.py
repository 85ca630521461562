"""Mixed int8/int4 rows (``Flag.WFMT_Q4``), the steps of :mod:`edgemoe.numerics.int4`: one
LINEAR, or one expert layer of a MOE_EXPERTS (:mod:`edgemoe.golden.moe_q4`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..isa import Err, Instr, unpack_linear_q8
from ..numerics import int4, int8
from ..numerics.int4 import unpack_split
from . import memory as mem
from .intmath import matmul_exact, shift_frac


@dataclass(frozen=True)
class MixedRows:
    """Where one mixed matrix lives: ``n`` rows (``high`` int8, the rest int4) of ``k``
    inputs in ``groups`` groups; its weights, int32 multipliers and channel_index list."""

    n: int
    k: int
    high: int
    groups: int
    weights: int
    scales: int
    channel_index: int


def channel_order(image, rows: MixedRows, fault) -> np.ndarray:
    """The channel_index list; ``fault(Err.BAD_QUEUE, ...)`` unless a permutation."""
    order = mem.read_u32(image, rows.channel_index, rows.n)
    if rows.n and (order.max() >= rows.n or np.unique(order).size != rows.n):
        raise fault(Err.BAD_QUEUE, f"channel_index is not a permutation of 0..{rows.n - 1}")
    return order


def mixed_rows(image, rows: MixedRows, accel, x: np.ndarray, x_mul: int, dq: int,
               b: np.ndarray, b_fmt, fault) -> tuple[np.ndarray, int, int]:
    """``x @ W.T + b`` of mixed rows into act, in the original channel order.

    Args:
        image: Memory image.
        rows: The matrix's layout.
        accel: Design point.
        x: Act raw inputs (T, K).
        x_mul, dq: The input multiplier and the dequantization shift.
        b: Raw biases in part-row order (N,).
        b_fmt: Bias format.
        fault: ``fault(code, message)`` exception factory (an index out of range).

    Returns:
        (raw act outputs (T, N) before the epilogue, clamped inputs + act overflows,
        bytes of the weights).
    """
    xq, clamped = int8.quantize_input(x, x_mul, accel.formats.act)
    y, count, nbytes = mixed_row_codes(image, rows, accel, xq, dq, b, b_fmt, fault)
    return y, clamped + count, nbytes


def mixed_row_codes(image, rows: MixedRows, accel, xq: np.ndarray, dq: int, b: np.ndarray,
                    b_fmt, fault) -> tuple[np.ndarray, int, int]:
    """:func:`mixed_rows` on inputs that are int8 codes already (a W8A8 MOE_EXPERTS' fc2
    reads fc1's codes, edgemoe.numerics.int8.hidden_codes): act overflows only."""
    act = accel.formats.act
    n, k, po, pi = rows.n, rows.k, accel.linear_p_out, accel.linear_p_in
    nbytes = int4.weight_bytes(n, rows.high, k, rows.groups, po, pi)
    w8, u, e, z = int4.unpack_weights(image[rows.weights:rows.weights + nbytes], n, rows.high,
                                      k, rows.groups, po, pi)
    order = channel_order(image, rows, fault)
    m = image[rows.scales:rows.scales + 4 * n].view("<i4").astype(np.int64)
    t = np.concatenate([matmul_exact(xq, w8), int4.low_sums(xq, u, e, z)], axis=1)
    y_part, count = int8.dequantize(t, m, shift_frac(b, b_fmt.frac_bits, act.frac_bits + dq),
                                    dq, act)
    y = np.empty_like(y_part)
    y[:, order] = y_part
    return y, count, nbytes


def linear_mixed(image, ins: Instr, accel, x: np.ndarray, b: np.ndarray, b_fmt,
                 fault) -> tuple[np.ndarray, int, int]:
    """:func:`mixed_rows` of a LINEAR with ``Flag.WFMT_Q4`` (its fields give the layout)."""
    g = ins.get
    high, groups = unpack_split(g("q4_split"))
    rows = MixedRows(g("out_features"), g("in_features"), high, groups, g("weights"),
                     g("scales"), g("channel_index"))
    dq = unpack_linear_q8(g("q8_shift_codes"))[0]
    return mixed_rows(image, rows, accel, x, g("x_mul"), dq, b, b_fmt, fault)
