"""Ideal cycle counts of each instruction on the design point (no stalls, II=1).

The golden executor writes these into the profile's ``cycles`` field; real executors
write measured cycles there, which is why that field is excluded from byte comparisons.
"""

from __future__ import annotations

from ..isa import Instr, Op, unpack_ksp
from ..layout import ceil_div, conv_out_size

#: Multiply-accumulates per attention lane per cycle (the kernels' head-dim beat).
ATTN_MACS_PER_LANE = 8


def ideal_cycles(ins: Instr, accel, prof: dict) -> int:
    """Cycles at full engine utilisation (MACs / MACs per cycle for the linear engine)."""
    op, g = Op(ins.op), ins.get
    po, pi, lanes, vec = accel.linear_p_out, accel.linear_p_in, accel.attn_lanes, accel.vector_lanes
    if op == Op.LINEAR:
        return g("tokens") * ceil_div(g("out_features"), po) * ceil_div(g("in_features"), pi)
    if op == Op.CONV:
        k, s, p = unpack_ksp(g("kernel_stride_pad"))
        pixels = conv_out_size(g("in_h"), k, s, p) * conv_out_size(g("in_w"), k, s, p)
        return pixels * ceil_div(g("out_ch"), po) * ceil_div(g("in_ch") * k * k, pi)
    if op == Op.MOE_EXPERTS:
        per_token = 2 * ceil_div(g("hidden"), po) * ceil_div(g("dim"), pi)
        return prof["macs"] // max(1, 2 * g("hidden") * g("dim")) * per_token
    if op == Op.MOE_GATE:
        return g("tokens") * ceil_div(g("experts"), po) * ceil_div(g("dim"), pi)
    if op == Op.ATTENTION:
        t = g("tokens")
        # two passes (QK^T, AV) of ceil(T/p) query blocks x (T + p - 1) key steps, 8-element beats
        steps = ceil_div(t, lanes) * (t + lanes - 1)
        return 2 * g("heads") * steps * ceil_div(g("head_dim"), ATTN_MACS_PER_LANE)
    if op == Op.LAYERNORM:
        return 2 * g("tokens") * ceil_div(g("dim"), vec)
    if op == Op.UPSAMPLE:
        return 4 * g("in_h") * g("in_w") * ceil_div(g("channels"), vec)
    if op == Op.ADD:
        return ceil_div(g("count"), vec)
    return 1
