"""Mixed int8/int4 MOE_EXPERTS programs (Flag.WFMT_Q4) from float experts, and their float
references.

Weights go through the compiler's ``quantize_mixed_experts`` and ``expert_blobs``; queues
are written directly (tests/q8moe.py expert_queues: each token to ``top_k`` distinct
experts, the last expert empty).  The float reference runs on the weights the device holds
(int8 codes times their scale, int4 codes dequantized), so its error bound is W8A8's
(tests/q8moe.py): the int8 input steps, the multipliers' rounding, GELU's approximation
and the act roundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch
from q8moe import GELU_MAX_ABS_ERR, GELU_SLOPE_MAX, _gelu, _layer_bound, expert_queues

from edgemoe.compiler.mixed import MixedChoice
from edgemoe.compiler.mixed_experts import MixedExperts, expert_blobs, quantize_mixed_experts
from edgemoe.compiler.quantize import QuantReport
from edgemoe.isa import Flag, Instr, Op
from edgemoe.numerics import int8


@dataclass
class Q4MoeCase:
    """One mixed MOE_EXPERTS in a scratch image."""

    scratch: Scratch
    ins: Instr
    dst: int
    t: int
    d: int
    experts: MixedExperts
    w1: np.ndarray      # the float weights before quantization (E, H, D)
    w2: np.ndarray      # (E, D, H)
    ref: np.ndarray     # float reference on the device's weights (T, D)
    bound: np.ndarray   # per-element error bound of the device output (T, D)


def _device(layer) -> tuple[np.ndarray, np.ndarray]:
    """A mixed layer's biases and multipliers in the original channel order."""
    b, m = np.empty(layer.bias.size, np.int64), np.empty(layer.bias.size, np.int64)
    b[layer.order], m[layer.order] = layer.bias, layer.scales
    return b, m


def q4_experts(accel, seed: int, t: int = 7, d: int = 12, h: int = 20, e: int = 4,
               top_k: int = 2, high: float = 0.1, group: int = 16, x_range: float = 2.0,
               residual: bool = True, image: int = 1 << 19) -> Q4MoeCase:
    """MOE_EXPERTS of float x in +-``x_range`` over ``e`` experts (expert e - 1 empty),
    ``high`` of each layer's channels (over all experts) int8, int4 groups of ``group``."""
    rng = np.random.default_rng(seed)
    f = accel.formats
    act, bf = f.act, f.bias
    s = Scratch(accel, size=image)
    x_raw = act.quantize(rng.uniform(-x_range, x_range, (t, d)))
    xf = act.to_float(x_raw)
    # per-row gains in [0.25, 4]: rows differ in range as trained ones do
    w1 = rng.normal(0, 1 / np.sqrt(d), (e, h, d)) * rng.uniform(0.25, 4.0, (e, h, 1))
    b1 = rng.normal(0, 0.1, (e, h))
    w2 = rng.normal(0, 1 / np.sqrt(h), (e, d, h)) * rng.uniform(0.25, 4.0, (e, d, 1))
    b2 = rng.normal(0, 0.1, (e, d))
    chosen = np.array([rng.choice(e - 1, top_k, replace=False) for _ in range(t)])
    scores = act.quantize(rng.uniform(0.05, 1.0, (t, top_k)))
    h_calib = max(float(np.abs(_gelu(xf @ w1[ex].T + b1[ex])).max()) for ex in range(e))
    choices = []
    for n, absmax in ((e * h, float(np.abs(xf).max())), (e * d, h_calib)):
        mask = np.zeros(n, bool)
        mask[rng.choice(n, round(high * n), replace=False)] = True
        choices.append(MixedChoice(mask, group, absmax))
    q = quantize_mixed_experts("moe", w1, b1, w2, b2, *choices, accel, QuantReport())
    w1_blob, b1_blob, w2_blob, b2_blob = (np.frombuffer(v, np.uint8)
                                          for v in expert_blobs(q, accel))
    isz = act.storage_dtype.itemsize
    r_raw = act.quantize(rng.uniform(-1, 1, (t, d))) if residual else np.zeros((t, d), np.int64)
    dst = s.put(np.full(t * d * isz, 0xA5, np.uint8))
    ins = Instr.make(Op.MOE_EXPERTS, (Flag.RESIDUAL if residual else 0) | Flag.WFMT_Q4,
                     tokens=t, dim=d, hidden=h, experts=e, src=s.put_raw(x_raw, act), dst=dst,
                     w1=s.put(w1_blob), b1=s.put(b1_blob), w2=s.put(w2_blob),
                     b2=s.put(b2_blob), queues=s.put(expert_queues(e, t, chosen, scores)),
                     scratch=s.put(np.full(t * h * isz, 0x5A, np.uint8)),
                     residual=s.put_raw(r_raw, act), x_mul=q.x_mul, q4_split=q.split)
    ref = act.to_float(r_raw).astype(np.float64)
    bound = np.full((t, d), 2.0 ** -act.frac_bits)  # the residual add's rounding
    frac, sx, sh = act.frac_bits, int8.input_scale(q.x_mul), int8.input_scale(q.hidden_x_mul)
    for ex in range(e):
        tok, slot = np.nonzero(chosen == ex)
        if tok.size == 0:
            continue
        (bias1, m1), (bias2, m2) = _device(q.fc1[ex]), _device(q.fc2[ex])
        wd1, wd2 = q.fc1[ex].weight_deq, q.fc2[ex].weight_deq
        y1 = xf[tok] @ wd1.T + bf.to_float(bias1)
        e1 = _layer_bound(sx, wd1, y1, bf.to_float(bias1), m1, q.dq_shift, frac,
                          np.zeros((tok.size, d)))
        hid = _gelu(y1)
        e_h = GELU_SLOPE_MAX * e1 + GELU_MAX_ABS_ERR + 2.0 ** -frac
        y2 = hid @ wd2.T + bf.to_float(bias2)
        e2 = _layer_bound(sh, wd2, y2, bf.to_float(bias2), m2, q.dq_shift, frac, e_h)
        sc = act.to_float(scores[tok, slot])[:, None]
        np.add.at(ref, tok, sc * y2)
        np.add.at(bound, tok, sc * e2 + 2.0 ** -frac)
    return Q4MoeCase(s, ins, dst, t, d, q, w1, w2, ref, bound)
