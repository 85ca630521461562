"""W8A8 CONV cases (Flag.WFMT_Q8 on CONV) from float convs, and their float references.

Shared by the golden tests (against float, within a stated bound) and the C-sim test
(byte-identical to golden).  Weights go through the compiler's ``quantize_q8`` on the
[out][in*k*k] matrix, so the float reference runs on the weights the device holds and its
error is the input quantization, the channel multiplier rounding and the act rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch
from q8util import reference

from edgemoe.compiler.quantize import QuantReport, quantize_q8
from edgemoe.golden.linear_ops import im2col
from edgemoe.isa import Flag, Instr, Op, pack_ksp
from edgemoe.layout import conv_out_size, pack_tiled


@dataclass
class Q8ConvCase:
    """One W8A8 CONV in a scratch image (input HWC, output (oh*ow, co))."""

    scratch: Scratch
    ins: Instr
    dst: int
    shape: tuple[int, int]  # (oh * ow, co)
    ref: np.ndarray         # float reference (oh*ow, co), before ReLU / residual
    bound: np.ndarray       # per-element error bound of the device output
    clamped: int            # im2col entries beyond the calibrated range (float64 count)


def q8_conv(accel, seed: int, h: int, w: int, ci: int, co: int, kernel: int = 3,
            stride: int = 1, pad: int = 1, flags: int = 0, x_range: float = 2.0,
            calib: float | None = None, w_gain: float = 1.0) -> Q8ConvCase:
    """A CONV of float x (HWC) in +-``x_range`` calibrated for ``|x| <= calib``."""
    rng = np.random.default_rng(seed)
    act, bias_fmt = accel.formats.act, accel.formats.bias
    s = Scratch(accel, size=1 << 20)
    calib = x_range if calib is None else calib
    cikk = ci * kernel * kernel
    x = rng.uniform(-x_range, x_range, (h, w, ci))
    wt = rng.normal(0.0, w_gain / np.sqrt(cikk), (co, cikk))
    b = rng.normal(0.0, 0.1, co)
    layer = quantize_q8("conv", wt, b, calib, accel, QuantReport())
    x_raw = act.quantize(x)
    po = accel.linear_p_out
    oh, ow = conv_out_size(h, kernel, stride, pad), conv_out_size(w, kernel, stride, pad)
    dst = s.put(np.full(oh * ow * co * act.storage_dtype.itemsize, 0xA5, np.uint8))
    extra = {}
    if flags & Flag.RESIDUAL:
        extra["residual"] = dst
        s.image[dst:dst + oh * ow * co * act.storage_dtype.itemsize] = 0  # start from 0
    ins = Instr.make(
        Op.CONV, flags | Flag.WFMT_Q8, in_h=h, in_w=w, in_ch=ci, out_ch=co,
        kernel_stride_pad=pack_ksp(kernel, stride, pad, layer.dq_shift),
        src=s.put_raw(x_raw, act), dst=dst,
        weights=s.put(pack_tiled(layer.codes, po, accel.linear_p_in).astype("i1")),
        bias=s.put_raw(np.pad(layer.bias, (0, -co % po)), bias_fmt),
        scales=s.put(np.pad(layer.scales, (0, -co % po)).astype("<i4")),
        x_mul=layer.x_mul, **extra)
    cols = im2col(act.to_float(x_raw).transpose(2, 0, 1), kernel, stride, pad)
    ref, bound, clamped = reference(cols, layer, bias_fmt, act)  # per im2col entry
    return Q8ConvCase(s, ins, dst, (oh * ow, co), ref, bound, clamped)


def conv_output(case: Q8ConvCase, image: np.ndarray, act) -> np.ndarray:
    """Device output of ``case`` in ``image`` as floats (oh*ow, co)."""
    dt = np.dtype(act.storage_dtype)
    n = case.shape[0] * case.shape[1]
    raw = image[case.dst:case.dst + n * dt.itemsize].view(dt).astype(np.int64)
    return act.to_float(raw).reshape(case.shape)
