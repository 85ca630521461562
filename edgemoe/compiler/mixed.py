"""Mixed int4/int8 LINEAR layers (``Flag.WFMT_Q4``) from a precision map.

The precision map (:mod:`edgemoe.seeds.precision_map`, written by ``edgemoe quantize``)
names the output channels of each weight that keep 8 bits.  Here each mapped M3ViT LINEAR
becomes one instruction with two parts (:mod:`edgemoe.numerics.int4`): the int8 channels
first, then the int4 ones, each part contiguous, with the ``channel_index`` list that
scatters the part rows back to the original channel order.  A mapped MoE block's two
expert layers become one MOE_EXPERTS with ``Flag.WFMT_Q4`` (:func:`quantize_mixed_experts`):
each expert's fc1 and fc2 a mixed matrix with one int8 row count for every expert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..isa import pack_linear_q8
from ..numerics import int4, int8
from .calibrate import EXPERT_LINEARS, int8_layers
from .quantize import QuantReport, quantize

#: The bits this build runs: int4 low channels (asymmetric), int8 high ones (symmetric).
LOW_BITS, HIGH_BITS = 4, 8


@dataclass(frozen=True)
class MixedChoice:
    """The precision map's choice for one LINEAR.

    Attributes:
        high: bool mask over output channels (True = int8).
        group_size: inputs per int4 group along K (the map's ``group_size``).
        x_absmax: calibrated ``|x|`` of the layer's input (0 until calibrated).
    """

    high: np.ndarray
    group_size: int
    x_absmax: float = 0.0


@dataclass(frozen=True)
class MixedLinear:
    """One LINEAR prepared for ``Flag.WFMT_Q4`` (arrays in part-row order).

    Attributes:
        high_codes: int8 codes of the high rows (H, K).
        low_codes, e, z: int4 codes (L, K), group scale codes and zero points (L, groups).
        bias: raw biases.
        scales: int32 multipliers ``m``.
        order: output channel of each part row (the ``channel_index`` list).
        x_mul, dq_shift: the instruction's input multiplier and dequantization shift.
        weight_deq: the float weights the device holds, original order (N, K).
    """

    high_codes: np.ndarray
    low_codes: np.ndarray
    e: np.ndarray
    z: np.ndarray
    bias: np.ndarray
    scales: np.ndarray
    order: np.ndarray
    x_mul: int
    dq_shift: int
    weight_deq: np.ndarray

    @property
    def groups(self) -> int:
        """The instruction's ``q4_groups``."""
        return self.e.shape[1]


def tile_count(count: int, n: int, p_out: int) -> int:
    """The int8 row count a layer of ``n`` rows runs: ``count`` rounded to the nearest
    multiple of P_OUT (halves up; at most ``n``), since each part is padded to whole tile
    rows (numerics.int4 layout): a partial int8 tile row costs int8 bytes either way."""
    return min(n, p_out * ((2 * count + p_out) // (2 * p_out)))


def set_high_count(high: np.ndarray, w: np.ndarray, groups: int, count: int) -> np.ndarray:
    """Masks (E, N) changed to ``count`` int8 rows each: an expert with fewer promotes its
    int4 rows with the largest squared int4 rounding error, one with more demotes its int8
    rows with the smallest (ties: the lower row).

    Args:
        high: bool (E, N), True = int8.
        w: float weights (E, N, K).
        groups: int4 groups per row.
        count: int8 rows per expert.
    """
    high = np.array(high, bool)
    for ex in range(len(w)):
        need = count - int(high[ex].sum())
        if need == 0:
            continue
        u, e, z, s = int4.low_codes(w[ex], groups)
        err = ((w[ex] - int4.low_dequantized(u, e, z, s)) ** 2).sum(axis=1)
        if need > 0:
            rank = np.argsort(np.where(high[ex], np.inf, -err), kind="stable")
            high[ex, rank[:need]] = True
        else:
            rank = np.argsort(np.where(high[ex], err, np.inf), kind="stable")
            high[ex, rank[:-need]] = False
    return high


def quantize_mixed(name: str, w: np.ndarray, b: np.ndarray, choice: MixedChoice, accel,
                   report: QuantReport, bias_fmt, x_mul: int | None = None,
                   dq_max: int = int8.DQ_SHIFT_MAX) -> MixedLinear:
    """Int8 high channels, int4 low channels and one static input scale for one layer.

    The int8 row count is the choice's rounded to whole tile rows (:func:`tile_count`,
    :func:`set_high_count`).

    Args:
        name: Tensor prefix (for the report).
        w, b: Float weights [out][in] and bias [out].
        choice: Which channels are high, the group size and the input range.
        accel: Design point (its act format).
        report: Saturation report the bias quantization adds to.
        bias_fmt: The bias format.
        x_mul: The input multiplier (default: from ``choice.x_absmax``).
        dq_max: The largest dequantization shift (a layer sharing one with others).
    """
    act = accel.formats.act
    int8.check_act(act)
    w = np.asarray(w, np.float64)
    n, groups = w.shape[0], int4.group_count(w.shape[1], choice.group_size)
    count = tile_count(int(np.sum(choice.high)), n, accel.linear_p_out)
    high = set_high_count(np.asarray(choice.high, bool)[None], w[None], groups, count)[0]
    order = np.concatenate([np.flatnonzero(high), np.flatnonzero(~high)])
    hi_codes, hi_scale = int8.weight_codes(w[high])
    u, e, z, s = int4.low_codes(w[~high], groups)
    x_mul = int8.input_multiplier(choice.x_absmax) if x_mul is None else x_mul
    w_scale = np.concatenate([hi_scale, s / int4.E_MAX])
    m, dq = int8.channel_multipliers(x_mul, w_scale, act, dq_max)
    b_raw, _ = quantize(f"{name}.bias", np.asarray(b, np.float64)[order], bias_fmt, report)
    deq = np.empty_like(w)
    deq[high] = hi_codes * hi_scale[:, None]
    deq[~high] = int4.low_dequantized(u, e, z, s)
    return MixedLinear(hi_codes, u, e, z, b_raw, m, order, x_mul, dq, deq)


def place_mixed(lowering, prefix: str, layer: MixedLinear, bias_fmt) -> tuple:
    """Place one mixed layer's operands; returns (weights, bias, the other fields)."""
    a, b = lowering.a, lowering.b
    po, pi = a.linear_p_out, a.linear_p_in
    pad = (0, -layer.bias.size % po)
    wref = b.place("weights", int4.pack_weights(layer.high_codes, layer.low_codes, layer.e,
                                                layer.z, po, pi), f"{prefix}.weight")
    bref = b.place("weights", lowering._aligned(np.pad(layer.bias, pad)
                                                .astype(bias_fmt.storage_dtype).tobytes()),
                   f"{prefix}.bias")
    sref = b.place("weights", lowering._aligned(np.pad(layer.scales, pad).astype("<i4")
                                                .tobytes()), f"{prefix}.scales")
    iref = b.place("weights", lowering._aligned(layer.order.astype("<u4").tobytes()),
                   f"{prefix}.channel_index")
    fields = {"scales": sref, "channel_index": iref, "x_mul": layer.x_mul,
              "q8_shift_codes": pack_linear_q8(layer.dq_shift),
              "q4_split": int4.pack_split(len(layer.high_codes), layer.groups)}
    return wref, bref, fields


def mixed_layers(pmap: Mapping, model) -> dict[str, MixedChoice]:
    """The LINEARs (and expert layers) a precision map runs mixed.

    Raises:
        ValueError: The map was written for other bits, another model or other shapes
            (the message names the fix).
    """
    low, high = pmap["low"]["bits"], pmap["high"]["bits"]
    if (low, high) != (LOW_BITS, HIGH_BITS):
        raise ValueError(f"precision map has int{low}/int{high} channels; the executors run "
                         f"int{LOW_BITS}/int{HIGH_BITS}: rerun `edgemoe quantize --low-bits "
                         f"{LOW_BITS}`")
    group = int(pmap["group_size"])
    known = set(int8_layers(model))
    mixed = {}
    for name, layer in pmap["layers"].items():
        prefix = name.removesuffix(".weight")
        if prefix not in known:
            raise ValueError(f"precision map names {name!r}, which is not a LINEAR of "
                             f"{model.name}: rerun `edgemoe quantize --model {model.name}`")
        mask = np.zeros(int(np.prod(layer["shape"][:-1])), bool)
        mask[layer["high_channels"]] = True
        mixed[prefix] = MixedChoice(mask, group)
    for prefix in mixed:  # one MOE_EXPERTS runs a block's two expert layers
        if prefix.endswith(EXPERT_LINEARS):
            pair = [prefix[:prefix.rindex(".") + 1] + n.split(".")[-1] for n in EXPERT_LINEARS]
            if not all(p in mixed for p in pair):
                raise ValueError(f"precision map names {prefix} but not both of {pair}: rerun "
                                 "`edgemoe quantize` (one instruction runs both)")
    return mixed


def check_shapes(mixed: Mapping[str, MixedChoice], weights: Mapping[str, np.ndarray]) -> None:
    """Raise ValueError when a map's channel count differs from the weight's."""
    for prefix, choice in mixed.items():
        rows = int(np.prod(weights[f"{prefix}.weight"].shape[:-1]))
        if choice.high.size != rows:
            raise ValueError(f"precision map gives {prefix}.weight {choice.high.size} channels, "
                             f"the weights have {rows}: rerun `edgemoe quantize` on these "
                             "weights")


def apply_precision_map(path, model, weights: Mapping[str, np.ndarray],
                        ranges: Mapping[str, float], int8_rest: bool
                        ) -> tuple[dict[str, MixedChoice], dict[str, float]]:
    """``compile_model``'s ``mixed`` and ``int8`` for a precision map file.

    Args:
        path: The precision map (``edgemoe quantize``).
        model: The M3ViT ModelConfig.
        weights: The float weights (their shapes must be the map's).
        ranges: Calibrated input ranges of every int8-capable layer.
        int8_rest: Also run the layers the map does not name in W8A8 (``--int8``).

    Returns:
        (mixed int4/int8 layers, W8A8 layers: with ``int8_rest`` every other calibrated
        layer, else none).
    """
    from ..seeds.precision_map import read_precision_map

    return map_choices(read_precision_map(path), model, weights, ranges, int8_rest)


def map_choices(pmap: Mapping, model, weights: Mapping[str, np.ndarray],
                ranges: Mapping[str, float], int8_rest: bool
                ) -> tuple[dict[str, MixedChoice], dict[str, float]]:
    """:func:`apply_precision_map` of a precision map already read."""
    mixed = mixed_layers(pmap, model)
    check_shapes(mixed, weights)
    mixed = {p: MixedChoice(c.high, c.group_size, ranges[p]) for p, c in mixed.items()}
    int8 = {p: r for p, r in ranges.items() if p not in mixed and int8_rest}
    return mixed, int8
