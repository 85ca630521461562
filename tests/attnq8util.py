"""Int8 ATTENTION programs (Flag.WFMT_Q8) from float q, k, v, and their float references.

Shared by the golden tests (against float, within :func:`error_bound`) and the C-sim and
RTL ones (byte-identical to golden).  The parameter block comes from the compiler's choice
(``numerics.attn_q8.choose_params``) for the calibrated ranges, unless a test overrides a
field to reach a format limit.  ``codes`` (the instruction's q8_codes) puts the int8 codes
of q, k, v in memory instead of act rows (codes in: made by numerics, as the qkv LINEAR
makes them) and/or has the output written as int8 codes with ``out_x_mul`` (codes out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.isa import Flag, Instr, Op
from edgemoe.numerics import attn_q8
from edgemoe.numerics.int8 import Q8_MAX, input_codes


@dataclass
class AttnQ8Case:
    """One int8 ATTENTION in a scratch image."""

    scratch: Scratch
    ins: Instr
    dst: int
    shape: tuple[int, int, int]  # tokens, heads, head_dim
    ref: np.ndarray              # float attention of the act-quantized q, k, v (T, H, D)
    bound: float                 # worst-case |device - ref| per output (error_bound)
    clamped: int                 # q, k, v elements beyond their calibrated ranges
    params: dict
    raw: np.ndarray              # the act q, k, v (T, 3, H, D) the case starts from


def error_bound(q_max: float, k_max: float, v_max: float, scale: float, head_dim: int,
                tokens: int, act) -> float:
    """Worst-case |out - float attention| of one output for q, k, v within their ranges.

    Scores: each code is within half a step ``d = range / 127`` of its value, so
    ``|ds| <= scale * D * (q_max * dk + k_max * dq + dq * dk / 2) / 2`` plus the score's own
    rounding (1 LSB); logits within ``e`` of the float ones scale every probability by a
    factor within ``exp(+-2e)``, so the output moves by at most ``v_max * (exp(2e) - 1)``;
    the fixed-point softmax adds at most 2e-5 per probability (numerics.softmax's stated
    bound): ``v_max * T * 2e-5``; v's codes half a step ``dv / 2``; the output rounding 1 LSB.
    """
    dq, dk, dv = (m / Q8_MAX for m in (q_max, k_max, v_max))
    lsb = 2.0 ** -act.frac_bits
    e = scale * head_dim * (q_max * dk + k_max * dq + dq * dk / 2) / 2 + lsb
    return v_max * (float(np.expm1(2 * e)) + tokens * 2e-5) + dv / 2 + lsb


def clamps(x_raw: np.ndarray, mul: int, act) -> int:
    """Elements whose int8 code ``round((x * mul) / 2**(F + 16))`` (half up) leaves +-127,
    in exact Python integers."""
    s = act.frac_bits + 16
    return sum(abs((int(x) * mul + (1 << (s - 1))) >> s) > Q8_MAX for x in x_raw.reshape(-1))


def attn_q8_case(accel, seed: int, t: int, nh: int, hd: int,
                 ranges: tuple[float, float, float] = (2.0, 2.0, 2.0),
                 calib: tuple[float, float, float] | None = None, override: dict | None = None,
                 image: int = 1 << 18, codes: int = 0, out_x_mul: int = 0) -> AttnQ8Case:
    """q, k, v uniform in +-``ranges``, calibrated for ``calib`` (default the ranges);
    ``codes``: the instruction's q8_codes (codes out with ``out_x_mul``)."""
    rng = np.random.default_rng(seed)
    act = accel.formats.act
    calib = ranges if calib is None else calib
    qkv = np.stack([rng.uniform(-r, r, (t, nh, hd)) for r in ranges], axis=1)
    raw = act.quantize(qkv)
    scale = hd ** -0.5
    params = attn_q8.choose_params(*calib, scale, act, out_x_mul)
    params.update(override or {})
    s = Scratch(accel, size=image)
    if codes & attn_q8.Q8_CODES_IN:  # the producer's codes, with this block's multipliers
        c = np.stack([input_codes(raw[:, i], params[m], act)[0]
                      for i, m in enumerate(("q_mul", "k_mul", "v_mul"))], axis=1)
        src = s.put(c.astype(np.int8).reshape(-1).view(np.uint8))
    else:
        src = s.put_raw(raw, act)
    prm = s.put(attn_q8.param_block(params).astype("<u4"))
    y_bytes = 1 if codes & attn_q8.Q8_CODES_OUT else act.storage_dtype.itemsize
    dst = s.put(np.full(t * nh * hd * y_bytes, 0xA5, np.uint8))  # garbage
    ins = Instr.make(Op.ATTENTION, Flag.WFMT_Q8, tokens=t, heads=nh, head_dim=hd, qkv=src,
                     dst=dst, q8_params=prm, q8_codes=codes)
    f = act.to_float(raw)
    ref = np.empty((t, nh, hd))
    for h in range(nh):
        sc = f[:, 0, h] @ f[:, 1, h].T * scale
        p = np.exp(sc - sc.max(1, keepdims=True))
        ref[:, h] = (p / p.sum(1, keepdims=True)) @ f[:, 2, h]
    clamped = sum(clamps(raw[:, i], params[m], act)
                  for i, m in enumerate(("q_mul", "k_mul", "v_mul")))
    bound = error_bound(*calib, scale, hd, t, act)
    return AttnQ8Case(s, ins, dst, (t, nh, hd), ref, bound, clamped, params, raw)


def output(case: AttnQ8Case, image: np.ndarray, act) -> np.ndarray:
    """The device's float outputs (T, H, D) from a memory image."""
    n = int(np.prod(case.shape))
    raw = image[case.dst:case.dst + n * act.storage_dtype.itemsize].view(act.storage_dtype)
    return act.to_float(raw.astype(np.int64)).reshape(case.shape)
