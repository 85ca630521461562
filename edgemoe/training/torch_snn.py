"""The torch IIR-SNN used for training: the numpy reference (edgemoe.models.snn) with
surrogate gradients, learnable per-layer thresholds and leaks, and the same weight names."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgemoe.models.snn import hidden_names

#: Dropout on hidden spikes during training, one mask per sequence (IIR-SNN).
DROPOUT = 0.2
#: Surrogate gradient: SURROGATE_GAIN * max(0, 1 - |u / threshold - 1|).
SURROGATE_GAIN = 0.3


class _Spike(torch.autograd.Function):
    """Heaviside of v = u / threshold - 1 (strict: v > 0) with a triangular surrogate."""

    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        return grad * SURROGATE_GAIN * torch.clamp(1.0 - v.abs(), min=0.0)


def digits_split() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The digits split (edgemoe.data.digits) as float inputs ``byte / 256`` and labels."""
    from edgemoe.data.digits import load_digits_split
    from edgemoe.models.m3vit import PIXEL_SCALE

    ptr, ytr, pte, yte = load_digits_split()

    def inputs(p):  # (N, 64) of byte / 256: what the accelerator reads
        return torch.from_numpy(p.reshape(len(p), -1)).double().div(PIXEL_SCALE).float()

    return (inputs(ptr), torch.from_numpy(ytr)), (inputs(pte), torch.from_numpy(yte))


class TorchSnn(nn.Module):
    """Fully connected LIF stack with an accumulating readout (see edgemoe.models.snn)."""

    def __init__(self, inputs: int, widths: tuple[int, ...], classes: int) -> None:
        super().__init__()
        self.names = hidden_names(len(widths))
        sizes = (inputs, *widths)
        for name, n_in, n_out in zip(self.names, sizes[:-1], sizes[1:]):
            layer = nn.Linear(n_in, n_out)
            layer.threshold = nn.Parameter(torch.tensor(1.0))
            layer.leak = nn.Parameter(torch.tensor(1.0))
            self.add_module(name, layer)
        self.readout = nn.Linear(widths[-1], classes)

    def _layers(self) -> list[nn.Linear]:
        return [getattr(self, n) for n in self.names]

    def ann(self, x: torch.Tensor) -> torch.Tensor:
        """The ReLU network with the same weights (stage 1 of the schedule)."""
        for layer in self._layers():
            x = nn.functional.dropout(torch.relu(layer(x)), DROPOUT, self.training)
        return self.readout(x)

    def forward(self, x: torch.Tensor, timesteps: int) -> torch.Tensor:
        """Readout membrane summed over ``timesteps`` (no division), shape (B, classes)."""
        layers = self._layers()
        u = [torch.zeros(x.shape[0], layer.out_features) for layer in layers]
        masks = [nn.functional.dropout(torch.ones_like(v), DROPOUT, self.training) for v in u]
        logits = 0.0
        for _ in range(timesteps):
            s = x
            for i, layer in enumerate(layers):
                u[i] = layer.leak * u[i] + layer(s)
                o = _Spike.apply(u[i] / layer.threshold - 1.0)
                u[i] = u[i] - layer.threshold * o
                s = o * masks[i]
            logits = logits + self.readout(s)
        return logits

    @torch.no_grad()
    def convert_(self, x: torch.Tensor, percentile: float) -> None:
        """Threshold conversion: each layer's threshold = ``percentile`` of its ANN pre-activations."""
        for layer in self._layers():
            pre = layer(x)
            layer.threshold.fill_(float(np.percentile(pre.numpy(), percentile)))
            layer.leak.fill_(1.0)
            x = torch.relu(pre)

    @staticmethod
    def format_limits(accel) -> dict[str, tuple[float, float]]:
        """(min, max) per parameter kind from the design point's formats."""
        f = accel.formats
        act = f.act
        return {"weight": (f.linear_weight.min_value, f.linear_weight.max_value),
                "bias": (f.bias.min_value, f.bias.max_value),
                "threshold": (2.0 ** -act.frac_bits, act.max_value), "leak": (0.0, 1.0)}

    @torch.no_grad()
    def clamp_(self, limits: dict[str, tuple[float, float]]) -> None:
        """Clamp every parameter into the range the accelerator stores it in."""
        for name, p in self.named_parameters():
            lo, hi = limits[name.rsplit(".", 1)[1]]
            p.clamp_(lo, hi)

    @torch.no_grad()
    def spike_rates(self, x: torch.Tensor, timesteps: int) -> dict[str, float]:
        """Mean spikes per neuron per timestep of every layer (eval mode)."""
        from edgemoe.models.snn import spike_rates

        return spike_rates(self.export(), x.numpy(), timesteps)

    def export(self) -> dict[str, np.ndarray]:
        """Float weights with the reference's names (float32; the scalars of shape (1,))."""
        return {k: v.detach().numpy().astype(np.float32).reshape(v.shape or (1,)).copy()
                for k, v in self.state_dict().items()}
