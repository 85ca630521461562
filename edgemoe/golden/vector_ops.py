"""Ops outside the linear engine: LAYERNORM, ATTENTION, UPSAMPLE, ADD."""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..isa import Flag, Instr
from ..params.fixed import FixedType
from . import memory as mem
from .attn_q8 import op_attention_q8
from .attn_topk import op_attention_topk
from .intmath import floor_div, matmul_exact
from .linear_ops import online_softmax

#: Fraction bits of the squared terms in LAYERNORM's sum of squares (keeps it in 64 bits).
LN_SQ_FRAC = 16
#: Fraction bits of LAYERNORM's reciprocal standard deviation (ap_ufixed<32,12>).
LN_RSTD_FRAC = 20


def ln_types(act) -> tuple[FixedType, FixedType]:
    """(variance type, rstd type) used by LAYERNORM for activation format ``act``."""
    sq = min(act.frac_bits, LN_SQ_FRAC)
    return (FixedType(52, 52 - 2 * sq, signed=False),
            FixedType(32, 32 - LN_RSTD_FRAC, signed=False))


def layernorm_rows(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps_raw: int, act, norm):
    """Single-pass layernorm of int64 rows ``x`` (T, D); returns raw values in ``act``.

    sum = sum(x); sumsq = sum((x >> s)^2) with s = act.frac - 16; mean = floor(sum / D);
    var = max(floor(sumsq / D) - (mean >> s)^2, 0) + eps; rstd = rsqrt(var);
    y = q((x - mean) * rstd) * gamma, quantized, + beta.
    """
    return layernorm_rows_counted(x, gamma, beta, eps_raw, act, norm)[0]


def layernorm_rows_counted(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps_raw: int,
                           act, norm) -> tuple[np.ndarray, int]:
    """:func:`layernorm_rows` plus the values that wrapped or saturated at the normalized,
    scaled and output quantization points (profile ``overflows``)."""
    d = x.shape[1]
    var_t, rstd_t = ln_types(act)
    shift = act.frac_bits - min(act.frac_bits, LN_SQ_FRAC)
    xs = x >> shift
    mean = floor_div(x.sum(axis=1), d)
    ex2 = floor_div((xs * xs).sum(axis=1), d)
    ms = mean >> shift
    var = np.maximum(ex2 - ms * ms, 0) + eps_raw
    rstd = numerics.rsqrt(var, var_t, rstd_t)
    normed, n1 = act.from_raw_counted((x - mean[:, None]) * rstd[:, None],
                                      act.frac_bits + LN_RSTD_FRAC)
    y, n2 = act.from_raw_counted(normed * gamma[None, :], act.frac_bits + norm.frac_bits)
    out, n3 = act.from_raw_counted(y + act.from_raw(beta, norm.frac_bits)[None, :],
                                   act.frac_bits)
    return out, n1 + n2 + n3


def op_layernorm(image, ins: Instr, accel, prof: dict) -> None:
    """LAYERNORM over the last axis; ``eps`` (imm) is raw at 2*min(act.frac, 16) fraction bits."""
    act, norm, g = accel.formats.act, accel.formats.norm, ins.get
    t, d = g("tokens"), g("dim")
    x = mem.read(image, g("src"), t * d, act).reshape(t, d)
    gamma = mem.read(image, g("gamma"), d, norm)
    beta = mem.read(image, g("beta"), d, norm)
    y, prof["overflows"] = layernorm_rows_counted(x, gamma, beta, g("eps"), act, norm)
    mem.write(image, g("dst"), y, act)


def key_order(tokens: int, lanes: int) -> np.ndarray:
    """Key visiting order of the reordered attention schedule, one row per query.

    Query i runs on lane j = i mod p, which starts at key j and wraps around, so each
    cycle reads one Q beat and one K beat whatever p is.
    """
    start = np.arange(tokens) % lanes
    return (start[:, None] + np.arange(tokens)[None, :]) % tokens


def scaled_scores(dots: np.ndarray, scale: int, act: FixedType) -> tuple[np.ndarray, int]:
    """Attention scores ``q(dot * scale)``: the exact product, rounded once into ``act``.

    ``dots`` are the exact q.k sums (int64 at 2F fraction bits, the hardware's 64-bit
    accumulator) and ``scale`` a raw act value (F fraction bits), so the product has 3F
    fraction bits and up to 96 bits; it never passes through the activation format before
    the scale, so |q.k| may exceed the activation range as long as the scaled score fits.
    Error bound: one rounding of ``act`` (half an LSB for the RND modes, one LSB for TRN),
    exact while |q.k| < 2**(63 - 2F) (2**19 for ap_fixed<32,10>).

    Returns:
        (raw scores, how many wrapped or saturated).
    """
    f3 = 3 * act.frac_bits
    big = max(abs(int(dots.min(initial=0))), abs(int(dots.max(initial=0)))) * abs(int(scale))
    if big < 1 << 62:  # the int64 product is exact
        return act.from_raw_counted(dots * np.int64(scale), f3)
    return act.from_raw_counted(dots.astype(object) * int(scale), f3)  # exact Python ints


