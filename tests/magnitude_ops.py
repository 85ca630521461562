"""Overflow cases of the linear-engine and vector ops, with independently computed counts.

Every builder takes ``fill``: the largest float64 result of the op's checked quantization
point, as a fraction of the activation range.  ``fill`` < 1 is a near-limit case (nothing
overflows; the output matches float); ``fill`` > 1 genuinely overflows, and
``EdgeCase.expected`` is the count of float64 values beyond the range, computed here from
the same quantized inputs without the code under test.  Inputs stay well clear (``MARGIN``)
of the range boundaries, so rounding cannot move a value across one.
"""

from __future__ import annotations

import math

import numpy as np
from magnitude import IMAGE_BYTES, EdgeCase
from progutil import Scratch

from edgemoe.isa import Flag, Instr, Op, PoolMode, pack_ksp
from edgemoe.layout import (
    bias_block_bytes,
    pack_tiled,
    queue_layout,
    weight_block_bytes,
)
from edgemoe.models.layers import upsample2x_bilinear

MARGIN = 1e-5  # relative to the range: far above every rounding and table error (~1e-7)


def beyond(ref: np.ndarray, act) -> int:
    """Float64 values outside act's range (AP_SAT_SYM: below -max); none near a boundary."""
    hi = act.max_value
    lo = -hi if act.overflow == "SAT_SYM" else act.min_value
    near = (np.abs(ref - hi) < MARGIN * hi) | (np.abs(ref - lo) < MARGIN * hi)
    assert not near.any(), "a test value lies on a range boundary: change the seed"
    return int(np.count_nonzero((ref > hi) | (ref < lo)))


def _spread(rng, act, shape, fill: float) -> np.ndarray:
    """Quantized act values of both signs whose largest magnitude is ``fill`` x range."""
    v = rng.uniform(0.2, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    v.flat[0] = 1.0
    return act.to_float(act.quantize(v * fill * act.max_value))


def _gelu(v: np.ndarray) -> np.ndarray:
    return 0.5 * v * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0)))


def _half_identity(fmt, n: int) -> np.ndarray:
    """Raw weights 0.5 * I (n x n): y = x / 2 exactly."""
    return fmt.quantize(0.5 * np.eye(n))


def _case(name, s, ins, out, ref, act, bound, why, fill) -> EdgeCase:
    expected = beyond(ref, act)
    assert (expected > 0) == (fill > 1), f"{name}: the case does not do what it says"
    return EdgeCase(f"{name}_{fill:g}x", s, ins, out, ref, bound, why, expected > 0, expected)


def linear_add(accel, rng, fill: float, flags: int = Flag.RESIDUAL, t: int = 4,
               n: int = 8) -> EdgeCase:
    """LINEAR y = x / 2 (within 0.45) then RESIDUAL add (y + r) or SCORE_ACC (dst += s * y,
    dst zero, s = fill / 0.45): the add or the score product reaches ``fill``."""
    f = accel.formats
    act = f.act
    s = Scratch(accel, size=IMAGE_BYTES)
    x = _spread(rng, act, (t, n), 0.9)                       # y = x / 2 within 0.45
    w = _half_identity(f.linear_weight, n)
    src = s.put_raw(act.quantize(x), act)
    wts = s.put_raw(pack_tiled(w, accel.linear_p_out, accel.linear_p_in), f.linear_weight)
    bias = s.put_raw(np.zeros(n, np.int64), f.bias)
    y = x / 2
    if flags & Flag.SCORE_ACC:
        score = fill / 0.45
        sc = s.put(np.full(t, act.quantize(score), np.int32))
        dst = s.put_raw(np.zeros(t * n, np.int64), act)
        ref = act.to_float(act.quantize(score)) * y
        res = dst
    else:
        r = _spread(rng, act, (t, n), fill - 0.45) * np.sign(y)  # pushes away from zero
        res = s.put_raw(act.quantize(r), act)
        dst, sc = s.alloc(act.storage_dtype.itemsize * t * n), 0
        ref = y + r
    ins = Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=n, src=src,
                     dst=dst, weights=wts, bias=bias, residual=res, scores=sc)
    kind = "score_acc" if flags & Flag.SCORE_ACC else "residual"
    return _case(f"linear_{kind}", s, [ins], dst, ref, act, 1e-8, "exact; one act rounding",
                 fill)


