"""Train an M3ViT on the synthetic street scenes (torch, CPU) and export safetensors.

Run (installs torch from the ``train`` extra)::

    nice -n 15 python -m edgemoe.training.train --model m3vit-demo \\
        --out edgemoe/data/m3vit-demo.safetensors

Both tasks are trained in every step (each with its own router), with cross-entropy
(classes weighted by inverse square-root frequency) for segmentation, abs-rel loss for
depth in metres and a Switch-style load-balancing loss per MoE block. After every step
each weight is clamped to the range of the format it is stored in on the accelerator
(``--accel``), so the exported weights load without saturation. A JSON record of the run
(arguments, steps, losses, validation metrics, wall time) is written beside the weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgemoe.compiler.quantize import role_of
from edgemoe.data.synthetic import CLASSES, load_split
from edgemoe.evaluation.metrics import DepthMetrics, SegMetrics
from edgemoe.host.outdir import atomic_path
from edgemoe.models import WeightError, load_weights, save_weights
from edgemoe.params import AccelConfig, load_accel, load_model
from edgemoe.training.torch_m3vit import TorchM3ViT

log = logging.getLogger("edgemoe.training")

BALANCE_WEIGHT = 0.05
"""Weight of the load-balancing loss (per MoE block and task)."""
WARMUP_STEPS = 60


def format_limits(net: TorchM3ViT, accel: AccelConfig) -> dict[str, tuple[float, float]]:
    """Trainable parameter name -> (min, max) of the format the accelerator stores it in."""
    limits = {}
    for name, p in net.named_parameters():
        try:
            fmt = getattr(accel.formats, role_of(name))
        except WeightError:  # cls_token: folded into pos_embed (act format), nothing to clamp
            continue
        if p.requires_grad:
            limits[name] = (fmt.min_value, fmt.max_value)
    return limits


def _clamp(net: TorchM3ViT, limits: dict[str, tuple[float, float]]) -> None:
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name, (lo, hi) in limits.items():
            params[name].clamp_(lo, hi)


def _class_weights(labels: np.ndarray) -> torch.Tensor:
    freq = np.bincount(labels.ravel(), minlength=len(CLASSES)) / labels.size
    w = 1.0 / np.sqrt(np.maximum(freq, 1e-4))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def _losses(net: TorchM3ViT, x: torch.Tensor, seg: torch.Tensor, depth: torch.Tensor,
            class_w: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    seg_loss = F.cross_entropy(net(x, 0), seg, weight=class_w)
    balance = net.balance_loss()
    pred = net(x, 1)[:, 0]
    depth_loss = ((pred - depth).abs() / depth).mean()
    balance = balance + net.balance_loss()
    total = seg_loss + depth_loss + BALANCE_WEIGHT * balance
    parts = {"seg": seg_loss.item(), "depth": depth_loss.item(), "balance": balance.item()}
    return total, parts


def _lr(step: int, progress: float, peak: float) -> float:
    """Linear warm-up, then cosine decay to 0 at ``progress`` 1."""
    if step < WARMUP_STEPS:
        return peak * (step + 1) / WARMUP_STEPS
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def evaluate(net: TorchM3ViT, px: np.ndarray, seg: np.ndarray, depth: np.ndarray,
             batch: int = 16) -> dict[str, float]:
    """mIoU, pixel accuracy, depth abs-rel and RMSE of the torch model (float32)."""
    sm, dm = SegMetrics(len(CLASSES)), DepthMetrics()
    net.eval()
    with torch.no_grad():
        for i in range(0, len(px), batch):
            x = torch.from_numpy(px[i:i + batch])
            sm.add(net(x, 0).argmax(1).numpy(), seg[i:i + batch])
            dm.add(net(x, 1)[:, 0].numpy(), depth[i:i + batch])
    net.train()
    return {"miou": sm.miou(), "pixel_acc": sm.pixel_accuracy(), "abs_rel": dm.abs_rel(),
            "rmse": dm.rmse()}


def train(args: argparse.Namespace) -> dict:
    """Train as ``args`` say, write the weights and return the run record."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    model = load_model(args.model)
    accel = load_accel(args.accel)
    net = TorchM3ViT(model)
    if args.init:  # continue from earlier weights (checked like any weight import)
        state = {k: torch.from_numpy(v.astype(np.float32))
                 for k, v in load_weights(args.init, model).items()}
        missing = net.load_state_dict(state, strict=False).missing_keys
        if any(not k.endswith("num_batches_tracked") for k in missing):
            raise WeightError(f"--init {args.init} lacks {missing}")
    else:
        with torch.no_grad():  # start the depth head at a plausible distance
            net.heads[model.tasks[1].name].get_submodule(
                f"conv_{model.head_upsamples}").bias.fill_(args.depth_init)
    limits = format_limits(net, accel)
    _clamp(net, limits)
    t0 = time.time()
    log.info("generating %d train and %d val scenes", args.train_scenes, args.val_scenes)
    px, seg, depth = load_split("train", args.train_scenes)
    val = load_split("val", args.val_scenes)
    class_w = _class_weights(seg)
    steps_per_epoch = len(px) // args.batch
    total = steps_per_epoch * args.epochs
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=0.05)
    history, step = [], 0
    t_start = time.time()  # the time budget covers the optimisation, not the data generation
    budget = 60.0 * args.max_minutes
    for epoch in range(args.epochs):
        order = rng.permutation(len(px))
        sums: dict[str, float] = {}
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * args.batch:(b + 1) * args.batch])
            x, s, d = (torch.from_numpy(px[idx]), torch.from_numpy(seg[idx]).long(),
                       torch.from_numpy(depth[idx]))
            if rng.random() < 0.5:  # a mirrored street is still a street
                x, s, d = x.flip(-1), s.flip(-1), d.flip(-1)
            # the schedule follows steps or the time budget, whichever is further along, so
            # the learning rate has decayed when a slow (shared) machine hits the budget
            progress = max(step / total, (time.time() - t_start) / budget)
            for g in opt.param_groups:
                g["lr"] = _lr(step, progress, args.lr)
            loss, parts = _losses(net, x, s, d, class_w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            _clamp(net, limits)
            step += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            if step % 20 == 0:
                log.info("epoch %d step %d/%d %s (%.0f s)", epoch, step, total,
                         " ".join(f"{k}={v:.4f}" for k, v in parts.items()), time.time() - t0)
            if progress >= 1.0:
                break
        history.append({k: v / max(1, b + 1) for k, v in sums.items()})
        log.info("epoch %d mean losses %s", epoch, history[-1])
        if progress >= 1.0 and step < total:
            log.warning("stopped at the %.0f-minute budget after %d of %d steps",
                        args.max_minutes, step, total)
            break
    metrics = evaluate(net, *val)
    log.info("val (float32 torch, %d scenes): %s", args.val_scenes, metrics)
    out = Path(args.out)
    with atomic_path(out) as tmp:  # never leave a half-written weight file
        save_weights({k: v.detach().numpy().astype(np.float32)
                      for k, v in net.canonical_state().items()}, tmp)
    record = {"command": " ".join(["python -m edgemoe.training.train", *sys.argv[1:]]),
              "args": vars(args), "steps": step, "planned_steps": total,
              "epochs_run": len(history), "loss_history": history,
              "val_torch_float32": metrics, "wall_seconds": round(time.time() - t0),
              "torch": torch.__version__}
    out.with_suffix(".train.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return record


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the training script."""
    p = argparse.ArgumentParser(prog="python -m edgemoe.training.train", description=__doc__)
    p.add_argument("--model", default="m3vit-demo", help="model config (configs/models)")
    p.add_argument("--accel", default="edge-moe-zcu102",
                   help="design point whose weight formats bound the weights")
    p.add_argument("--out", required=True, help="output .safetensors")
    p.add_argument("--train-scenes", type=int, default=2000)
    p.add_argument("--val-scenes", type=int, default=64)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--depth-init", type=float, default=15.0, help="initial depth bias, metres")
    p.add_argument("--init", metavar="FILE", help="start from these weights (.safetensors)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=60.0,
                   help="optimisation time budget: the schedule ends by then (logged)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m edgemoe.training.train``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.out.endswith(".safetensors"):
        print("error: --out must end in .safetensors", file=sys.stderr)
        return 2
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