def op_attention(image, ins: Instr, accel, prof: dict) -> None:
    """ATTENTION per head: scores = q(q.k * scale) rounded once (:func:`scaled_scores`);
    single-pass softmax in the reordered key order; out = q(sum_j p_ij v_j) with
    p = exp(s - max) * recip(sum).  With ``Flag.ATTN_TOPK`` only each query's top-k keys by
    codebook score take part (:mod:`edgemoe.golden.attn_topk`); with ``Flag.WFMT_Q8`` q, k
    and v are int8 codes (:mod:`edgemoe.golden.attn_q8`)."""
    act, g = accel.formats.act, ins.get
    t, nh, hd = g("tokens"), g("heads"), g("head_dim")
    width = nh * hd
    if ins.has(Flag.WFMT_Q8):  # (its qkv rows may be int8 codes: it reads them itself)
        op_attention_q8(image, ins, accel, prof, key_order(t, accel.attn_lanes))
        return
    qkv = mem.read(image, g("qkv"), 3 * t * width, act).reshape(t, 3, nh, hd)
    if ins.has(Flag.ATTN_TOPK):
        op_attention_topk(image, ins, accel, prof, qkv, key_order(t, accel.attn_lanes))
        return
    f2 = 2 * act.frac_bits
    dots = np.stack([matmul_exact(qkv[:, 0, h], qkv[:, 1, h]) for h in range(nh)])
    s, prof["overflows"] = scaled_scores(dots, g("scale"), act)  # (heads, queries, keys)
    order = np.broadcast_to(key_order(t, accel.attn_lanes), s.shape)
    bias, recip = online_softmax(s, act, order)
    p = numerics.softmax_probs(s, bias[..., None], recip[..., None], act)
    out = np.empty((t, nh, hd), np.int64)
    for h in range(nh):
        out[:, h], wrapped = act.from_raw_counted(matmul_exact(p[h], qkv[:, 2, h].T.copy()), f2)
        prof["overflows"] += wrapped
    mem.write(image, g("dst"), out, act)
    prof["macs"] += 2 * nh * t * t * hd


def upsample2x(x: np.ndarray, act) -> tuple[np.ndarray, int]:
    """Bilinear x2 (align_corners=False) of HWC raw values: (9a + 3b + 3c + d) / 16.

    Returns (raw outputs, overflow count).  A weighted mean of in-range values stays in
    range, so only an input outside the format's own range (an AP_SAT_SYM format's most
    negative code) can count.
    """
    def taps(n):
        i = np.arange(2 * n) // 2
        near = i
        far = np.where(np.arange(2 * n) % 2 == 0, np.maximum(i - 1, 0), np.minimum(i + 1, n - 1))
        return near, far

    h, w = x.shape[:2]
    ny, fy = taps(h)
    nx, fx = taps(w)
    rows = 3 * x[ny] + x[fy]  # weights 3/4, 1/4 along y (scaled by 4)
    acc = 3 * rows[:, nx] + rows[:, fx]  # and along x: total scale 16
    return act.from_raw_counted(acc, act.frac_bits + 4)


def op_upsample(image, ins: Instr, accel, prof: dict) -> None:
    """UPSAMPLE x2 bilinear of an HWC tensor."""
    act, g = accel.formats.act, ins.get
    h, w, c = g("in_h"), g("in_w"), g("channels")
    x = mem.read(image, g("src"), h * w * c, act).reshape(h, w, c)
    y, prof["overflows"] = upsample2x(x, act)
    mem.write(image, g("dst"), y, act)


def op_add(image, ins: Instr, accel, prof: dict) -> None:
    """ADD (dst = a + b in the activation format) or COPY (dst = a)."""
    act, g = accel.formats.act, ins.get
    n = g("count")
    a = mem.read(image, g("a"), n, act)
    if not ins.has(Flag.COPY):
        a, prof["overflows"] = act.from_raw_counted(a + mem.read(image, g("b"), n, act),
                                                    act.frac_bits)
    mem.write(image, g("dst"), a, act)
