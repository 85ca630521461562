"""M3ViT in PyTorch with M3ViT's parameter names, for training on CPU.

The forward pass is the numpy float reference (:mod:`edgemoe.models.m3vit`) written in
torch: pixels / 256, patch embedding, CLS folded with the position embedding, pre-norm
blocks with timm attention, exact GELU, per-task top-k routers (ties to the lower index,
gates = un-renormalised softmax probabilities) and SETR-PUP heads with bilinear x2
upsampling (``align_corners=False``). ``state_dict()`` (minus BatchNorm's step counter) is
a canonical weight set that :func:`edgemoe.models.load_weights` accepts.

The heads' BatchNorms are frozen at identity (mean 0, var 1 - eps, gamma 1, beta 0): the
accelerator folds them into the convs, and freezing them keeps the folded conv weights
equal to the trained ones, inside the conv format's range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgemoe.models.m3vit import PIXEL_SCALE
from edgemoe.models.weights import BN_EPS, head_conv_count
from edgemoe.params import ModelConfig

__all__ = ["TorchM3ViT"]


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # scale hd**-0.5
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class _DenseMlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, task: int) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _Experts(nn.Module):
    """All experts' fc1 (``htoh4``) and fc2 (``h4toh``) weights stacked on axis 0."""

    def __init__(self, experts: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.htoh4 = nn.ParameterDict({
            "weight": nn.Parameter(torch.randn(experts, hidden, dim) * 0.02),
            "bias": nn.Parameter(torch.zeros(experts, hidden))})
        self.h4toh = nn.ParameterDict({
            "weight": nn.Parameter(torch.randn(experts, dim, hidden) * 0.02),
            "bias": nn.Parameter(torch.zeros(experts, dim))})


class _Gate(nn.Module):
    def __init__(self, dim: int, experts: int) -> None:
        super().__init__()
        self.w_gate = nn.Parameter(torch.randn(dim, experts) * 0.02)


class _MoeMlp(nn.Module):
    """Per-task router + top-k experts, computed expert by expert over its tokens."""

    def __init__(self, model: ModelConfig) -> None:
        super().__init__()
        self.top_k = model.top_k
        self.gate = nn.ModuleList(_Gate(model.dim, model.num_experts) for _ in model.tasks)
        self.experts = _Experts(model.num_experts, model.dim, model.expert_hidden)
        self.balance_loss = torch.zeros(())
        self.last_indices = torch.zeros(0, dtype=torch.long)

    def forward(self, x: torch.Tensor, task: int) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = x @ self.gate[task].w_gate
        probs = logits.softmax(dim=-1)
        # stable sort on -logits: equal logits keep the lower expert first (as the reference)
        idx = torch.sort(-logits.detach(), dim=-1, stable=True).indices[:, : self.top_k]
        gates = probs.gather(1, idx)
        e_count = probs.shape[1]
        share = F.one_hot(idx, e_count).sum(1).float().mean(0) / self.top_k
        self.balance_loss = e_count * (share * probs.mean(0)).sum()  # Switch-style balance
        self.last_indices = idx.detach()
        w1, b1 = self.experts.htoh4["weight"], self.experts.htoh4["bias"]
        w2, b2 = self.experts.h4toh["weight"], self.experts.h4toh["bias"]
        y = torch.zeros_like(x)
        for e in range(e_count):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            h = F.gelu(x[tok] @ w1[e].T + b1[e]) @ w2[e].T + b2[e]
            y = y.index_add(0, tok, gates[tok, slot, None] * h)
        return y.reshape(shape)


class _Block(nn.Module):
    def __init__(self, model: ModelConfig, moe: bool) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(model.dim, eps=model.ln_eps)
        self.attn = _Attention(model.dim, model.heads)
        self.norm2 = nn.LayerNorm(model.dim, eps=model.ln_eps)
        self.mlp = _MoeMlp(model) if moe else _DenseMlp(model.dim, model.mlp_hidden)

    def forward(self, x: torch.Tensor, task: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x), task)


class _Head(nn.Module):
    """SETR-PUP head: LN, n x (conv3x3, BN, ReLU, up x2 but the last), conv1x1, up x2."""

    def __init__(self, model: ModelConfig, channels: int) -> None:
        super().__init__()
        n, hc = head_conv_count(model), model.head_channels
        self.n, self.grid = n, (model.grid_h, model.grid_w)
        self.norm = nn.LayerNorm(model.dim, eps=model.ln_eps)
        for j in range(n):
            self.add_module(f"conv_{j}", nn.Conv2d(model.dim if j == 0 else hc, hc, 3, padding=1))
            bn = nn.BatchNorm2d(hc, eps=BN_EPS)
            bn.running_var.fill_(1.0 - BN_EPS)
            bn.requires_grad_(False)
            self.add_module(f"syncbn_fc_{j}", bn)
        self.add_module(f"conv_{n}", nn.Conv2d(hc, channels, 1))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.norm(patches).transpose(1, 2).reshape(patches.shape[0], -1, *self.grid)
        for j in range(self.n):
            bn = getattr(self, f"syncbn_fc_{j}")
            x = getattr(self, f"conv_{j}")(x)
            x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0,
                             BN_EPS)  # always eval statistics (frozen identity)
            x = F.relu(x)
            if j < self.n - 1:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = getattr(self, f"conv_{self.n}")(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class TorchM3ViT(nn.Module):
    """Trainable M3ViT for ``model`` (an M3ViT ``ModelConfig``).

    Args:
        model: Model shape.
    """

    def __init__(self, model: ModelConfig) -> None:
        super().__init__()
        self.model = model
        d = model.dim
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(model.in_chans, d, model.patch, stride=model.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, model.num_tokens, d) * 0.02)
        self.blocks = nn.ModuleList(_Block(model, model.is_moe(i)) for i in range(model.depth))
        self.heads = nn.ModuleDict({t.name: _Head(model, t.channels) for t in model.tasks})
        for name, p in self.named_parameters():
            if p.dim() == 2 and ("attn" in name or "fc" in name):
                nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)
            elif name.endswith("bias") and ("attn" in name or "fc" in name):
                nn.init.zeros_(p)

    def backbone(self, pixels: torch.Tensor, task: int) -> torch.Tensor:
        """(B, 3, H, W) uint8 or float pixel bytes -> (B, tokens, dim) backbone output."""
        scaled = pixels.to(self.pos_embed.dtype) / PIXEL_SCALE
        x = self.patch_embed.proj(scaled).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x, task)
        return x

    def forward(self, pixels: torch.Tensor, task: int) -> torch.Tensor:
        """Head output of ``task`` (index): (B, channels, H, W) logits or depth."""
        tokens = self.backbone(pixels, task)
        return self.heads[self.model.tasks[task].name](tokens[:, 1:])

    def balance_loss(self) -> torch.Tensor:
        """Sum of the MoE blocks' load-balancing losses of the last forward."""
        return sum((b.mlp.balance_loss for b in self.blocks if isinstance(b.mlp, _MoeMlp)),
                   torch.zeros(()))

    def canonical_state(self) -> dict[str, torch.Tensor]:
        """``state_dict`` without BatchNorm's ``num_batches_tracked`` counters."""
        return {k: v for k, v in self.state_dict().items()
                if not k.endswith("num_batches_tracked")}
