"""Mixed int4/int8 LINEAR programs (Flag.WFMT_Q4) from float layers, and their references.

Shared by the golden tests (against float, within a stated bound) and the C-sim ones
(byte-identical to golden).  Weights go through the compiler's ``quantize_mixed``; the
float reference runs on the weights the device holds, so its error is the activation
quantization, the channel multiplier rounding and the act rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compiler.mixed import MixedChoice, MixedLinear, quantize_mixed
from edgemoe.compiler.quantize import QuantReport
from edgemoe.isa import Flag, Instr, Op, pack_linear_q8
from edgemoe.numerics import int4, int8


@dataclass
class Q4Case:
    """One mixed LINEAR in a scratch image."""

    scratch: Scratch
    ins: Instr
    dst: int
    t: int
    n: int
    layer: MixedLinear
    x_raw: np.ndarray     # act raw inputs (T, K)
    w: np.ndarray         # the float weights before quantization (N, K)
    ref: np.ndarray       # float reference on the device's weights (T, N)
    bound: np.ndarray     # per-element error bound of the device output (T, N)


def mixed_linear(accel, seed: int, t: int, n: int, k: int, high: float = 0.1, group: int = 32,
                 flags: int = 0, x_range: float = 2.0, w_gain: float = 1.0,
                 image: int = 1 << 18) -> Q4Case:
    """A mixed LINEAR of float x in +-``x_range`` with ``round(high * n)`` random int8 rows.

    Weights are N(0, w_gain / sqrt(k)) with a per-row gain in [0.25, 4] (so rows differ
    in range as trained ones do), the bias N(0, 0.1).
    """
    rng = np.random.default_rng(seed)
    act, bias_fmt = accel.formats.act, accel.formats.bias
    s = Scratch(accel, size=image)
    x = rng.uniform(-x_range, x_range, (t, k))
    w = rng.normal(0.0, w_gain / np.sqrt(k), (n, k)) * rng.uniform(0.25, 4.0, (n, 1))
    b = rng.normal(0.0, 0.1, n)
    mask = np.zeros(n, bool)
    mask[rng.choice(n, round(high * n), replace=False)] = True
    layer = quantize_mixed("fc", w, b, MixedChoice(mask, group, x_range), accel,
                           QuantReport(), bias_fmt)
    po, pi = accel.linear_p_out, accel.linear_p_in
    x_raw = act.quantize(x)
    src = s.put_raw(x_raw, act)
    wts = s.put(np.frombuffer(int4.pack_weights(layer.high_codes, layer.low_codes, layer.e,
                                                layer.z, po, pi), np.uint8))
    bias = s.put_raw(np.pad(layer.bias, (0, -n % po)), bias_fmt)
    scales = s.put(np.pad(layer.scales, (0, -n % po)).astype("<i4"))
    index = s.put(layer.order.astype("<u4"))
    dst = s.put(np.full(t * n * act.storage_dtype.itemsize, 0xA5, np.uint8))  # garbage
    ins = Instr.make(Op.LINEAR, flags | Flag.WFMT_Q4, tokens=t, out_features=n, in_features=k,
                     src=src, dst=dst, weights=wts, bias=bias, scales=scales,
                     channel_index=index, x_mul=layer.x_mul, q8_shift_codes=pack_linear_q8(layer.dq_shift),
                     q4_split=int4.pack_split(len(layer.high_codes), layer.groups))
    xf = act.to_float(x_raw)
    b_dev = np.empty(n)
    b_dev[layer.order] = bias_fmt.to_float(layer.bias)
    ref = xf @ layer.weight_deq.T + b_dev
    s_x = int8.input_scale(layer.x_mul)
    m = np.empty(n)
    m[layer.order] = np.maximum(layer.scales.astype(np.float64), 1.0)
    # input rounding (half a step per term), the multiplier's rounding (half of m's LSB,
    # relative), the floor of the aligned bias and the act rounding (one LSB each)
    bound = (0.5 * s_x * np.abs(layer.weight_deq).sum(axis=1)[None, :]
             + np.abs(ref - b_dev) * (0.5 / m)[None, :]
             + 2.0 ** -(act.frac_bits + layer.dq_shift) + 2.0 ** -act.frac_bits)
    return Q4Case(s, ins, dst, t, n, layer, x_raw, w, ref, bound)


def output(case: Q4Case, image: np.ndarray, act) -> np.ndarray:
    """Device output of ``case`` in ``image`` as floats (T, N)."""
    dt = np.dtype(act.storage_dtype)
    raw = image[case.dst:case.dst + case.t * case.n * dt.itemsize].view(dt).astype(np.int64)
    return act.to_float(raw).reshape(case.t, case.n)


def clamped_chain(accel) -> tuple[Scratch, list[Instr]]:
    """Inputs past the calibrated range (x_mul doubled: clamps counted), then a W16 LINEAR
    reading the mixed layer's output (its weights preloaded while the mixed one runs)."""
    from edgemoe.layout import pack_tiled

    f = accel.formats
    case = mixed_linear(accel, 8, 4, 12, 24, 0.25, 8)
    s = case.scratch
    clamp = Instr.make(Op.LINEAR, case.ins.flags, **{**case.ins.named(),
                                                     "x_mul": 2 * case.ins.get("x_mul")})
    po, pi = accel.linear_p_out, accel.linear_p_in
    rng = np.random.default_rng(8)
    w16 = f.linear_weight.quantize(rng.normal(0, 0.3, (-(-6 // po) * po, -(-12 // pi) * pi)))
    nxt = Instr.make(Op.LINEAR, 0, tokens=4, out_features=6, in_features=12, src=case.dst,
                     dst=s.put(np.zeros(4 * 6 * 4, np.uint8)),
                     weights=s.put_raw(pack_tiled(w16[:6, :12], po, pi), f.linear_weight),
                     bias=s.put_raw(np.zeros(-(-6 // po) * po, np.int64), f.bias))
    return s, [clamp, nxt]