def conv_near(accel, rng, fill: float, residual: bool, h: int = 4, w: int = 5, ci: int = 3,
              co: int = 6) -> EdgeCase:
    """CONV 3x3 pad 1 (HWC act input) whose output (without residual) or output + residual
    (output within 0.5, the residual adding the rest) reaches ``fill``."""
    f = accel.formats
    act, cw = f.act, f.conv_weight
    s = Scratch(accel, size=IMAGE_BYTES)
    wq = cw.quantize(rng.uniform(-0.9, 0.9, (co, ci, 3, 3)) * cw.max_value)
    wf = cw.to_float(wq)
    x = rng.uniform(-1.0, 1.0, (h, w, ci))
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, co))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("hwc,oc->hwo", xp[ky:ky + h, kx:kx + w], wf[:, :, ky, kx])
    conv_fill = 0.5 if residual else fill
    x = act.to_float(act.quantize(x * conv_fill * act.max_value / np.abs(out).max()))
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    ref = np.zeros((h, w, co))
    for ky in range(3):
        for kx in range(3):
            ref += np.einsum("hwc,oc->hwo", xp[ky:ky + h, kx:kx + w], wf[:, :, ky, kx])
    src = s.put_raw(act.quantize(x), act)
    wts = s.put_raw(pack_tiled(wq.reshape(co, ci * 9), accel.linear_p_out, accel.linear_p_in),
                    cw)
    res = 0
    if residual:
        r = _spread(rng, act, ref.shape, fill - 0.5) * np.sign(ref)
        top = np.unravel_index(np.abs(ref).argmax(), ref.shape)  # the largest sum reaches fill
        r[top] = np.sign(ref[top]) * np.abs(r).max()
        res = s.put_raw(act.quantize(r), act)
        ref = ref + r
    dst = s.alloc(act.storage_dtype.itemsize * h * w * co)
    ins = Instr.make(Op.CONV, (Flag.RESIDUAL if residual else 0) | Flag.WFMT_CONV, in_h=h,
                     in_w=w, in_ch=ci, out_ch=co, kernel_stride_pad=pack_ksp(3, 1, 1), src=src,
                     dst=dst, weights=wts, bias=s.put_raw(np.zeros(co, np.int64), f.bias),
                     residual=res)
    return _case(f"conv{'_residual' * residual}", s, [ins], dst, ref.reshape(h * w, co), act,
                 1e-8, "exact products, one act rounding", fill)


def gate(accel, rng, fill: float, t: int = 5, d: int = 8, e: int = 4,
         top_k: int = 2) -> EdgeCase:
    """MOE_GATE whose router logits reach ``fill``; ``reference`` is the float logits."""
    f = accel.formats
    act, lw = f.act, f.linear_weight
    s = Scratch(accel, size=IMAGE_BYTES)
    wq = lw.quantize(rng.uniform(-0.9, 0.9, (e, d)) * lw.max_value)
    x = rng.uniform(-1.0, 1.0, (t, d))
    logits = x @ lw.to_float(wq).T
    x = act.to_float(act.quantize(x * fill * act.max_value / np.abs(logits).max()))
    ref = x @ lw.to_float(wq).T
    src = s.put_raw(act.quantize(x), act)
    wg = s.put_raw(pack_tiled(wq, accel.linear_p_out, accel.linear_p_in), lw)
    q = s.alloc(queue_layout(e, t)["total"])
    ins = Instr.make(Op.MOE_GATE, tokens=t, dim=d, experts=e, top_k=top_k, src=src, w_gate=wg,
                     queues=q, task_stride=weight_block_bytes(e, d, accel.linear_p_out,
                                                              accel.linear_p_in,
                                                              lw.storage_dtype.itemsize))
    return _case("moe_gate", s, [ins], 0, ref, act, 1e-4, "softmax tables ~2e-5", fill)


