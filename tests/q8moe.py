"""W8A8 MOE_EXPERTS programs (Flag.WFMT_Q8) from float experts, and their float references.

The queues are written directly (each token to ``top_k`` distinct experts with random
scores, some experts empty), so the float reference routes exactly as the device does; it
runs on the weights the device holds (codes times channel scales), so its error is the
int8 input steps, the multipliers' rounding, GELU's approximation and the act roundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compiler.quantize import QuantReport, quantize_q8_experts
from edgemoe.isa import Flag, Instr, Op, pack_moe_q8
from edgemoe.layout import pack_tiled, queue_layout
from edgemoe.numerics import int8

#: GELU's published max abs error against erf (edgemoe.numerics.gelu_kernel.gelu).
GELU_MAX_ABS_ERR = 5.5e-5
#: Largest slope of GELU (at x ~ 1.5): a hidden error grows by at most this through it.
GELU_SLOPE_MAX = 1.13


@dataclass
class Q8MoeCase:
    """One W8A8 MOE_EXPERTS in a scratch image."""

    scratch: Scratch
    ins: Instr
    dst: int
    t: int
    d: int
    ref: np.ndarray     # float reference (T, D)
    bound: np.ndarray   # per-element error bound of the device output (T, D)


def _gelu(v: np.ndarray) -> np.ndarray:
    from math import erf
    return v * 0.5 * (1.0 + np.vectorize(erf)(v / np.sqrt(2.0)))


def _layer_bound(x_step: float, w: np.ndarray, y: np.ndarray, b: np.ndarray, m: np.ndarray,
                 dq: int, frac: int, in_err: np.ndarray) -> np.ndarray:
    """Error bound of one W8A8 layer's act output: input steps, propagated input error,
    the multipliers' rounding, the aligned bias floor and the act rounding."""
    aw = np.abs(w).sum(axis=1)[None, :]
    return (0.5 * x_step * aw + in_err @ np.abs(w).T + np.abs(y - b) * (0.5 / np.maximum(m, 1))
            + 2.0 ** -(frac + dq) + 2.0 ** -frac)


def q8_experts(accel, seed: int, t: int = 7, d: int = 12, h: int = 20, e: int = 4,
               top_k: int = 2, x_range: float = 2.0, calib: float | None = None,
               h_calib: float | None = None, w_gain: float = 1.0, residual: bool = True,
               image: int = 1 << 19) -> Q8MoeCase:
    """MOE_EXPERTS of float x in +-``x_range`` over ``e`` experts, expert e - 1 empty.

    ``calib`` / ``h_calib`` are the calibrated input / hidden ranges (default: the true
    maxima, so nothing clamps); smaller ones make the int8 inputs clamp.
    """
    rng = np.random.default_rng(seed)
    f = accel.formats
    act, bf = f.act, f.bias
    po, pi = accel.linear_p_out, accel.linear_p_in
    s = Scratch(accel, size=image)
    x_raw = act.quantize(rng.uniform(-x_range, x_range, (t, d)))
    xf = act.to_float(x_raw)
    w1 = rng.normal(0, w_gain / np.sqrt(d), (e, h, d))
    b1 = rng.normal(0, 0.1, (e, h))
    w2 = rng.normal(0, w_gain / np.sqrt(h), (e, d, h))
    b2 = rng.normal(0, 0.1, (e, d))
    chosen = np.array([rng.choice(e - 1, top_k, replace=False) for _ in range(t)])
    score_f = rng.uniform(0.05, 1.0, (t, top_k))
    scores = act.quantize(score_f)
    if h_calib is None:
        h_calib = max(float(np.abs(_gelu(xf @ w1[ex].T + b1[ex])).max()) for ex in range(e))
    q = quantize_q8_experts("moe", w1, b1, w2, b2, calib or float(np.abs(xf).max()), h_calib,
                            accel, QuantReport())
    blob = expert_queues(e, t, chosen, scores)

    def weights(layers) -> int:
        return s.put(np.concatenate([_pad64(pack_tiled(lay_.codes, po, pi).astype("i1"))
                                     for lay_ in layers]))

    def biases(layers, n: int) -> int:
        pad = (0, -n % po)
        blocks = [_pad64(np.pad(lay_.bias, pad).astype(bf.storage_dtype)) for lay_ in layers]
        blocks += [_pad64(np.pad(lay_.scales, pad).astype("<i4")) for lay_ in layers]
        return s.put(np.concatenate(blocks))

    isz = act.storage_dtype.itemsize
    r_raw = act.quantize(rng.uniform(-1, 1, (t, d))) if residual else np.zeros((t, d), np.int64)
    dst = s.put(np.full(t * d * isz, 0xA5, np.uint8))
    ins = Instr.make(Op.MOE_EXPERTS, (Flag.RESIDUAL if residual else 0) | Flag.WFMT_Q8,
                     tokens=t, dim=d, hidden=h, experts=e, src=s.put_raw(x_raw, act), dst=dst,
                     w1=weights(q.fc1), b1=biases(q.fc1, h), w2=weights(q.fc2),
                     b2=biases(q.fc2, d), queues=s.put(blob),
                     scratch=s.put(np.full(t * h * isz, 0x5A, np.uint8)),
                     residual=s.put_raw(r_raw, act), x_mul=q.x_mul,
                     q8_shift_mul=pack_moe_q8(q.dq_shift, q.hidden_x_mul))
    layers = [(lay1.weight_deq, bf.to_float(lay1.bias), lay1.scales, lay2.weight_deq,
               bf.to_float(lay2.bias), lay2.scales) for lay1, lay2 in zip(q.fc1, q.fc2)]
    ref, bound = expert_reference(act, xf, act.to_float(r_raw), chosen, scores, layers,
                                  q.x_mul, q.hidden_x_mul, q.dq_shift)
    return Q8MoeCase(s, ins, dst, t, d, ref, bound)


