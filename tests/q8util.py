"""W8A8 LINEAR programs (Flag.WFMT_Q8) from float layers, and their float references.

Shared by the golden tests (against float, within a stated bound) and the C-sim and RTL
ones (byte-identical to golden).  Weights go through the compiler's ``quantize_q8``; the
float reference runs on the weights the device holds, so its error is the activation
quantization, the channel multiplier rounding and the act rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compiler.quantize import QuantReport, quantize_q8
from edgemoe.isa import Flag, Instr, Op, pack_linear_q8
from edgemoe.layout import pack_tiled
from edgemoe.numerics import int8

#: Relative L2 error of a W8A8 m3vit-micro backbone against float that the compiler tests
#: allow (tests/test_compiler_q8.py, test_compiler_q8_attn.py).
BACKBONE_REL_ERR_Q8 = 0.01


@dataclass
class Q8Case:
    """One W8A8 LINEAR in a scratch image."""

    scratch: Scratch
    ins: Instr
    dst: int
    t: int
    n: int
    ref: np.ndarray       # float reference (T, N)
    bound: np.ndarray     # per-element error bound of the device output (T, N)
    clamped: int          # inputs beyond the calibrated range (float64 count)


def q8_linear(accel, seed: int, t: int, n: int, k: int, flags: int = 0, x_range: float = 2.0,
              calib: float | None = None, w_gain: float = 1.0, image: int = 1 << 18) -> Q8Case:
    """A LINEAR of float x in +-``x_range`` calibrated for ``|x| <= calib`` (default x_range).

    Weights are N(0, w_gain / sqrt(k)), the bias N(0, 0.1).
    """
    rng = np.random.default_rng(seed)
    act, bias_fmt = accel.formats.act, accel.formats.bias
    s = Scratch(accel, size=image)
    calib = x_range if calib is None else calib
    x = rng.uniform(-x_range, x_range, (t, k))
    w = rng.normal(0.0, w_gain / np.sqrt(k), (n, k))
    b = rng.normal(0.0, 0.1, n)
    layer = quantize_q8("fc", w, b, calib, accel, QuantReport())
    x_raw = act.quantize(x)
    src = s.put_raw(x_raw, act)
    wts = s.put(pack_tiled(layer.codes, accel.linear_p_out, accel.linear_p_in).astype("i1"))
    po = accel.linear_p_out
    bias = s.put_raw(np.pad(layer.bias, (0, -n % po)), bias_fmt)
    scales = s.put(np.pad(layer.scales, (0, -n % po)).astype("<i4"))
    dst = s.put(np.full(t * n * act.storage_dtype.itemsize, 0xA5, np.uint8))  # garbage
    ins = Instr.make(Op.LINEAR, flags | Flag.WFMT_Q8, tokens=t, out_features=n,
                     in_features=k, src=src, dst=dst, weights=wts, bias=bias, scales=scales,
                     x_mul=layer.x_mul, q8_shift_codes=pack_linear_q8(layer.dq_shift))
    ref, bound, clamped = reference(act.to_float(x_raw), layer, bias_fmt, act)
    return Q8Case(s, ins, dst, t, n, ref, bound, clamped)


def reference(rows: np.ndarray, layer, bias_fmt, act) -> tuple[np.ndarray, np.ndarray, int]:
    """Float reference of a W8A8 layer on input ``rows`` (T, K) with the device's weights,
    its per-output error bound, and how many inputs lie beyond the calibrated range."""
    b_dev = bias_fmt.to_float(layer.bias)
    ref = rows @ layer.weight_deq.T + b_dev
    s_x = int8.input_scale(layer.x_mul)
    # input rounding (half a step per term), the multiplier's rounding (half of m's LSB,
    # relative), the floor of the aligned bias and the act rounding (one LSB each)
    m = np.maximum(layer.scales.astype(np.float64), 1.0)
    bound = (0.5 * s_x * np.abs(layer.weight_deq).sum(axis=1)[None, :]
             + np.abs(ref - b_dev) * (0.5 / m)[None, :]
             + 2.0 ** -(act.frac_bits + layer.dq_shift) + 2.0 ** -act.frac_bits)
    return ref, bound, int(np.count_nonzero(np.abs(rows / s_x) > int8.Q8_MAX + 0.5))


def output(case: Q8Case, image: np.ndarray, act) -> np.ndarray:
    """Device output of ``case`` in ``image`` as floats (T, N)."""
    dt = np.dtype(act.storage_dtype)
    raw = image[case.dst:case.dst + case.t * case.n * dt.itemsize].view(dt).astype(np.int64)
    return act.to_float(raw).reshape(case.t, case.n)


def q8_program(accel, seed: int, t: int = 5, d: int = 12, h: int = 20) -> tuple[Scratch, list]:
    """A small mixed-precision MLP block: W8A8 fc1 + GELU, a W16 LINEAR, W8A8 fc2 + residual.

    The second W8A8 layer reads the first one's output (through the W16 layer), so an
    executor that dequantizes wrongly fails on the chained values, not just one op.
    """
    rng = np.random.default_rng(seed)
    f = accel.formats
    act, po, pi = f.act, accel.linear_p_out, accel.linear_p_in
    isz = act.storage_dtype.itemsize
    s = Scratch(accel, size=1 << 18)
    x = act.quantize(rng.uniform(-2, 2, (t, d)))
    src = s.put_raw(x, act)
    a1, a2, a3 = (s.put(np.full(t * n * isz, 0x5A, np.uint8)) for n in (h, h, d))

    def q8(w_shape, flags, src_off, dst_off, absmax, **extra) -> Instr:
        n, k = w_shape
        layer = quantize_q8("fc", rng.normal(0, 1 / np.sqrt(k), w_shape), rng.normal(0, 0.1, n),
                            absmax, accel, QuantReport())
        return Instr.make(
            Op.LINEAR, flags | Flag.WFMT_Q8, tokens=t, out_features=n, in_features=k,
            src=src_off, dst=dst_off,
            weights=s.put(pack_tiled(layer.codes, po, pi).astype("i1")),
            bias=s.put_raw(np.pad(layer.bias, (0, -n % po)), f.bias),
            scales=s.put(np.pad(layer.scales, (0, -n % po)).astype("<i4")),
            x_mul=layer.x_mul, q8_shift_codes=pack_linear_q8(layer.dq_shift), **extra)

    w16 = f.linear_weight.quantize(rng.normal(0, 1 / np.sqrt(h), (h, h)))
    mid = Instr.make(Op.LINEAR, 0, tokens=t, out_features=h, in_features=h, src=a1, dst=a2,
                     weights=s.put_raw(pack_tiled(w16, po, pi), f.linear_weight),
                     bias=s.put_raw(np.zeros(-(-h // po) * po, np.int64), f.bias))
    res = s.put_raw(act.quantize(rng.uniform(-1, 1, (t, d))), act)
    prog = [q8((h, d), Flag.GELU, src, a1, 2.0), mid,
            q8((d, h), Flag.RESIDUAL, a2, a3, 3.0, residual=res)]
    return s, prog


def micro_calibration_images(model) -> list[np.ndarray]:
    """The compiler tests' calibration set: the default image and two seeded random ones."""
    from edgemoe.models import load_default_image

    rng = np.random.default_rng(0)
    return [load_default_image(model)] + [
        rng.integers(0, 256, (3, model.image_height, model.image_width), dtype=np.uint8)
        for _ in range(2)]
