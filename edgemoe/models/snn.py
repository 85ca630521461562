"""Float reference (numpy) of the IIR-SNN digits classifier.

A plain stack of fully connected layers (VGG-style: no skips): the first hidden layer
takes the analog pixels directly at every timestep, every other hidden layer takes the
spikes of the layer below, and the readout layer accumulates its membrane over the T
timesteps without spiking, leak or division.  Hidden neurons are leaky integrate-and-fire
with reset by subtraction::

    u_t = leak * u_{t-1} + W s_t + b
    o_t = u_t > threshold            (strictly greater)
    u_t = u_t - threshold * o_t

Weight names: ``hidden{i}.weight`` (out, in), ``hidden{i}.bias``, ``hidden{i}.threshold``
and ``hidden{i}.leak`` (shape (1,)) for i = 1..L, then ``readout.weight`` and ``readout.bias``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["SnnShape", "hidden_names", "lif_step", "lif_train", "scalar", "snn_forward", "snn_shape",
           "spike_rates"]


@dataclass(frozen=True)
class SnnShape:
    """Widths of an SNN stack.

    Attributes:
        inputs: Analog inputs of the first layer (64 for 8x8 digits).
        hidden: Width of each spiking layer, bottom first.
        classes: Readout width.
    """

    inputs: int
    hidden: tuple[int, ...]
    classes: int


def hidden_names(n: int) -> tuple[str, ...]:
    """Prefixes of the ``n`` spiking layers."""
    return tuple(f"hidden{i + 1}" for i in range(n))


def snn_shape(weights: Mapping[str, np.ndarray]) -> SnnShape:
    """The widths a weight set describes (raises KeyError/ValueError when inconsistent)."""
    hidden, i = [], 1
    while f"hidden{i}.weight" in weights:
        hidden.append(int(weights[f"hidden{i}.weight"].shape[0]))
        i += 1
    w0 = weights["hidden1.weight"]
    return SnnShape(int(w0.shape[1]), tuple(hidden), int(weights["readout.weight"].shape[0]))


def scalar(x) -> float:
    """A per-layer scalar (threshold, leak) stored as a one-element array."""
    return float(np.asarray(x, np.float64).reshape(-1)[0])


def lif_step(u: np.ndarray, current: np.ndarray, leak: float,
             threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One LIF step: (membrane after the reset, spikes as 0.0/1.0)."""
    u = leak * u + current
    s = (u > threshold).astype(np.float64)
    return u - threshold * s, s


def lif_train(currents: np.ndarray, leak: float, threshold: float) -> np.ndarray:
    """Spikes (T, N) of neurons driven by ``currents`` (T, N), starting at u = 0."""
    u = np.zeros(currents.shape[1:], np.float64)
    out = np.empty(currents.shape, np.float64)
    for t, cur in enumerate(currents):
        u, out[t] = lif_step(u, cur, leak, threshold)
    return out


def snn_forward(weights: Mapping[str, np.ndarray], x: np.ndarray, timesteps: int,
                record: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Logits (membrane of the readout summed over T) for a batch ``x`` of shape (B, inputs).

    Args:
        weights: Float weights by name (see module docstring).
        x: Analog inputs, shape (B, inputs).
        timesteps: T >= 1.
        record: When given, receives ``<layer>.spikes`` of shape (T, B, width).

    Returns:
        Logits, shape (B, classes).
    """
    if timesteps < 1:
        raise ValueError(f"timesteps={timesteps} must be >= 1")
    shape = snn_shape(weights)
    x = np.asarray(x, dtype=np.float64)
    names = hidden_names(len(shape.hidden))
    u = {n: np.zeros((x.shape[0], w), np.float64) for n, w in zip(names, shape.hidden)}
    logits = np.zeros((x.shape[0], shape.classes), np.float64)
    spikes = {n: [] for n in names}
    for _ in range(timesteps):
        s = x
        for n in names:
            w, b = weights[f"{n}.weight"], weights[f"{n}.bias"]
            u[n], s = lif_step(u[n], s @ w.T + b, scalar(weights[f"{n}.leak"]),
                               scalar(weights[f"{n}.threshold"]))
            spikes[n].append(s)
        logits += s @ weights["readout.weight"].T + weights["readout.bias"]
    if record is not None:
        for n in names:
            record[f"{n}.spikes"] = np.stack(spikes[n])
    return logits


def spike_rates(weights: Mapping[str, np.ndarray], x: np.ndarray, timesteps: int) -> dict[str, float]:
    """Mean firing rate (spikes per neuron per timestep) of every spiking layer."""
    rec: dict[str, np.ndarray] = {}
    snn_forward(weights, x, timesteps, rec)
    return {k.removesuffix(".spikes"): float(v.mean()) for k, v in rec.items()}
