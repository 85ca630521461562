"""Layer-graph compiler: lowers a :class:`~edgemoe.params.graph_model.GraphModelConfig`.

Each layer type has one lowering rule; the driver walks the layers in order, hands every
rule the feature maps of its inputs and records the map it returns.  The rules share the
primitives of the M3ViT lowering (:class:`~edgemoe.compiler.builder.ProgramBuilder`, tile
packing and weight quantization of :mod:`edgemoe.compiler.m3vit`).

Feature maps are HWC activation tensors split into **channel groups** (:class:`FMap`):
a conv whose ``in_ch * k * k`` row or ``out_ch`` would not fit the linear engine runs as
pieces, one per input group, accumulated into the output with RESIDUAL (bias on the first
piece, ReLU on the last: the flag applies to the sum).  The same accumulation is the
one-shot aggregation of VoVNet: the 1x1 conv over ``[x, f_1..f_L]`` adds each ``f_i``'s
piece as soon as ``f_i`` exists, so the concatenation is never stored.

Register the lowering of a new layer type (beside its attributes in
``edgemoe.params.graph_model.LAYER_ATTRS`` and its float rule in ``edgemoe.models.graph``)::

    from edgemoe.compiler.graph import FMap, GraphLowering, register_lowering

    @register_lowering("lif")
    def lower_lif(low: GraphLowering, layer: LayerSpec, inputs: list[FMap]) -> FMap:
        out = low.new_map(layer.name, h, w, channels)    # arena tensors, grouped
        low.b.emit(Op.LIF, comment=layer.name, ...)      # one or more instructions
        return out

``low.conv(...)``, ``low.linear(...)``, ``low.weights(...)`` and ``low.bias(...)`` are the
shared building blocks; a rule raises :class:`GraphError` with the fix when a layer does
not fit the design point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..isa import Flag, Op, pack_ksp
from ..layout import pack_tiled
from ..models.graph import graph_shapes, validate_graph_weights
from .builder import Ref
from .m3vit import _Lowering
from .program import manifest_frame, weights_digest
from .quantize import QuantReport, quantize
from .taps import SPIKE_FORMAT

log = logging.getLogger(__name__)

__all__ = ["LOWERINGS", "FMap", "GraphError", "GraphLowering", "Group", "lower_graph",
           "register_lowering"]


class GraphError(ValueError):
    """A graph model that cannot be lowered on a design point (the message has the fix)."""


@dataclass(frozen=True)
class Group:
    """``channels`` consecutive channels of a map, stored HWC at ``ref``."""

    ref: Ref
    channels: int


@dataclass(frozen=True)
class FMap:
    """A feature map: ``h x w`` positions, channels split into groups.

    ``pixels`` marks the model input (planar CHW pixel bytes, read with PIXEL_INPUT);
    ``spikes`` a spike train (one byte per neuron and step, ``h`` = T steps).
    """

    h: int
    w: int
    groups: tuple[Group, ...]
    pixels: bool = False
    spikes: bool = False

    @property
    def channels(self) -> int:
        """All channels of the map."""
        return sum(g.channels for g in self.groups)

    def starts(self) -> list[int]:
        """First channel of each group."""
        return list(np.cumsum([0] + [g.channels for g in self.groups])[:-1])


Rule = Callable[["GraphLowering", object, list[FMap]], FMap]
#: Layer type -> lowering rule.
LOWERINGS: dict[str, Rule] = {}


def register_lowering(kind: str) -> Callable[[Rule], Rule]:
    """Decorator: register ``fn(low, layer, inputs) -> FMap`` as the lowering of ``kind``."""
    def wrap(fn: Rule) -> Rule:
        LOWERINGS[kind] = fn
        return fn
    return wrap


class GraphLowering(_Lowering):
    """The state of one graph lowering and the building blocks its rules share."""

    def __init__(self, model, accel, weights: dict, report: QuantReport):
        super().__init__(model, accel, weights, report)
        #: Channels per produced group: a 3x3 conv row (9 * channels) and an output row
        #: must fit the linear engine.
        self.group_max = min(accel.max_out_features, accel.max_in_features // 9)
        if self.group_max < 1:
            raise GraphError(f"design point {accel.name}: max_in_features="
                             f"{accel.max_in_features} cannot hold one 3x3 conv row (9): "
                             "raise buffers.max_in_features")
        self._zero_bias: dict[int, Ref] = {}
        #: OSA block name -> its instruction range and maps (compiler.osa_report).
        self.osa_blocks: dict[str, dict] = {}

    # -- weights --------------------------------------------------------------------------
    def weights(self, name: str, w2d: np.ndarray, role: str) -> Ref:
        """Quantize an [out][in] matrix into format ``role`` and tile-pack it."""
        fmt = getattr(self.f, role)
        raw, _ = quantize(name, w2d, fmt, self.report)
        blob = pack_tiled(raw, self.a.linear_p_out, self.a.linear_p_in).astype(fmt.storage_dtype)
        return self.b.place("weights", blob.tobytes(), name)

    def bias(self, name: str, b: np.ndarray) -> Ref:
        """Quantize a bias vector (padded to the output tile)."""
        fmt = self.f.bias
        raw, _ = quantize(name, b, fmt, self.report)
        n = -(-raw.size // self.a.linear_p_out) * self.a.linear_p_out
        return self.b.place("weights", np.pad(raw, (0, n - raw.size)).astype(fmt.storage_dtype)
                            .tobytes(), name)

    def zero_bias(self, n: int) -> Ref:
        """A shared all-zero bias of ``n`` outputs (the pieces after the first)."""
        if n not in self._zero_bias:
            self._zero_bias[n] = self.bias(f"zero_bias.{n}", np.zeros(n))
        return self._zero_bias[n]

    # -- maps -----------------------------------------------------------------------------
    def split(self, channels: int, limit: int = 0) -> list[int]:
        """Group sizes for a produced map of ``channels``: as even as possible, each at most
        ``limit`` (default :attr:`group_max`), all but the last a whole number of 64-byte
        words where the limit allows (so a 1x1 map's groups sit side by side, aligned)."""
        limit = limit or self.group_max
        n = -(-channels // limit)
        size = -(-channels // n)
        per_word = 64 // self.act_bytes
        if -(-size // per_word) * per_word <= limit:
            size = -(-size // per_word) * per_word
        sizes = [size] * (channels // size) + ([channels % size] if channels % size else [])
        return sizes

    def new_map(self, name: str, h: int, w: int, channels: int, limit: int = 0) -> FMap:
        """Arena tensors for a new grouped HWC map (groups of at most ``limit``)."""
        groups = tuple(Group(Ref(self.act_tensor(f"{name}.g{i}", h * w, c)), c)
                       for i, c in enumerate(self.split(channels, limit)))
        return FMap(h, w, groups)

    def map_like(self, name: str, x: FMap, h: int, w: int) -> FMap:
        """A new ``h x w`` map with ``x``'s channel grouping (pooling keeps groups)."""
        return FMap(h, w, tuple(
            Group(Ref(self.act_tensor(f"{name}.g{i}", h * w, g.channels)), g.channels)
            for i, g in enumerate(x.groups)))

    # -- accumulated conv / linear --------------------------------------------------------
    def conv(self, name: str, x: FMap, w: np.ndarray, b: np.ndarray, stride: int, pad: int,
             relu: bool, out: FMap | None = None, first: bool = True, last: bool = True,
             cin0: int = 0) -> FMap:
        """conv of ``x`` with folded float ``w`` (co, ci, k, k) and ``b``, piece by piece.

        ``w``'s input channels ``cin0..`` are ``x``'s; with ``out`` given the pieces add into
        it (``first``: this call brings the bias; ``last``: it ends with the ReLU), so a
        conv over a concatenation can be accumulated one input map at a time.
        """
        co, _, k, _ = w.shape
        oh, ow = (x.h + 2 * pad - k) // stride + 1, (x.w + 2 * pad - k) // stride + 1
        out = out or self.new_map(name, oh, ow, co)
        for gi, (grp, c0) in enumerate(zip(x.groups, x.starts())):
            if grp.channels * k * k > self.a.max_in_features:
                raise GraphError(
                    f"layer {name}: a {k}x{k} conv over {grp.channels} input channels needs "
                    f"rows of {grp.channels * k * k} > buffers.max_in_features="
                    f"{self.a.max_in_features}: raise max_in_features or narrow the layer")
            piece_first, piece_last = first and gi == 0, last and gi == len(x.groups) - 1
            for og, o0 in zip(out.groups, out.starts()):
                wp = w[o0:o0 + og.channels, cin0 + c0:cin0 + c0 + grp.channels]
                wref = self.weights(f"{name}.weight[{o0}:,{cin0 + c0}:]",
                                    wp.reshape(og.channels, -1), "conv_weight")
                bref = self.bias(f"{name}.bias[{o0}:]", b[o0:o0 + og.channels]) \
                    if piece_first else self.zero_bias(og.channels)
                flags = Flag.WFMT_CONV | (Flag.RELU if relu and piece_last else 0) \
                    | (Flag.PIXEL_INPUT if x.pixels else 0) \
                    | (0 if piece_first else Flag.RESIDUAL)
                extra = {} if piece_first else {"residual": og.ref}
                self.b.emit(Op.CONV, flags, comment=name, in_h=x.h, in_w=x.w,
                            in_ch=grp.channels, out_ch=og.channels,
                            kernel_stride_pad=pack_ksp(k, stride, pad), src=grp.ref,
                            dst=og.ref, weights=wref, bias=bref, **extra)
        return out

    def linear(self, name: str, x: FMap, w: np.ndarray, b: np.ndarray, relu: bool = False,
               out: FMap | None = None) -> FMap:
        """``w @ x + b`` on a (C, 1, 1) map, accumulated over ``x``'s groups."""
        if (x.h, x.w) != (1, 1):
            raise GraphError(f"layer {name}: a linear layer needs a 1x1 map, got {x.h}x{x.w}")
        # a vector feeds no 3x3 conv: its groups need only fit an output row
        out = out or self.new_map(name, 1, 1, w.shape[0], self.a.max_out_features)
        for gi, (grp, c0) in enumerate(zip(x.groups, x.starts())):
            first, last = gi == 0, gi == len(x.groups) - 1
            for og, o0 in zip(out.groups, out.starts()):
                wref = self.weights(f"{name}.weight[{o0}:,{c0}:]",
                                    w[o0:o0 + og.channels, c0:c0 + grp.channels],
                                    "linear_weight")
                bref = self.bias(f"{name}.bias[{o0}:]", b[o0:o0 + og.channels]) \
                    if first else self.zero_bias(og.channels)
                flags = (Flag.RELU if relu and last else 0) | (0 if first else Flag.RESIDUAL)
                extra = {} if first else {"residual": og.ref}
                self.b.emit(Op.LINEAR, flags, comment=name, tokens=1,
                            out_features=og.channels, in_features=grp.channels, src=grp.ref,
                            dst=og.ref, weights=wref, bias=bref, **extra)
        return out


def _copy_out(low: GraphLowering, fmap: FMap, dst: Ref) -> None:
    """Copy the output map's groups into the outputs region (HWC, groups side by side)."""
    if len(fmap.groups) > 1 and (fmap.h, fmap.w) != (1, 1):
        raise GraphError("the output layer's map has several channel groups at more than one "
                         "position: end the model with a global_avg_pool or a linear layer")
    for grp, c0 in zip(fmap.groups, fmap.starts()):
        off = int(c0) * low.act_bytes
        if off % 64:
            raise GraphError(f"output channel group at channel {c0} is not 64-byte aligned: "
                             "make the output width fit one group")
        low.b.emit(Op.ADD, Flag.COPY, comment="output", count=fmap.h * fmap.w * grp.channels,
                   a=grp.ref, dst=dst + off)


def _tap(low: GraphLowering, name: str, fmap: FMap, specs: dict) -> None:
    """Copy a layer's output map, group by group, into tap slots (compiler/taps.py)."""
    elem = 1 if fmap.spikes else low.act_bytes
    fmt = SPIKE_FORMAT if fmap.spikes else low.f.act.cpp()
    for grp, c0 in zip(fmap.groups, fmap.starts()):
        tap = name if len(fmap.groups) == 1 else f"{name}[{c0}:{c0 + grp.channels}]"
        nbytes = fmap.h * fmap.w * grp.channels * elem
        dst = low.b.reserve("outputs", nbytes, f"tap.{tap}")
        specs[tap] = {"symbol": f"tap.{tap}", "shape": [fmap.h * fmap.w, grp.channels],
                      "format": fmt, "task_mask": 1}
        # ADD COPY moves whole act words: a spike train's last word may carry padding
        low.b.emit(Op.ADD, Flag.COPY, comment=f"tap.{tap}", count=-(-nbytes // low.act_bytes),
                   a=grp.ref, dst=dst)


def lower_graph(model, accel, weights: dict, report: QuantReport,
                on_lowered: Callable[[GraphLowering], None] | None = None,
                taps: frozenset[str] = frozenset()):
    """Lower a graph model; returns (layout, {layer name: instructions emitted so far},
    {tap name: spec}).

    ``on_lowered`` is called with the lowering state after layout (for reports); ``taps``
    names the layers whose output maps are copied out (compiler/taps.py).

    Raises:
        GraphError: A layer does not fit the design point (the message names it).
        WeightError: Weights are missing or of the wrong shape.
    """
    from . import snn_rules, vovnet_rules  # noqa: F401  (register the lowerings)

    try:
        shapes = graph_shapes(model)
    except ValueError as exc:
        raise GraphError(str(exc)) from None
    validate_graph_weights(weights, model)
    low = GraphLowering(model, accel, weights, report)
    b = low.b
    pixels = b.reserve("inputs", model.in_chans * model.image_height * model.image_width,
                       "pixels")
    c, h, w = shapes[model.output.name]
    out = b.reserve("outputs", c * h * w * low.act_bytes, f"out.{model.task.name}")
    maps = {"input": FMap(model.image_height, model.image_width,
                          (Group(pixels, model.in_chans),), pixels=True)}
    after: dict[str, int] = {}
    tap_specs: dict[str, dict] = {}
    for layer in model.layers:
        rule = LOWERINGS.get(layer.type)
        if rule is None:
            raise GraphError(f"layer {layer.name}: type {layer.type!r} has no lowering; "
                             f"known: {', '.join(sorted(LOWERINGS))}")
        maps[layer.name] = rule(low, layer, [maps[n] for n in layer.inputs])
        got = maps[layer.name]
        if (got.channels, got.h, got.w) != shapes[layer.name]:
            raise GraphError(f"layer {layer.name}: lowering made {got.channels}x{got.h}x"
                             f"{got.w}, the float model {shapes[layer.name]}")
        after[layer.name] = len(b)
        if layer.name in taps:
            _tap(low, layer.name, got, tap_specs)
    _copy_out(low, maps[model.output.name], out)
    layout = b.finalize()
    if on_lowered is not None:
        on_lowered(low)
    return layout, after, tap_specs


def graph_manifest(model, accel, layout, after: dict[str, int],
                   tap_specs: dict | None = None) -> dict:
    """The manifest of a lowered graph model: one HWC output, ``after`` as the taps' index,
    ``tap_specs`` the copied-out layer maps."""
    sym, act = layout.symbols, accel.formats.act
    c, h, w = graph_shapes(model)[model.output.name]
    name = model.task.name
    manifest = manifest_frame(model, accel, layout)
    manifest.update({
        "outputs": {name: {"offset": sym[f"out.{name}"], "format": act.cpp(),
                           "shape": [h, w, c], "layout": "HWC", "task_index": 0}},
        "tasks": [name],
        "taps": {"x": sym[f"out.{name}"], "x_shape": [h * w, c], "after": after,
                 "tensors": {tap: {"offset": sym[spec["symbol"]], "shape": spec["shape"],
                                   "format": spec["format"], "task_mask": spec["task_mask"]}
                             for tap, spec in (tap_specs or {}).items()}},
    })
    manifest["weights_digest"] = weights_digest(layout.image, manifest)
    return manifest
