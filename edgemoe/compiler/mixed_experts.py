"""A MoE block's experts as one MOE_EXPERTS with ``Flag.WFMT_Q4`` (mixed int8/int4 rows).

Every expert's fc1 and fc2 is quantized like a mixed LINEAR (:func:`quantize_mixed`), with
the instruction's shared parts: fc1's input multiplier, fc2's, one ``dq_shift``, one group
size, and one int8 row count per layer: the experts' most, rounded to whole tile rows
(:func:`edgemoe.compiler.mixed.set_high_count` promotes or demotes rows).  The layout is :mod:`edgemoe.numerics.int4`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..isa import MOE_HIDDEN_X_MUL_BITS, pack_moe_q8
from ..numerics import int4, int8
from .mixed import MixedChoice, MixedLinear, quantize_mixed, set_high_count, tile_count
from .quantize import QuantReport


@dataclass(frozen=True)
class MixedExperts:
    """The experts of one MOE_EXPERTS prepared for ``Flag.WFMT_Q4``.

    Attributes:
        fc1, fc2: per expert :class:`MixedLinear` (fc1: ``htoh4``, fc2: ``h4toh``).
        x_mul, hidden_x_mul, dq_shift: fc1's and fc2's input multipliers, the shared shift.
        code: the group-size code (``int4.MOE_GROUP_SIZES``).
    """

    fc1: list[MixedLinear]
    fc2: list[MixedLinear]
    x_mul: int
    hidden_x_mul: int
    dq_shift: int
    code: int

    @property
    def split(self) -> int:
        """The instruction's ``q4_split``."""
        return int4.pack_moe_split(len(self.fc1[0].high_codes), len(self.fc2[0].high_codes),
                                   self.code)


def quantize_mixed_experts(name: str, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                           b2: np.ndarray, choice1: MixedChoice, choice2: MixedChoice, accel,
                           report: QuantReport) -> MixedExperts:
    """Mixed experts: per layer the choice's int8 rows (one count), int4 groups, one input
    scale per layer and one shift for the instruction.

    Args:
        name: MoE tensor prefix (for the report).
        w1, b1: fc1 weights (E, hidden, dim) and biases (E, hidden).
        w2, b2: fc2 weights (E, dim, hidden) and biases (E, dim).
        choice1, choice2: the map's choice per layer (``high`` over E x out channels,
            ``x_absmax``: fc1's input range, fc2's the calibrated GELU output range).
        accel: Design point.
        report: Saturation report the bias quantization adds to.

    Raises:
        NumericsError: the group size is not one MOE_EXPERTS encodes.
    """
    e, h, d = np.shape(w1)
    code = int4.moe_group_code(choice1.group_size, (d, h))
    x_mul = int8.input_multiplier(choice1.x_absmax)
    h_mul = int8.input_multiplier(choice2.x_absmax, (1 << MOE_HIDDEN_X_MUL_BITS) - 1)
    layers = []
    for tag, w, b, choice, mul in ((".htoh4", w1, b1, choice1, x_mul),
                                   (".h4toh", w2, b2, choice2, h_mul)):
        k = w.shape[2]
        size = int4.MOE_GROUP_SIZES[code] or k
        mask = choice.high.reshape(e, -1)
        count = tile_count(int(mask.sum(axis=1).max(initial=0)), w.shape[1], accel.linear_p_out)
        high = set_high_count(mask, w, int4.group_count(k, size), count)
        layers += [(f"{name}{tag}.{x}", w[x], b[x], MixedChoice(high[x], size), mul)
                   for x in range(e)]

    def run(dq_max: int, rep: QuantReport) -> list[MixedLinear]:
        return [quantize_mixed(n, w, b, c, accel, rep, accel.formats.bias, mul, dq_max)
                for n, w, b, c, mul in layers]

    # one shift for the instruction: the smallest of the layers' largest fitting shifts
    dq = min(lay.dq_shift for lay in run(int8.DQ_SHIFT_MAX, QuantReport()))
    out = run(dq, report)
    for lays in (out[:e], out[e:]):  # one stride for the experts' weights
        assert len({len(lay.high_codes) for lay in lays}) == 1
    return MixedExperts(out[:e], out[e:], x_mul, h_mul, dq, code)


def expert_blobs(q: MixedExperts, accel) -> tuple[bytes, bytes, bytes, bytes]:
    """The w1, b1, w2, b2 operands of mixed experts.

    Each b operand: every expert's bias block, multiplier block, channel_index block; b1
    then one 64-byte block holding W8A8's d4 word (``int4.moe_q8_word_offset``).
    """
    po, pi, bdt = accel.linear_p_out, accel.linear_p_in, accel.formats.bias.storage_dtype
    out = []
    for layers in (q.fc1, q.fc2):
        out.append(b"".join(int4.pack_weights(lay.high_codes, lay.low_codes, lay.e, lay.z, po,
                                              pi) for lay in layers))
        pad = (0, -layers[0].bias.size % po)
        blocks = [np.pad(lay.bias, pad).astype(bdt) for lay in layers]
        blocks += [np.pad(lay.scales, pad).astype("<i4") for lay in layers]
        blocks += [np.pad(lay.order, pad).astype("<u4") for lay in layers]
        if len(out) == 1:  # b1's last block: dq_shift and fc2's input multiplier
            blocks.append(np.array([pack_moe_q8(q.dq_shift, q.hidden_x_mul)], "<u4"))
        out.append(b"".join(_pad64(v.tobytes()) for v in blocks))
    return out[0], out[1], out[2], out[3]


def _pad64(b: bytes) -> bytes:
    return b + bytes(-len(b) % 64)


def lower_mixed_experts(lowering, ex: str) -> tuple:
    """Quantize and place the experts ``ex`` (``blocks.{i}.mlp.experts``) of an M3ViT
    lowering (:func:`expert_blobs`); returns (w1, b1, w2, b2, the other fields).

    Raises:
        ValueError: only one of the two expert layers is mixed.
    """
    fc1, fc2, w = f"{ex}.htoh4", f"{ex}.h4toh", lowering.w
    if fc1 not in lowering.mixed or fc2 not in lowering.mixed:
        raise ValueError(f"mixed layers name one of {fc1}, {fc2}: give both (one "
                         "instruction runs them)")
    q = quantize_mixed_experts(ex, w[f"{fc1}.weight"], w[f"{fc1}.bias"], w[f"{fc2}.weight"],
                               w[f"{fc2}.bias"], lowering.mixed[fc1], lowering.mixed[fc2],
                               lowering.a, lowering.report)
    blobs = expert_blobs(q, lowering.a)
    refs = []
    for j, (name, layers) in enumerate(((fc1, q.fc1), (fc2, q.fc2))):
        lowering.effective[f"{name}.weight"] = np.stack([lay.weight_deq for lay in layers])
        biases = np.empty((len(layers), layers[0].bias.size))
        for x, lay in enumerate(layers):
            biases[x, lay.order] = lowering.f.bias.to_float(lay.bias)
        lowering.effective[f"{name}.bias"] = biases
        refs.append(lowering.b.place("weights", blobs[2 * j], f"{name}.weight"))
        refs.append(lowering.b.place("weights", blobs[2 * j + 1], f"{name}.bias"))
    return (*refs, {"x_mul": q.x_mul, "q4_split": q.split})
