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
from q8moe import _gelu, expert_queues, expert_reference

from edgemoe.compiler.mixed import MixedChoice
from edgemoe.compiler.mixed_experts import MixedExperts, expert_blobs, quantize_mixed_experts
from edgemoe.compiler.quantize import QuantReport
from edgemoe.isa import Flag, Instr, Op


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
    layers = []
    for lay1, lay2 in zip(q.fc1, q.fc2):
        (b1_raw, m1), (b2_raw, m2) = _device(lay1), _device(lay2)
        layers.append((lay1.weight_deq, bf.to_float(b1_raw), m1, lay2.weight_deq,
                       bf.to_float(b2_raw), m2))
    ref, bound = expert_reference(act, xf, act.to_float(r_raw), chosen, scores, layers,
                                  q.x_mul, q.hidden_x_mul, q.dq_shift)
    return Q4MoeCase(s, ins, dst, t, d, q, w1, w2, ref, bound)
