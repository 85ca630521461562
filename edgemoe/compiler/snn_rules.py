"""Lowering rules of the spiking layer types (``lif``, ``lif_readout``) onto LIF.

* ``lif`` over the image (direct analog input): the synaptic current W x + b is the same at
  every step, so the linear engine computes it once (a CONV whose kernel covers the whole
  image, PIXEL_INPUT) and LIF in current-input mode integrates it T times;
* ``lif`` over a spike train: one LIF in spike-input mode on the add-only LIF engine;
* ``lif_readout``: LIF in readout mode with leak 1 (the membrane summed over T).

Spike trains are [t][neuron] bytes in the arena (see edgemoe.models.snn_layers).
"""

from __future__ import annotations

import numpy as np

from ..isa import LIF_CURRENT_INPUT, LIF_LEAK_FRAC, LIF_READOUT, Flag, Op, pack_ksp, pack_mode_leak
from ..models.snn import scalar
from .builder import Ref
from .graph import FMap, GraphError, GraphLowering, Group, register_lowering
from .quantize import quantize

#: ``leak`` of the readout: 1.0 (no leak).
LEAK_ONE = 1 << LIF_LEAK_FRAC


def _fits(low: GraphLowering, name: str, neurons: int, inputs: int, steps: int) -> None:
    a = low.a
    for what, value, limit, key in (("neurons", neurons, a.max_out_features, "max_out_features"),
                                    ("inputs", inputs, a.max_in_features, "max_in_features"),
                                    ("timesteps", steps, a.max_timesteps, "max_timesteps")):
        if value > limit:
            raise GraphError(f"layer {name}: {value} {what} > buffers.{key}={limit} of design "
                             f"point {a.name}: raise buffers.{key} or shrink the layer")
    if "lif" not in a.ops:
        raise GraphError(f"layer {name}: design point {a.name} does not build the LIF engine: "
                         "add lif to its ops")


def _scalars(low: GraphLowering, name: str) -> tuple[int, int]:
    """(threshold raw act >= 1 LSB, leak raw at LIF_LEAK_FRAC bits in 0..1)."""
    th, leak = scalar(low.w[f"{name}.threshold"]), scalar(low.w[f"{name}.leak"])
    if not th > 0 or not 0.0 <= leak <= 1.0:
        raise GraphError(f"layer {name}: threshold {th:g} must be > 0 and leak {leak:g} in "
                         "[0, 1]: check the weights (a trained IIR-SNN keeps them there)")
    raw, _ = quantize(f"{name}.threshold", np.array([th]), low.f.act, low.report)
    return max(int(raw[0]), 1), round(leak * LEAK_ONE)


def _spike_map(low: GraphLowering, name: str, neurons: int, steps: int) -> FMap:
    """Arena bytes for a (neurons, T, 1) spike train ([t][neuron] bytes)."""
    return FMap(steps, 1, (Group(Ref(low.b.tensor(f"{name}.spikes", steps * neurons)), neurons),),
                spikes=True)


def _one_group(name: str, x: FMap) -> Group:
    if len(x.groups) != 1:
        raise GraphError(f"layer {name}: its input is split into {len(x.groups)} channel "
                         "groups; a spiking layer reads one spike train")
    return x.groups[0]


@register_lowering("lif")
def lower_lif(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """LIF layer (analog image input or spike-train input)."""
    name, x = layer.name, inputs[0]
    n, steps = layer.attr("out_features"), layer.attr("timesteps")
    w, b = low.w[f"{name}.weight"], low.w[f"{name}.bias"]
    th, leak = _scalars(low, name)
    out = _spike_map(low, name, n, steps)
    dst = out.groups[0].ref
    if x.pixels:  # direct input: current once on the linear engine, integrated T times
        k = x.h * x.w * x.channels
        _fits(low, name, n, k, steps)
        if x.h != x.w:
            raise GraphError(f"layer {name}: the image is {x.h}x{x.w}; the direct-input current "
                             "runs as one square CONV window: use a square image")
        cur = Ref(low.b.tensor(f"{name}.current", n * low.act_bytes))
        low.b.emit(Op.CONV, Flag.PIXEL_INPUT | Flag.WFMT_CONV, comment=name, in_h=x.h,
                   in_w=x.w, in_ch=x.channels, out_ch=n, kernel_stride_pad=pack_ksp(x.h, x.h, 0),
                   src=x.groups[0].ref, dst=cur, weights=low.weights(f"{name}.weight", w, "conv_weight"),
                   bias=low.bias(f"{name}.bias", b))
        low.b.emit(Op.LIF, comment=name, neurons=n, inputs=n, timesteps=steps, threshold=th,
                   mode_leak=pack_mode_leak(LIF_CURRENT_INPUT, leak), src=cur, dst=dst)
        return out
    src = _one_group(name, x)
    _fits(low, name, n, src.channels, steps)
    low.b.emit(Op.LIF, comment=name, neurons=n, inputs=src.channels, timesteps=steps,
               threshold=th, mode_leak=pack_mode_leak(0, leak), src=src.ref, dst=dst,
               weights=low.weights(f"{name}.weight", w, "linear_weight"),
               bias=low.bias(f"{name}.bias", b))
    return out


@register_lowering("lif_readout")
def lower_lif_readout(low: GraphLowering, layer, inputs: list[FMap]) -> FMap:
    """Readout: membrane summed over the input train's T steps, written in act."""
    name, x = layer.name, inputs[0]
    src = _one_group(name, x)
    n, steps = layer.attr("out_features"), x.h
    _fits(low, name, n, src.channels, steps)
    out = low.new_map(name, 1, 1, n)
    if len(out.groups) != 1:
        raise GraphError(f"layer {name}: {n} outputs do not fit one group: raise "
                         "buffers.max_out_features")
    low.b.emit(Op.LIF, comment=name, neurons=n, inputs=src.channels, timesteps=steps,
               threshold=1, mode_leak=pack_mode_leak(LIF_READOUT, LEAK_ONE), src=src.ref,
               dst=out.groups[0].ref,
               weights=low.weights(f"{name}.weight", low.w[f"{name}.weight"], "linear_weight"),
               bias=low.bias(f"{name}.bias", low.w[f"{name}.bias"]))
    return out