def expert_reference(act, xf: np.ndarray, residual: np.ndarray, chosen: np.ndarray,
                     scores: np.ndarray, layers: list, x_mul: int, hidden_x_mul: int,
                     dq: int) -> tuple[np.ndarray, np.ndarray]:
    """Float output of W8A8-style experts on float inputs ``xf`` (T, D) and its per-element
    error bound.

    Args:
        act: The act format.
        residual: Float residual (T, D).
        chosen, scores: Each token's experts and raw scores (as :func:`expert_queues`).
        layers: Per expert (fc1 weights, fc1 bias, fc1 multipliers, the same of fc2), the
            weights and biases as the device holds them (float), original channel order.
        x_mul, hidden_x_mul, dq: The instruction's multipliers and shift.
    """
    ref = np.array(residual, np.float64)
    bound = np.full(ref.shape, 2.0 ** -act.frac_bits)  # the residual add's rounding
    frac, sx, sh = act.frac_bits, int8.input_scale(x_mul), int8.input_scale(hidden_x_mul)
    for ex, (w1, b1, m1, w2, b2, m2) in enumerate(layers):
        tok, slot = np.nonzero(chosen == ex)
        if tok.size == 0:
            continue
        y1 = xf[tok] @ w1.T + b1
        e1 = _layer_bound(sx, w1, y1, b1, m1, dq, frac, np.zeros((tok.size, xf.shape[1])))
        hid = _gelu(y1)
        e_h = GELU_SLOPE_MAX * e1 + GELU_MAX_ABS_ERR + 2.0 ** -frac
        y2 = hid @ w2.T + b2
        e2 = _layer_bound(sh, w2, y2, b2, m2, dq, frac, e_h)
        sc = act.to_float(scores[tok, slot])[:, None]
        np.add.at(ref, tok, sc * y2)
        np.add.at(bound, tok, sc * e2 + 2.0 ** -frac)
    return ref, bound


def expert_queues(e: int, t: int, chosen: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The queue region (layout.queue_layout) routing token ``tok`` to experts
    ``chosen[tok]`` with raw scores ``scores[tok]``."""
    lay = queue_layout(e, t)
    blob = np.zeros(lay["total"], np.uint8)
    counts = np.zeros(e, np.uint32)
    index = np.zeros((e, lay["slot"] // 4), np.int32)
    score_q = np.zeros((e, lay["slot"] // 4), np.int32)
    for tok in range(t):
        for j, ex in enumerate(chosen[tok]):
            index[ex, counts[ex]] = tok
            score_q[ex, counts[ex]] = scores[tok, j]
            counts[ex] += 1
    blob[:4 * e] = counts.view(np.uint8)
    blob[lay["index"]:lay["scores"]] = index.view(np.uint8).reshape(-1)
    blob[lay["scores"]:] = score_q.view(np.uint8).reshape(-1)
    return blob


def _pad64(a: np.ndarray) -> np.ndarray:
    raw = np.ascontiguousarray(a).view(np.uint8).reshape(-1)
    return np.pad(raw, (0, -raw.size % 64))


def moe_output(case: Q8MoeCase, image: np.ndarray, act) -> np.ndarray:
    """Device output of ``case`` in ``image`` as floats (T, D)."""
    dt = np.dtype(act.storage_dtype)
    raw = image[case.dst:case.dst + case.t * case.d * dt.itemsize].view(dt).astype(np.int64)
    return act.to_float(raw).reshape(case.t, case.d)
