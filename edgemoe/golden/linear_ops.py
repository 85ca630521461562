"""Ops that run on the unified linear engine: LINEAR, CONV, MOE_GATE, MOE_EXPERTS.

All share :func:`linear_core`: exact accumulation of ``x @ W.T`` started from the bias,
one quantization into the activation format, then the epilogue (GELU or ReLU).  Every
quantization into the activation format counts its overflows (``prof["overflows"]``,
defined in :mod:`edgemoe.layout`).
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..isa import Err, Flag, Instr, ksp_dq_shift, unpack_ksp, unpack_linear_q8, unpack_moe_q8
from ..layout import (
    bias_block_bytes,
    code_muls_offset,
    conv_out_size,
    moe_scales_offset,
    moe_tile_map_offset,
    queue_layout,
    tile_grid,
    tile_map_bytes,
    unpack_tile_map,
    weight_block_bytes,
)
from ..numerics import int8
from ..params.fixed import FixedType
from . import memory as mem
from .intmath import matmul_exact, shift_frac
from .linear_q4 import linear_mixed
from .moe_q4 import MixedExperts


class OpFault(Exception):
    """A data-dependent fault found while executing (becomes an error status)."""

    def __init__(self, code: Err, message: str):
        super().__init__(message)
        self.code = code


#: An int8 code in memory: WFMT_Q8 weights (the scale is per channel, beside the bias) and
#: the hidden rows of a W8A8 MOE_EXPERTS or dense MLP (numerics.int8.hidden_codes).
Q8_CODE = FixedType(8, 8)


def weight_format(accel, ins: Instr):
    """Weight FixedType selected by the instruction's flags."""
    f = accel.formats
    if ins.has(Flag.WFMT_Q8):
        return Q8_CODE
    if ins.has(Flag.WFMT_PATCH):
        return f.patch_weight
    if ins.has(Flag.WFMT_CONV):
        return f.conv_weight
    return f.linear_weight


def bias_format(accel, ins: Instr):
    """Bias FixedType selected by the instruction's flags."""
    return accel.formats.attn_bias if ins.has(Flag.BFMT_ATTN) else accel.formats.bias


def linear_core(x: np.ndarray, x_frac: int, w: np.ndarray, w_fmt, b: np.ndarray, b_fmt,
                act, gelu: bool = False, relu: bool = False) -> tuple[np.ndarray, int]:
    """Quantized ``act(x @ w.T + b)`` with one rounding per output.

    Returns:
        (raw outputs, how many wrapped or saturated at the output and GELU quantizations).
    """
    acc_frac = x_frac + w_fmt.frac_bits
    acc = matmul_exact(x, w) + shift_frac(b, b_fmt.frac_bits, acc_frac)[None, :]
    y, count = act.from_raw_counted(acc, acc_frac)
    if gelu:
        y, wrapped = numerics.gelu_counted(y, act)
        count += wrapped
    if relu:
        y = np.maximum(y, 0)
    return y, count


def linear_q8(x: np.ndarray, w: np.ndarray, b: np.ndarray, b_fmt, m: np.ndarray, x_mul: int,
              dq: int, act) -> tuple[np.ndarray, int]:
    """W8A8 ``x @ w.T + b`` into act before the epilogue (edgemoe.numerics.int8, steps 1-3).

    Returns:
        (raw act outputs, clamped inputs + act overflows).
    """
    xq, clamped = int8.quantize_input(x, x_mul, act)
    y, count = linear_q8_codes(xq, w, b, b_fmt, m, dq, act)
    return y, clamped + count


def linear_q8_codes(xq: np.ndarray, w: np.ndarray, b: np.ndarray, b_fmt, m: np.ndarray, dq: int,
                    act) -> tuple[np.ndarray, int]:
    """:func:`linear_q8` on inputs that are int8 codes already (steps 2-3): raw act outputs
    and the act overflows."""
    acc = matmul_exact(xq, w)
    return int8.dequantize(acc, m, shift_frac(b, b_fmt.frac_bits, act.frac_bits + dq), dq, act)


