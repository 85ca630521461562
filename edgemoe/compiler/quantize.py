"""Float weights -> raw fixed-point codes in the design point's formats.

Each canonical tensor has a *role* (which format it is stored in).  Values outside a
format's range are saturated and counted; ``strict`` turns any saturation into an error.
Weights are converted offline, so they are rounded to nearest (ties to even) whatever
the format's quantization mode: truncating them, as a plain AP_TRN cast does, biases
every weight by half an LSB, which sums up over long dot products (for example ~1% on
M3ViT-tiny's patch embedding).  The format's mode still governs every runtime cast.
The dequantized values are returned too, so the float reference can run on exactly the
weights the device holds (isolating arithmetic error from weight rounding).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..isa import MOE_HIDDEN_X_MUL_BITS
from ..models import WeightError
from ..numerics import int8

log = logging.getLogger(__name__)

_ROLES = (
    (r"patch_embed\.proj\.weight$", "patch_weight"),
    (r"pos_embed$", "act"),
    (r"\.(norm1|norm2|norm)\.(weight|bias)$", "norm"),
    (r"\.attn\.(qkv|proj)\.weight$", "linear_weight"),
    (r"\.attn\.(qkv|proj)\.bias$", "attn_bias"),
    (r"\.mlp\.gate(\.\d+)?\.w_gate$", "linear_weight"),
    (r"\.(fc1|fc2|htoh4|h4toh)\.weight$", "linear_weight"),
    (r"heads\..*\.conv_\d+\.weight$", "conv_weight"),
    (r"\.bias$", "bias"),
)


def role_of(name: str) -> str:
    """Format role of a (folded) weight tensor name."""
    for pattern, role in _ROLES:
        if re.search(pattern, name):
            return role
    raise WeightError(f"no storage format is defined for tensor {name!r}")


#: A tensor whose rounding error carries more than this share of its energy underflows.
UNDERFLOW_ENERGY = 0.01


@dataclass
class QuantReport:
    """Saturation counts and underflow findings per tensor."""

    saturated: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    underflowed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per tensor with saturated elements or an underflow."""
        lines = [f"{n}: {c} of {self.totals[n]} values saturated"
                 for n, c in self.saturated.items() if c]
        return "\n".join(lines + [f"{n}: {what}" for n, what in self.underflowed.items()])


def underflow(x: np.ndarray, deq: np.ndarray, fmt) -> str | None:
    """Why ``x`` underflows in ``fmt`` (None when it does not).

    A nonzero tensor underflows when it quantizes to all zeros, when an output channel
    (first axis of a matrix or kernel) does, or when the rounding error carries more than
    :data:`UNDERFLOW_ENERGY` of its energy (saturated values are clipped first: they are
    counted as saturation).
    """
    x = np.asarray(x, np.float64)
    if not x.any():  # (not a sum of squares: it overflows for huge weights)
        return None
    if not deq.any():
        return f"all {x.size} values quantize to zero in {fmt} (LSB {fmt.lsb:g})"
    if x.ndim >= 2:
        rows = x.reshape(x.shape[0], -1)
        dead = np.flatnonzero(rows.any(axis=1) & ~deq.reshape(x.shape[0], -1).any(axis=1))
        if dead.size:
            return (f"{dead.size} of {x.shape[0]} output channels quantize to zero in {fmt} "
                    f"(first: {int(dead[0])})")
    kept = np.clip(x, fmt.min_value, fmt.max_value)  # saturation is reported on its own
    lost = float(np.sum((kept - deq) ** 2)) / max(float(np.sum(kept * kept)), 1e-300)
    if lost > UNDERFLOW_ENERGY:
        return f"rounding to {fmt} loses {100 * lost:.1f}% of its energy (LSB {fmt.lsb:g})"
    return None


def weight_codes(x: np.ndarray, fmt) -> np.ndarray:
    """Raw codes of float weights in ``fmt``: rounded to nearest, saturated."""
    return replace(fmt, quant="RND_CONV", overflow="SAT").quantize(np.asarray(x, np.float64))


def dequantized(x: np.ndarray, fmt) -> np.ndarray:
    """The float values the device holds for weights ``x`` stored in ``fmt``."""
    return fmt.to_float(weight_codes(x, fmt))


def quantize(name: str, x: np.ndarray, fmt, report: QuantReport) -> tuple[np.ndarray, np.ndarray]:
    """(raw codes, dequantized floats) of ``x`` in ``fmt``, saturating out-of-range values."""
    count = int(fmt.count_saturated(x))
    report.totals[name] = int(np.size(x))
    if count:
        report.saturated[name] = count
        log.warning("%s: %d of %d values outside %s [%g, %g] saturated", name, count, x.size,
                    fmt, fmt.min_value, fmt.max_value)
    raw = weight_codes(x, fmt)
    deq = fmt.to_float(raw)
    why = underflow(x, deq, fmt)
    if why:
        report.underflowed[name] = why
        log.warning("%s: underflow: %s", name, why)
    return raw, deq