def experts(accel, rng, fill: float, point: str, t: int = 4, d: int = 8) -> EdgeCase:
    """MOE_EXPERTS with one busy expert (queue 0: every token, score 1) and an empty one.

    ``point="fc1"``: w1 = [I; I] * fill / 0.9 puts fc1's output at ``fill`` (w2 = 0, so
    nothing downstream moves).  ``point="add"``: fc1 = x / 2 within 0.3, GELU, fc2 = the
    two GELU halves summed / 2, and the residual brings the accumulate to ``fill``.
    """
    f = accel.formats
    act, lw, bf = f.act, f.linear_weight, f.bias
    po, pi = accel.linear_p_out, accel.linear_p_in
    e, h = 2, 2 * d
    s = Scratch(accel, size=IMAGE_BYTES)
    gain = fill / 0.9 if point == "fc1" else 0.5
    x = _spread(rng, act, (t, d), 0.9 if point == "fc1" else 0.6)
    w1 = lw.quantize(gain * np.vstack([np.eye(d), np.eye(d)]))
    w2 = lw.quantize((0.0 if point == "fc1" else 0.5) * np.hstack([np.eye(d), np.eye(d)]))
    hidden = x @ lw.to_float(w1).T
    y = _gelu(hidden) @ lw.to_float(w2).T
    r = np.zeros((t, d))
    if point == "add":
        r = _spread(rng, act, (t, d), fill - 0.3) * np.where(y >= 0, 1.0, -1.0)

    def blocks(w: np.ndarray, out_f: int, in_f: int) -> int:
        blk = weight_block_bytes(out_f, in_f, po, pi, lw.storage_dtype.itemsize)
        off = s.alloc(e * blk)
        p = pack_tiled(w, po, pi).astype(lw.storage_dtype).view(np.uint8)
        s.image[off:off + p.size] = p  # expert 1 stays zero (its queue is empty)
        return off

    def zero_bias(out_f: int) -> int:
        return s.alloc(e * bias_block_bytes(out_f, po, bf.storage_dtype.itemsize))

    lay = queue_layout(e, t)
    q = s.alloc(lay["total"])
    s.image[q:q + 8] = np.array([t, 0], np.uint32).view(np.uint8)
    idx = np.arange(t, dtype=np.int32).view(np.uint8)
    s.image[q + lay["index"]:q + lay["index"] + idx.size] = idx
    one = np.full(t, act.quantize(1.0), np.int32).view(np.uint8)
    s.image[q + lay["scores"]:q + lay["scores"] + one.size] = one
    src = s.put_raw(act.quantize(x), act)
    res = s.put_raw(act.quantize(r), act)
    dst = s.alloc(act.storage_dtype.itemsize * t * d)
    ins = Instr.make(Op.MOE_EXPERTS, Flag.RESIDUAL, tokens=t, dim=d, hidden=h, experts=e,
                     src=src, dst=dst, w1=blocks(w1, h, d), b1=zero_bias(h),
                     w2=blocks(w2, d, h), b2=zero_bias(d), queues=q,
                     scratch=s.alloc(act.storage_dtype.itemsize * t * h), residual=res)
    ref = hidden if point == "fc1" else y + r
    out = dst if point == "add" else 0
    return _case(f"moe_experts_{point}", s, [ins], out, ref, act, 1e-6,
                 "GELU 5.5e-5 abs against erf (numerics.gelu)", fill)


def add(accel, rng, fill: float, n: int = 37) -> EdgeCase:
    """ADD of two tensors within fill / 2 of the range, same signs: sums reach ``fill``."""
    act = accel.formats.act
    s = Scratch(accel, size=IMAGE_BYTES)
    a = _spread(rng, act, n, fill / 2)
    b = np.abs(_spread(rng, act, n, fill / 2)) * np.sign(a)
    dst = s.alloc(act.storage_dtype.itemsize * n)
    ins = Instr.make(Op.ADD, count=n, a=s.put_raw(act.quantize(a), act),
                     b=s.put_raw(act.quantize(b), act), dst=dst)
    return _case("add", s, [ins], dst, a + b, act, 1e-9, "exact", fill)


def op_cases(accel, seed: int = 5) -> list[EdgeCase]:
    """Near-limit (0.9x) and overflowing (1.3x) cases of every op above (POOL: its modes)."""
    rng = np.random.default_rng(seed)
    out = []
    for fill in (0.9, 1.3):
        out += [linear_add(accel, rng, fill), linear_add(accel, rng, fill, Flag.SCORE_ACC),
                conv_near(accel, rng, fill, False), conv_near(accel, rng, fill, True),
                gate(accel, rng, fill), experts(accel, rng, fill, "fc1"),
                experts(accel, rng, fill, "add"), add(accel, rng, fill)]
    pool_rng = np.random.default_rng(seed + 1)  # own stream: the cases above keep their inputs
    return out + [pool_avg(accel, pool_rng, 0.9), pool_avg(accel, pool_rng, 0.9, glob=True),
                  pool_scale(accel, pool_rng, 0.9), pool_scale(accel, pool_rng, 1.3)]


