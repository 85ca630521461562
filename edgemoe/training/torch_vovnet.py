"""Trainable PyTorch VoVNet built from a graph model config, with the official names.

The modules are laid out as in ``stigma0617/VoVNet.pytorch`` (conv + BatchNorm pairs keyed
``<name>/conv`` and ``<name>/norm``, OSA blocks with ``layers``, ``concat`` and, for V2,
``ese.fc``), so :meth:`TorchVoVNet.state_dict` is an official-style ``state_dict`` that
:func:`edgemoe.models.vovnet_import.canonical_from_official` imports.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from edgemoe.models.graph import graph_shapes
from edgemoe.models.m3vit import PIXEL_SCALE
from edgemoe.models.vovnet_layers import VOVNET_BN_EPS


def _conv_bn_relu(name: str, c_in: int, c_out: int, kernel: int, stride: int = 1,
                  pad: int | None = None, relu: bool = True) -> list[tuple[str, nn.Module]]:
    pad = kernel // 2 if pad is None else pad
    mods = [(f"{name}/conv", nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=False)),
            (f"{name}/norm", nn.BatchNorm2d(c_out, eps=VOVNET_BN_EPS))]
    return mods + ([(f"{name}/relu", nn.ReLU())] if relu else [])


class ESE(nn.Module):
    """Effective squeeze-excitation: x * hard_sigmoid(fc(GAP(x)))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * F.hardsigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class OSA(nn.Module):
    """One-shot aggregation block (V2 options: eSE, identity residual)."""

    def __init__(self, name: str, c_in: int, stage_ch: int, concat_ch: int, n_layers: int,
                 ese: bool, identity: bool) -> None:
        super().__init__()
        self.identity = identity
        self.layers = nn.ModuleList(
            nn.Sequential(OrderedDict(_conv_bn_relu(f"{name}_{i}", c_in if i == 0 else stage_ch,
                                                    stage_ch, 3)))
            for i in range(n_layers))
        self.concat = nn.Sequential(OrderedDict(
            _conv_bn_relu(f"{name}_concat", c_in + n_layers * stage_ch, concat_ch, 1)))
        self.ese = ESE(concat_ch) if ese else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats, cur = [x], x
        for layer in self.layers:
            cur = layer(cur)
            feats.append(cur)
        y = self.concat(torch.cat(feats, dim=1))
        if self.ese is not None:
            y = self.ese(y)
        return y + x if self.identity else y


class TorchVoVNet(nn.Module):
    """The graph model ``model`` (VoVNet layer types) as a torch module.

    Args:
        model: A GraphModelConfig whose layers are conv, osa, max_pool, global_avg_pool
            or linear.
    """

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        shapes = graph_shapes(model)
        self._ops: list[tuple[object, str]] = []
        for layer in model.layers:
            c_in = shapes[layer.inputs[0]][0]
            parent, _, leaf = layer.name.rpartition(".")
            box = self._container(parent)
            a = dict(layer.attrs)
            if layer.type == "conv":
                pad = None if a["pad"] < 0 else a["pad"]
                for key, mod in _conv_bn_relu(leaf, c_in, a["out_ch"], a["kernel"], a["stride"],
                                              pad, a["relu"]):
                    box.add_module(key, mod)
                if not a["bn"] or a["bias"]:
                    raise ValueError(f"layer {layer.name}: the trainer builds conv+BN without "
                                     "bias (set bn: true, bias: false)")
            elif layer.type == "osa":
                box.add_module(leaf, OSA(leaf, c_in, a["stage_ch"], a["concat_ch"], a["layers"],
                                         a["ese"], a["identity"]))
            elif layer.type == "max_pool":
                box.add_module(leaf, nn.MaxPool2d(a["kernel"], a["stride"], ceil_mode=True))
            elif layer.type == "linear":
                box.add_module(leaf, nn.Linear(c_in, a["out_features"]))
            elif layer.type != "global_avg_pool":
                raise ValueError(f"layer {layer.name}: type {layer.type} is not a VoVNet layer")

    def _container(self, path: str) -> nn.Module:
        box: nn.Module = self
        for part in path.split(".") if path else ():
            if not hasattr(box, part):
                box.add_module(part, nn.Module())
            box = getattr(box, part)
        return box

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) of uint8-valued pixels (N, C, H, W)."""
        maps = {"input": pixels.float() / PIXEL_SCALE}
        for layer in self.model.layers:
            x = maps[layer.inputs[0]]
            parent, _, leaf = layer.name.rpartition(".")
            box = self._container(parent)
            if layer.type == "conv":
                for key in ("conv", "norm", "relu"):
                    mod = box._modules.get(f"{leaf}/{key}")
                    x = mod(x) if mod is not None else x
            elif layer.type == "global_avg_pool":
                x = x.mean(dim=(2, 3), keepdim=True)
            elif layer.type == "linear":
                x = getattr(box, leaf)(x.flatten(1))[:, :, None, None]
            else:
                x = getattr(box, leaf)(x)
            maps[layer.name] = x
        return maps[self.model.output.name].flatten(1)