def check_strict(report: QuantReport, accel_name: str) -> None:
    """Raise WeightError listing every tensor with saturated or underflowing values."""
    if any(report.saturated.values()) or report.underflowed:
        raise WeightError(
            f"weights do not fit design point {accel_name!r} formats:\n{report.summary()}\n"
            "Fix: rescale the weights, or widen the integer (saturation) or fraction "
            "(underflow) bits of that format in the design point "
            "(--set formats.<role>=ap_fixed<W,I>), or compile without --strict.")


@dataclass(frozen=True)
class Q8Linear:
    """A linear layer prepared for the W8A8 mode (``Flag.WFMT_Q8``, edgemoe.numerics.int8).

    Attributes:
        codes: int8 weight codes [out][in] (pack with the engine's tile order).
        bias: raw bias codes in the bias format.
        scales: int32 channel multipliers ``m`` (stored beside the bias).
        x_mul: the instruction's input multiplier (``imm``).
        dq_shift: the instruction's dequantization shift.
        weight_deq: the float weights the device holds (codes times channel scales).
    """

    codes: np.ndarray
    bias: np.ndarray
    scales: np.ndarray
    x_mul: int
    dq_shift: int
    weight_deq: np.ndarray


def quantize_q8(name: str, w: np.ndarray, b: np.ndarray, x_absmax: float, accel,
                report: QuantReport, bias_fmt=None) -> Q8Linear:
    """Int8 per-output-channel weights and the static per-tensor input scale of one layer.

    Args:
        name: Tensor name (for the report).
        w: Float weights [out][in].
        b: Float bias [out].
        x_absmax: Largest ``|x|`` of the layer's input over the calibration set; inputs
            beyond it clamp to +-127 on the device (counted as overflows).
        accel: Design point (its act and bias formats).
        report: Saturation report the bias quantization adds to.
        bias_fmt: Bias format (default: the design point's ``bias``).
    """
    act = accel.formats.act
    int8.check_act(act)
    codes, w_scale = int8.weight_codes(w)
    x_mul = int8.input_multiplier(x_absmax)
    m, dq = int8.channel_multipliers(x_mul, w_scale, act)
    b_raw, _ = quantize(f"{name}.bias", np.asarray(b, np.float64), bias_fmt or accel.formats.bias,
                        report)
    return Q8Linear(codes, b_raw, m, x_mul, dq, codes * w_scale[:, None])


@dataclass(frozen=True)
class Q8Experts:
    """The experts of one MOE_EXPERTS prepared for W8A8 (``Flag.WFMT_Q8``).

    Attributes:
        fc1, fc2: per expert :class:`Q8Linear` (fc1: ``htoh4``, fc2: ``h4toh``), all with
            the one shared ``dq_shift``; fc1's ``x_mul`` is the instruction's ``x_mul``,
            fc2's its ``hidden_x_mul``.
        x_mul, hidden_x_mul, dq_shift: the instruction's W8A8 fields.
    """

    fc1: list[Q8Linear]
    fc2: list[Q8Linear]
    x_mul: int
    hidden_x_mul: int
    dq_shift: int


def quantize_q8_experts(name: str, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                        b2: np.ndarray, x_absmax: float, h_absmax: float, accel,
                        report: QuantReport) -> Q8Experts:
    """Int8 experts: per output channel weights, one input scale per layer of the MoE.

    Args:
        name: MoE tensor prefix (for the report).
        w1, b1: fc1 weights (E, hidden, dim) and biases (E, hidden).
        w2, b2: fc2 weights (E, dim, hidden) and biases (E, dim).
        x_absmax: calibrated ``|x|`` of the experts' input (every expert reads it).
        h_absmax: calibrated ``|GELU(fc1)|`` over the tokens routed to each expert.
        accel: Design point.
        report: Saturation report the bias quantization adds to.
    """
    act = accel.formats.act
    int8.check_act(act)
    x_mul = int8.input_multiplier(x_absmax)
    h_mul = int8.input_multiplier(h_absmax, (1 << MOE_HIDDEN_X_MUL_BITS) - 1)
    layers = [(f"{name}.htoh4.{e}", w, b, x_mul) for e, (w, b) in enumerate(zip(w1, b1))]
    layers += [(f"{name}.h4toh.{e}", w, b, h_mul) for e, (w, b) in enumerate(zip(w2, b2))]
    coded = [int8.weight_codes(w) for _, w, _, _ in layers]
    # one shift for the instruction: the smallest of the layers' largest fitting shifts
    dq = min(int8.channel_multipliers(mul, w_scale, act)[1]
             for (_, _, _, mul), (_, w_scale) in zip(layers, coded))
    out = []
    for (lname, _, b, mul), (codes, w_scale) in zip(layers, coded):
        m, _ = int8.channel_multipliers(mul, w_scale, act, dq)
        b_raw, _ = quantize(f"{lname}.bias", np.asarray(b, np.float64), accel.formats.bias, report)
        out.append(Q8Linear(codes, b_raw, m, mul, dq, codes * w_scale[:, None]))
    e = len(w1)
    return Q8Experts(out[:e], out[e:], x_mul, h_mul, dq)