def _pool_windows(x: np.ndarray, k: int, s: int):
    """(output index, clipped k x k window) of a ceil-mode pool over an HWC map."""
    h, w, _ = x.shape
    for i in range(-(-(h - k) // s) + 1):
        for j in range(-(-(w - k) // s) + 1):
            yield (i, j), x[i * s:i * s + k, j * s:j * s + k]


def pool_avg(accel, rng, fill: float, glob: bool = False, h: int = 7, w: int = 6,
             c: int = 5) -> EdgeCase:
    """3x3/s2 windowed (or global) average of same-signed values within 2% of ``fill`` x
    range per channel: means reach ``fill``.  A mean of in-range values stays in range, so
    this op only overflows at a SAT_SYM format's most negative code (pool_avg_sat_sym)."""
    act = accel.formats.act
    sign = rng.choice([-1.0, 1.0], c)
    x = act.to_float(act.quantize(rng.uniform(0.98, 1.0, (h, w, c)) * sign * fill * act.max_value))
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(act.quantize(x), act)
    if glob:
        ref = x.mean(axis=(0, 1))[None]
        ins = Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.GLOBAL_AVG,
                         src=src, dst=s.alloc(act.storage_dtype.itemsize * c),
                         recip=round(2 ** (30 + (h * w - 1).bit_length()) / (h * w)))
    else:
        ref = np.zeros((-(-(h - 3) // 2) + 1, -(-(w - 3) // 2) + 1, c))
        for at, win in _pool_windows(x, 3, 2):
            ref[at] = win.mean(axis=(0, 1))  # a clipped window averages its own values
        ins = Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.AVG,
                         kernel_stride_pad=pack_ksp(3, 2, 0), src=src,
                         dst=s.alloc(act.storage_dtype.itemsize * ref.size))
    return _case(f"pool_{'global_' * glob}avg", s, [ins], ins.get("dst"), ref.reshape(-1, c),
                 act, 1e-8, "one rounding plus the 31-bit reciprocal's error: < 2 LSB", fill)


def pool_scale(accel, rng, fill: float, h: int = 3, w: int = 4, c: int = 6) -> EdgeCase:
    """eSE's channel scale x * min(gate, 1) with a negative gate (only the top is clipped)
    taking the largest product to ``fill`` x range."""
    act = accel.formats.act
    x = _spread(rng, act, (h * w, c), 0.65)
    gate = act.to_float(act.quantize(np.r_[-fill / 0.65, rng.uniform(-1.2, 1.5, c - 1)]))
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(act.quantize(x), act)
    dst = s.alloc(act.storage_dtype.itemsize * h * w * c)
    ins = Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.SCALE, src=src,
                     dst=dst, gate=s.put_raw(act.quantize(gate), act))
    return _case("pool_scale", s, [ins], dst, x * np.minimum(gate, 1.0), act, 1e-8,
                 "exact product, one act rounding", fill)


#: An activation format whose range stops at -max (its most negative code lies outside it).
SAT_SYM_ACT = "formats.act=ap_fixed<32,10,AP_TRN,AP_SAT_SYM>"


def upsample_sat_sym(accel, seed: int = 3) -> EdgeCase:
    """UPSAMPLE (act format :data:`SAT_SYM_ACT`) of an input holding a 2x2 block of the
    most negative code: outputs that only see that block saturate and count.  A weighted
    mean of in-range values cannot leave the range, so this is UPSAMPLE's only overflow."""
    act = accel.formats.act
    assert act.overflow == "SAT_SYM", "build the design with SAT_SYM_ACT"
    rng = np.random.default_rng(seed)
    x = act.quantize(rng.uniform(-0.5, 0.5, (3, 4, 2)) * act.max_value)
    x[:2, :2, 0] = act.raw_min
    h, w, c = x.shape
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(x, act)
    dst = s.alloc(act.storage_dtype.itemsize * 4 * h * w * c)
    ins = Instr.make(Op.UPSAMPLE, in_h=h, in_w=w, channels=c, src=src, dst=dst)
    xf = np.ldexp(x.astype(np.float64), -act.frac_bits)
    ref = upsample2x_bilinear(xf.transpose(2, 0, 1)).transpose(1, 2, 0)
    expected = int(np.count_nonzero(ref < -act.max_value))
    return EdgeCase("upsample_sat_sym", s, [ins], dst, ref, 1e-8, "one rounding", True,
                    expected)