def skip_zero_tiles(image, off: int, w: np.ndarray, accel) -> np.ndarray:
    """WSKIP: ``w`` without the tiles the tile map at ``off`` marks all-zero (the engine
    never loads them).

    With a true map this changes nothing, which is the point: skipping is exact.
    """
    po, pi = accel.linear_p_out, accel.linear_p_in
    rows, cols = tile_grid(*w.shape, po, pi)
    zero = unpack_tile_map(image[off:off + tile_map_bytes(*w.shape, po, pi)], rows, cols)
    keep = np.repeat(np.repeat(~zero, po, axis=0), pi, axis=1)[:w.shape[0], :w.shape[1]]
    return np.where(keep, w, 0)


def add_counted(a: np.ndarray, b: np.ndarray, act, prof: dict) -> np.ndarray:
    """``a + b`` of raw act values stored into act; overflows go to ``prof``."""
    y, count = act.from_raw_counted(a + b, act.frac_bits)
    prof["overflows"] += count
    return y


def read_bias(image, off: int, n: int, fmt) -> np.ndarray:
    """Bias vector of ``n`` raw values."""
    return mem.read(image, off, n, fmt)


def op_linear(image, ins: Instr, accel, prof: dict) -> None:
    """LINEAR: see isa.OP_FIELDS for operands and isa.Flag for the options."""
    act = accel.formats.act
    g = ins.get
    t, n, k = g("tokens"), g("out_features"), g("in_features")
    if ins.has(Flag.DYN_COUNT):
        t = int(mem.read_u32(image, g("count"), 1)[0])
        if t > ins.get("tokens"):
            raise OpFault(Err.BAD_QUEUE, f"dynamic count {t} exceeds tokens={g('tokens')}")
    rows = ins.get("rows")
    idx = None
    if ins.flags & (Flag.GATHER | Flag.SCATTER):
        idx = mem.read(image, g("index"), t, _I32)
        if t and (idx.min() < 0 or idx.max() >= rows):
            raise OpFault(Err.BAD_QUEUE, f"index list has rows outside [0, {rows})")
    # W8A8 int8 code rows (isa.pack_linear_q8): src rows (a dense MLP's fc2), dst rows
    dq, codes_out, codes_in = unpack_linear_q8(g("q8_shift_codes"))
    if not ins.has(Flag.WFMT_Q8):
        codes_out, codes_in = False, False
    x_fmt = Q8_CODE if codes_in else act
    x = mem.read(image, g("src"), (rows if ins.has(Flag.GATHER) else t) * k, x_fmt).reshape(-1, k)
    if ins.has(Flag.GATHER):
        x = x[idx]
    w_fmt, b_fmt = weight_format(accel, ins), bias_format(accel, ins)
    mixed = ins.has(Flag.WFMT_Q4)  # its weights are read by linear_mixed
    w = None if mixed else mem.read_matrix(image, g("weights"), n, k, w_fmt, accel)
    if ins.has(Flag.WSKIP):
        w = skip_zero_tiles(image, g("tile_map"), w, accel)
    b = read_bias(image, g("bias"), n, b_fmt)
    accumulate = ins.has(Flag.SCORE_ACC) or ins.has(Flag.RESIDUAL)
    relu = ins.has(Flag.RELU)  # on the final value: after the residual / score combine
    if ins.has(Flag.WFMT_Q8) or mixed:
        if mixed:
            y, prof["overflows"], w_bytes = linear_mixed(image, ins, accel, x, b, b_fmt, OpFault)
        else:
            m = mem.read(image, g("scales"), n, _I32)
            if codes_in:  # fc1 made (and counted) them
                y, prof["overflows"] = linear_q8_codes(x, w, b, b_fmt, m, dq, act)
            else:
                y, prof["overflows"] = linear_q8(x, w, b, b_fmt, m, g("x_mul"), dq, act)
        if ins.has(Flag.GELU):
            y, wrapped = numerics.gelu_counted(y, act)
            prof["overflows"] += wrapped
        if relu and not accumulate:
            y = np.maximum(y, 0)
        # the channel multipliers, and with codes out the code multipliers after them
        prof["weight_bytes"] += code_muls_offset(n, accel.linear_p_out) * (1 + codes_out)
    else:
        y, prof["overflows"] = linear_core(x, act.frac_bits, w, w_fmt, b, b_fmt, act,
                                           ins.has(Flag.GELU), relu and not accumulate)
    if ins.has(Flag.SCORE_ACC):
        s = mem.read(image, g("scores"), t, _I32)  # int32 words holding raw act values
        y, wrapped = act.from_raw_counted(s[:, None] * y, 2 * act.frac_bits)
        prof["overflows"] += wrapped
    base_off = g("dst") if ins.has(Flag.SCORE_ACC) else g("residual")
    row_bytes = n * act.storage_dtype.itemsize
    if ins.has(Flag.SCATTER):
        # streaming order: row i reads its base row after rows < i were written, so
        # repeated indices accumulate exactly as the hardware does
        for i, r in enumerate(idx.tolist()):
            row = y[i]
            if accumulate:
                row = add_counted(mem.read(image, base_off + r * row_bytes, n, act), row, act,
                                  prof)
                row = np.maximum(row, 0) if relu else row
            mem.write(image, g("dst") + r * row_bytes, row, act)
    else:
        if accumulate:
            y = add_counted(mem.read(image, base_off, t * n, act).reshape(t, n), y, act, prof)
            y = np.maximum(y, 0) if relu else y
        if codes_out:  # column c coded with code_muls[c], the clamps counted here
            muls = mem.read(image, g("scales") + code_muls_offset(n, accel.linear_p_out), n, _I32)
            y, clamped = int8.hidden_codes(y, muls, act)
            prof["overflows"] += clamped
        mem.write(image, g("dst"), y, Q8_CODE if codes_out else act)
    prof["macs"] += t * n * k
    if mixed:  # int8 and int4 rows with their group parameters, then the bias
        prof["weight_bytes"] += w_bytes + bias_block_bytes(n, accel.linear_p_out,
                                                           b_fmt.storage_dtype.itemsize)
        return
    prof["weight_bytes"] += weight_block_bytes(n, k, accel.linear_p_out, accel.linear_p_in,
                                               w_fmt.storage_dtype.itemsize) \
        + bias_block_bytes(n, accel.linear_p_out, b_fmt.storage_dtype.itemsize)


