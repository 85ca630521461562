"""Inputs driven close to the format limits, and their float references.

Shared by the golden magnitude tests (against float, within stated bounds) and the C-sim
and RTL ones (byte-identical to golden).  ``relative_error`` is max |got - ref| / max |ref|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.isa import Flag, Instr, Op, encode_bytes
from edgemoe.layout import pack_tiled

IMAGE_BYTES = 1 << 18  # small enough for the RTL benches


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    """Largest absolute error relative to the largest reference magnitude."""
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def near_range_qkv(act, rng, t: int, nh: int, hd: int, fill: float = 0.9) -> tuple:
    """A fused qkv tensor whose scaled scores reach ``fill`` of the activation range.

    Keys are a common direction (of varying length) plus noise and queries scale that
    direction, so |q.k| * hd**-0.5 spans +-fill * act.max_value with a few keys close to
    each row's maximum (a softmax that is not one-hot).  Returns (qkv float, raw scale).
    """
    direction = rng.choice([-1.0, 1.0], size=(nh, hd))
    reach = fill * act.max_value * np.sqrt(hd)          # target max |q.k|
    k_len = np.sqrt(reach)                                # |k| ~ |q| ~ sqrt(reach)
    # half the keys at full length (the row maxima, a few within the noise of each other),
    # the rest shorter, so a row's scores span a wide range and not one constant offset
    lengths = np.where(np.arange(t) % 2 == 0, 1.0, np.linspace(0.0, 0.6, t))[:, None, None]
    k = direction[None] * lengths * (k_len / np.sqrt(hd)) + rng.normal(0, 0.05, size=(t, nh, hd))
    c = np.linspace(-1.0, 1.0, t)[:, None, None] * (reach / (k_len * np.sqrt(hd)))
    q = c * direction[None]                               # the noise adds ~0.3% of the range
    v = rng.normal(0, 1.5, size=(t, nh, hd))
    qkv = np.stack([q, k, v], axis=1)
    return qkv, int(act.quantize(hd ** -0.5))


def attention_float(qkv: np.ndarray, scale: float) -> np.ndarray:
    """Float64 softmax attention of a (t, 3, heads, head_dim) tensor."""
    out = np.empty_like(qkv[:, 0])
    for h in range(qkv.shape[2]):
        sc = qkv[:, 0, h] @ qkv[:, 1, h].T * scale
        p = np.exp(sc - sc.max(1, keepdims=True))
        out[:, h] = (p / p.sum(1, keepdims=True)) @ qkv[:, 2, h]
    return out


@dataclass
class EdgeCase:
    """One instruction on a scratch image with inputs near the format limits.

    ``reference`` is the float64 result the output at ``out`` (``count`` activations)
    approximates within ``bound`` (relative to max |reference|); ``why`` states the bound.
    """

    name: str
    scratch: Scratch
    program: list[Instr]
    out: int
    reference: np.ndarray
    bound: float
    why: str
    overflows: bool = False  # the case wraps/saturates on purpose (profile `overflows`)
    expected: int | None = None  # its overflow count, computed independently (float64)


def _put_weights(s: Scratch, w: np.ndarray, fmt) -> int:
    return s.put_raw(pack_tiled(w, s.accel.linear_p_out, s.accel.linear_p_in), fmt)


def linear_near_range(accel, rng, flags: int = 0, t: int = 6, n: int = 8, k: int = 16,
                      fill: float = 0.9) -> EdgeCase:
    """LINEAR with weights at the edge of their format and outputs reaching ``fill`` of act.

    Each row's weights are +-0.95 of the weight range; inputs follow the sign pattern of
    one row, so that row's output reaches fill * act range (other rows partly cancel).
    """
    f = accel.formats
    wq = f.linear_weight.quantize(rng.choice([-1.0, 1.0], (n, k)) * 0.95 * f.linear_weight.max_value)
    w = f.linear_weight.to_float(wq)
    bias = f.bias.to_float(f.bias.quantize(rng.uniform(-0.9, 0.9, n) * f.bias.max_value))
    sign = np.sign(w[np.arange(t) % n])                       # (t, k): row i follows w[i % n]
    mag = (fill * f.act.max_value - np.abs(bias).max()) / np.abs(w).sum(axis=1).max()
    x = f.act.to_float(f.act.quantize(sign * mag * rng.uniform(0.8, 1.0, (t, k))))
    x[::2] *= -1                                              # both signs near the range
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(f.act.quantize(x), f.act)
    dst = s.alloc(f.act.storage_dtype.itemsize * t * n)
    ins = Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=src,
                     dst=dst, weights=_put_weights(s, wq, f.linear_weight),
                     bias=s.put_raw(f.bias.quantize(bias), f.bias))
    ref = x @ w.T + bias
    if flags & Flag.GELU:
        ref = 0.5 * ref * (1.0 + np.vectorize(math.erf)(ref / math.sqrt(2.0)))
        why = "GELU: 5.5e-5 abs on [-8, 8], ReLU exactly beyond 5.5 (numerics.gelu)"
        bound = 2e-6
    else:
        why = "exact products, one act rounding (2**-22 abs)"
        bound = 1e-8
    return EdgeCase(f"linear{'_gelu' * bool(flags & Flag.GELU)}_near_range", s, [ins], dst, ref,
                    bound, why)


def layernorm_near_range(accel, rng, t: int = 5, d: int = 32, fill: float = 0.9) -> EdgeCase:
    """LAYERNORM of rows close to +-fill of the act range (large mean, large spread), with
    gamma and beta near the edge of the norm format."""
    f = accel.formats
    top = fill * f.act.max_value
    centre = rng.uniform(-0.6, 0.6, (t, 1)) * top
    x = np.clip(centre + rng.normal(0, 0.2 * top, (t, d)), -top, top)
    x = f.act.to_float(f.act.quantize(x))
    gamma = f.norm.to_float(f.norm.quantize(rng.uniform(-0.9, 0.9, d) * f.norm.max_value))
    beta = f.norm.to_float(f.norm.quantize(rng.uniform(-0.9, 0.9, d) * f.norm.max_value))
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(f.act.quantize(x), f.act)
    dst = s.alloc(f.act.storage_dtype.itemsize * t * d)
    eps = 1e-6
    ins = Instr.make(Op.LAYERNORM, tokens=t, dim=d, src=src, dst=dst,
                     gamma=s.put_raw(f.norm.quantize(gamma), f.norm),
                     beta=s.put_raw(f.norm.quantize(beta), f.norm),
                     eps=round(eps * 2.0 ** (2 * min(f.act.frac_bits, 16))))
    ref = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) * gamma + beta
    # rstd is ap_ufixed<32,12> (20 fraction bits): its absolute LSB is a relative error of
    # 2**-20 * sigma, which dominates for wide rows (sigma ~ 90 here); the rest (rsqrt 1e-8,
    # three act roundings) adds < 1e-6
    sigma = float(np.sqrt(x.var(1) + eps).max())
    return EdgeCase("layernorm_near_range", s, [ins], dst, ref, 2.0 ** -20 * sigma + 1e-6,
                    f"rstd LSB 2**-20 relative to 1/sigma, sigma = {sigma:.1f}")


def edge_cases(accel, seed: int = 21) -> list[EdgeCase]:
    """Every near-the-limits case of one design point (attention included)."""
    rng = np.random.default_rng(seed)
    return [linear_near_range(accel, rng), linear_near_range(accel, rng, Flag.GELU),
            layernorm_near_range(accel, rng), attention_near_range(accel, rng, 0.9),
            attention_near_range(accel, rng, 1.5), layernorm_outliers(accel)]


def attention_near_range(accel, rng, fill: float, t: int = 16, nh: int = 2,
                         hd: int = 16) -> EdgeCase:
    """ATTENTION whose q.k exceeds the act range and scaled scores reach ``fill`` of it."""
    act = accel.formats.act
    qkv, scale = near_range_qkv(act, rng, t, nh, hd, fill=fill)
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(act.quantize(qkv), act)
    dst = s.alloc(act.storage_dtype.itemsize * t * nh * hd)
    ins = Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=src, dst=dst,
                     scale=scale)
    qf = act.to_float(act.quantize(qkv))
    return EdgeCase(f"attention_scores_at_{fill:g}x_range", s, [ins], dst,
                    attention_float(qf, act.to_float(scale)), 1e-3,
                    "one rounding per score, softmax tables ~2e-5 per probability", fill > 1)


def layernorm_outliers(accel, t: int = 4, d: int = 32) -> EdgeCase:
    """LAYERNORM rows with one outlier each: it normalizes to sqrt(d - 1), times gamma 15
    (83.5 for d = 32), which overflows activation formats narrower than that."""
    f = accel.formats
    x = np.zeros((t, d))
    x[np.arange(t), np.arange(t) % d] = 0.3 * f.act.max_value
    s = Scratch(accel, size=IMAGE_BYTES)
    src = s.put_raw(f.act.quantize(x), f.act)
    dst = s.alloc(f.act.storage_dtype.itemsize * t * d)
    ins = Instr.make(Op.LAYERNORM, tokens=t, dim=d, src=src, dst=dst,
                     gamma=s.put_raw(f.norm.quantize(np.full(d, 15.0)), f.norm),
                     beta=s.put_raw(f.norm.quantize(np.zeros(d)), f.norm), eps=1)
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return EdgeCase("layernorm_outliers", s, [ins], dst, 15.0 * z, 1e-4, "see layernorm",
                    15.0 * np.sqrt(d - 1) >= f.act.max_value)


def program_image(case: EdgeCase) -> np.ndarray:
    """A copy of the case's image with its program written in (status block at 0)."""
    image = case.scratch.image.copy()
    code = np.frombuffer(encode_bytes(case.program), np.uint8)
    image[case.scratch.program:case.scratch.program + code.size] = code
    return image