def im2col(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """(C, H, W) -> (out_h*out_w, C*k*k) with columns ordered (c, ky, kx)."""
    c, h, w = x.shape
    oh, ow = conv_out_size(h, kernel, stride, pad), conv_out_size(w, kernel, stride, pad)
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((c, kernel, kernel, oh, ow), dtype=x.dtype)
    for ky in range(kernel):
        for kx in range(kernel):
            cols[:, ky, kx] = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
    return cols.reshape(c * kernel * kernel, oh * ow).T


def conv_accumulate(x: np.ndarray, wm: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """Exact conv accumulators (out_h*out_w, out_ch) of integer ``x`` (C, H, W).

    When every partial sum provably fits a float64 mantissa the conv runs as k*k shifted
    matmuls summed in float64 (no im2col buffer); otherwise through im2col and the
    limb-split exact matmul.
    """
    c, h, w = x.shape
    co = wm.shape[0]
    bound = wm.shape[1] * int(np.abs(x).max(initial=0)) * int(np.abs(wm).max(initial=0))
    if bound >= 1 << 53:
        return matmul_exact(im2col(x.astype(np.float64), kernel, stride, pad), wm)
    oh, ow = conv_out_size(h, kernel, stride, pad), conv_out_size(w, kernel, stride, pad)
    xp = np.pad(x.transpose(1, 2, 0).astype(np.float64), ((pad, pad), (pad, pad), (0, 0)))
    # (ky, kx, c, co), contiguous per tap so every product is a BLAS call
    wk = np.ascontiguousarray(wm.reshape(co, c, kernel, kernel).transpose(2, 3, 1, 0), np.float64)
    acc = np.zeros((oh * ow, co))
    for ky in range(kernel):
        for kx in range(kernel):
            tap = np.ascontiguousarray(xp[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride])
            acc += tap.reshape(oh * ow, c) @ wk[ky, kx]
    return acc.astype(np.int64)


def _tap_uses(n: int, kernel: int, stride: int, pad: int) -> np.ndarray:
    """How many (output position, tap) pairs of one conv axis read each of its n inputs."""
    o, k = np.meshgrid(np.arange(conv_out_size(n, kernel, stride, pad)), np.arange(kernel))
    i = (o * stride + k - pad).ravel()
    return np.bincount(i[(i >= 0) & (i < n)], minlength=n)


def conv_q8(x: np.ndarray, wm: np.ndarray, b: np.ndarray, b_fmt, m: np.ndarray, x_mul: int,
            dq: int, kernel: int, stride: int, pad: int, act) -> tuple[np.ndarray, int]:
    """W8A8 CONV (edgemoe.numerics.int8 on the im2col rows) into act before the epilogue.

    The input step is elementwise, so quantizing ``x`` before im2col gives the same codes;
    a clamped input counts once per im2col row it lands in, as the engine quantizes rows.

    Returns:
        (raw act outputs (out_h*out_w, out_ch), clamped im2col entries + act overflows).
    """
    xq, over = int8.input_codes(x, x_mul, act)
    _, h, w = x.shape
    uses = np.outer(_tap_uses(h, kernel, stride, pad), _tap_uses(w, kernel, stride, pad))
    clamped = int((over.sum(axis=0) * uses).sum())
    acc = conv_accumulate(xq, wm, kernel, stride, pad)
    y, count = int8.dequantize(acc, m, shift_frac(b, b_fmt.frac_bits, act.frac_bits + dq), dq, act)
    return y, clamped + count


def op_conv(image, ins: Instr, accel, prof: dict) -> None:
    """CONV lowered onto the linear engine (im2col rows x packed [out][in*k*k] weights)."""
    act, g = accel.formats.act, ins.get
    h, w, ci, co = g("in_h"), g("in_w"), g("in_ch"), g("out_ch")
    k, s, p = unpack_ksp(g("kernel_stride_pad"))
    if ins.has(Flag.PIXEL_INPUT):
        in_fmt = accel.formats.pixel
        x = mem.read(image, g("src"), ci * h * w, in_fmt).reshape(ci, h, w)
    else:
        in_fmt = act
        x = mem.read(image, g("src"), h * w * ci, act).reshape(h, w, ci).transpose(2, 0, 1)
    w_fmt, b_fmt = weight_format(accel, ins), bias_format(accel, ins)
    wm = mem.read_matrix(image, g("weights"), co, ci * k * k, w_fmt, accel)
    b = read_bias(image, g("bias"), co, b_fmt)
    if ins.has(Flag.WFMT_Q8):
        y, prof["overflows"] = conv_q8(x, wm, b, b_fmt, mem.read(image, g("scales"), co, _I32),
                                       g("x_mul"), ksp_dq_shift(g("kernel_stride_pad")), k, s, p,
                                       act)
        prof["weight_bytes"] += bias_block_bytes(co, accel.linear_p_out, 4)
    else:
        acc_frac = in_fmt.frac_bits + w_fmt.frac_bits
        acc = conv_accumulate(x, wm, k, s, p) + shift_frac(b, b_fmt.frac_bits, acc_frac)[None, :]
        y, prof["overflows"] = act.from_raw_counted(acc, acc_frac)
    if ins.has(Flag.RESIDUAL):  # accumulating pieces: ReLU applies to the sum
        y = add_counted(mem.read(image, g("residual"), y.size, act).reshape(y.shape), y, act,
                        prof)
    if ins.has(Flag.RELU):
        y = np.maximum(y, 0)
    mem.write(image, g("dst"), y, act)
    prof["macs"] += y.shape[0] * co * ci * k * k
    prof["weight_bytes"] += weight_block_bytes(co, ci * k * k, accel.linear_p_out,
                                               accel.linear_p_in, w_fmt.storage_dtype.itemsize) \
        + bias_block_bytes(co, accel.linear_p_out, b_fmt.storage_dtype.itemsize)


def online_softmax(logits: np.ndarray, act, order: np.ndarray | None = None):
    """Single-pass softmax state over the last axis, visiting columns in ``order``.

    ``order`` (rows, n) gives, per row, the column visited at each step (default 0..n-1).
    Returns (bias, recip_sum), each shaped like ``logits[..., 0]``.
    """
    n = logits.shape[-1]
    bias, total = numerics.softmax_init(logits.shape[:-1], act)
    for step in range(n):
        s = logits[..., step] if order is None else np.take_along_axis(
            logits, order[..., step:step + 1], axis=-1)[..., 0]
        bias, total = numerics.softmax_update(bias, total, s, act)
    return bias, numerics.reciprocal(total, act, act)


def op_moe_gate(image, ins: Instr, accel, prof: dict, task: int) -> None:
    """MOE_GATE: router logits, softmax, top-k (ties -> lower index), expert queues."""
    act, lw, g = accel.formats.act, accel.formats.linear_weight, ins.get
    t, d, e, top_k = g("tokens"), g("dim"), g("experts"), g("top_k")
    x = mem.read(image, g("src"), t * d, act).reshape(t, d)
    w_off = g("w_gate") + task * g("task_stride")
    wg = mem.read_matrix(image, w_off, e, d, lw, accel)
    logits, prof["overflows"] = act.from_raw_counted(matmul_exact(x, wg),
                                                     act.frac_bits + lw.frac_bits)
    bias, recip = online_softmax(logits, act)
    # stable sort on -logit: equal logits keep ascending expert order (lower index wins)
    chosen = np.argsort(-logits, axis=1, kind="stable")[:, :top_k]
    chosen_logits = np.take_along_axis(logits, chosen, axis=1)
    scores, wrapped = numerics.softmax_probs_counted(chosen_logits, bias[:, None],
                                                     recip[:, None], act)
    prof["overflows"] += wrapped
    lay = queue_layout(e, t)
    q = g("queues")
    counts = np.zeros(e, np.int64)
    index = np.zeros((e, lay["slot"] // 4), np.int64)
    score_q = np.zeros((e, lay["slot"] // 4), np.int64)
    for tok in range(t):  # append in token order: the patch-reordering queues
        for j in range(top_k):
            ex = chosen[tok, j]
            index[ex, counts[ex]] = tok
            score_q[ex, counts[ex]] = scores[tok, j]
            counts[ex] += 1
    mem.write_u32(image, q, np.pad(counts, (0, lay["index"] // 4 - e)))
    mem.write_u32(image, q + lay["index"], index)
    mem.write_u32(image, q + lay["scores"], score_q)
    prof["macs"] += t * d * e
    prof["weight_bytes"] += weight_block_bytes(e, d, accel.linear_p_out, accel.linear_p_in,
                                               lw.storage_dtype.itemsize)


def op_moe_experts(image, ins: Instr, accel, prof: dict) -> None:
    """MOE_EXPERTS: per non-empty expert, fc1+GELU on its queue, fc2 score-scaled scatter-add.

    With ``Flag.WFMT_Q8`` both layers run in W8A8 (edgemoe.numerics.int8): int8 codes,
    fc1's input multiplier ``x_mul``, fc2's ``hidden_x_mul`` and one ``dq_shift`` (d4), each
    expert's channel multipliers after all experts' biases (layout.moe_scales_offset); the
    hidden rows in ``scratch`` are fc2's int8 input codes (int8.hidden_codes).
    With ``Flag.WSKIP`` each expert's fc1 and fc2 zero-tile maps sit there instead
    (layout.moe_tile_map_offset) and the tiles they mark are skipped (same bytes as dense).
    With ``Flag.WFMT_Q4`` each layer has int8 and int4 rows (edgemoe.golden.moe_q4).
    """
    f, g = accel.formats, ins.get
    act, bf = f.act, f.bias
    mixed = ins.has(Flag.WFMT_Q4)
    q8 = ins.has(Flag.WFMT_Q8) or mixed  # mixed: W8A8 with int4 rows too
    lw = Q8_CODE if q8 else f.linear_weight
    dq, hidden_x_mul = unpack_moe_q8(g("q8_shift_mul"))
    t, d, hdim, e = g("tokens"), g("dim"), g("hidden"), g("experts")
    po, pi = accel.linear_p_out, accel.linear_p_in
    lay = queue_layout(e, t)
    q = g("queues")
    counts = mem.read_u32(image, q, e)
    if (counts > t).any():
        raise OpFault(Err.BAD_QUEUE, f"expert queue length {int(counts.max())} > tokens={t}")
    if mixed:  # every queue, then the mixed layout, is checked before anything runs
        for ex in range(e):
            _expert_queue(image, q, lay, ex, int(counts[ex]), t)
        mix = MixedExperts(image, ins, accel, OpFault)
        hidden_x_mul = mix.hidden_x_mul  # d4 holds the layers' shapes: the word ends b1
    x = mem.read(image, g("src"), t * d, act).reshape(t, d)
    if ins.has(Flag.RESIDUAL):
        out = mem.read(image, g("residual"), t * d, act).reshape(t, d)
    else:
        out = np.zeros((t, d), np.int64)
    wb, bb = lw.storage_dtype.itemsize, bf.storage_dtype.itemsize
    w1_stride, w2_stride = weight_block_bytes(hdim, d, po, pi, wb), weight_block_bytes(d, hdim, po, pi, wb)
    if mixed:
        w1_stride, w2_stride = mix.w_stride
    b1_stride, b2_stride = bias_block_bytes(hdim, po, bb), bias_block_bytes(d, po, bb)
    skip = ins.has(Flag.WSKIP)
    s_bytes = bias_block_bytes(hdim, po, 4) + bias_block_bytes(d, po, 4) if q8 else 0
    if skip:  # each active expert's two maps are fetched beside its weights
        s_bytes = tile_map_bytes(hdim, d, po, pi) + tile_map_bytes(d, hdim, po, pi)
    # W8A8 (and mixed): the hidden rows are int8 codes (numerics.int8.hidden_codes)
    h_fmt = Q8_CODE if q8 else act
    scratch = mem.read(image, g("scratch"), t * hdim, h_fmt).reshape(t, hdim)
    for ex in range(e):
        c = int(counts[ex])
        if c == 0:
            continue
        idx = _expert_queue(image, q, lay, ex, c, t)
        sc = mem.read(image, q + lay["scores"] + ex * lay["slot"], c, _I32)
        b1 = mem.read(image, g("b1") + ex * b1_stride, hdim, bf)
        b2 = mem.read(image, g("b2") + ex * b2_stride, d, bf)
        if not mixed:
            w1 = mem.read_matrix(image, g("w1") + ex * w1_stride, hdim, d, lw, accel)
            w2 = mem.read_matrix(image, g("w2") + ex * w2_stride, d, hdim, lw, accel)
        if skip:
            w1 = skip_zero_tiles(image, moe_tile_map_offset(g("b1"), ex, e, hdim, d, po, pi, bb),
                                 w1, accel)
            w2 = skip_zero_tiles(image, moe_tile_map_offset(g("b2"), ex, e, d, hdim, po, pi, bb),
                                 w2, accel)
        if mixed:
            hidden, n1 = mix.layer(image, ex, False, x[idx], b1)
            hidden, wrapped = numerics.gelu_counted(hidden, act)
            n1 += wrapped
        elif q8:
            m1 = mem.read(image, moe_scales_offset(g("b1"), ex, e, hdim, po, bb), hdim, _I32)
            m2 = mem.read(image, moe_scales_offset(g("b2"), ex, e, d, po, bb), d, _I32)
            hidden, n1 = linear_q8(x[idx], w1, b1, bf, m1, g("x_mul"), dq, act)
            hidden, wrapped = numerics.gelu_counted(hidden, act)
            n1 += wrapped
        else:
            hidden, n1 = linear_core(x[idx], act.frac_bits, w1, lw, b1, bf, act, gelu=True)
        if q8:  # fc2's input codes, made and counted at fc1
            hidden, clamped = int8.hidden_codes(hidden, hidden_x_mul, act)
            n1 += clamped
        scratch[:c] = hidden
        if mixed:
            y, n2 = mix.layer(image, ex, True, hidden, b2)
        elif q8:
            y, n2 = linear_q8_codes(hidden, w2, b2, bf, m2, dq, act)
        else:
            y, n2 = linear_core(hidden, act.frac_bits, w2, lw, b2, bf, act)
        contrib, n3 = act.from_raw_counted(sc[:, None] * y, 2 * act.frac_bits)
        prof["overflows"] += n1 + n2 + n3
        out[idx] = add_counted(out[idx], contrib, act, prof)
        prof["macs"] += 2 * c * d * hdim
        prof["weight_bytes"] += w1_stride + b1_stride + w2_stride + b2_stride + s_bytes
        prof["experts_active"] += 1
    mem.write(image, g("scratch"), scratch, h_fmt)
    mem.write(image, g("dst"), out, act)


def _expert_queue(image, q: int, lay: dict, ex: int, c: int, t: int) -> np.ndarray:
    """Expert ``ex``'s ``c`` token indices (BAD_QUEUE unless distinct and below ``t``)."""
    idx = mem.read(image, q + lay["index"] + ex * lay["slot"], c, _I32)
    if c and (idx.min() < 0 or idx.max() >= t or len(np.unique(idx)) != c):
        raise OpFault(Err.BAD_QUEUE, f"expert {ex} queue has bad or repeated token indices")
    return idx


class _Int32:
    """Storage descriptor for int32 index lists (duck-types FixedType.storage_dtype)."""

    storage_dtype = np.dtype("<i4")


_I32 = _Int32()
