"""Train a VoVNet classifier on scikit-learn's digits (torch, CPU, about a minute).

Run::

    nice -n 15 python -m edgemoe.training.train_vovnet --model vovnet-tiny \\
        --out edgemoe/data/vovnet-tiny-digits.safetensors

The network is built from the graph config with the official VoVNet module names
(:mod:`edgemoe.training.torch_vovnet`); its ``state_dict`` is imported through the official
name mapping and saved under the canonical names.  Adam with cosine decay, light weight
decay (so BatchNorm folding keeps the kernels inside the ``conv_weight`` range); the
BatchNorms are then put in eval mode.  A JSON record (arguments, per-epoch loss, float
test accuracy, wall time) is written beside the weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgemoe.data.digits import load_digits_split
from edgemoe.host.outdir import atomic_path
from edgemoe.models import save_weights
from edgemoe.models.vovnet_import import canonical_from_official
from edgemoe.params import load_model
from edgemoe.training.torch_vovnet import TorchVoVNet

log = logging.getLogger("edgemoe.training")


def accuracy(net: TorchVoVNet, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of ``net`` (eval mode) on uint8 pixels."""
    net.eval()
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(model_name: str, epochs: int, seed: int, lr: float = 3e-3,
          batch: int = 64) -> tuple[TorchVoVNet, dict]:
    """Train ``model_name`` on the digits split; returns the net and the run record."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny maps: threads only contend
    rng = np.random.default_rng(seed)
    model = load_model(model_name)
    net = TorchVoVNet(model)
    x_tr, y_tr, x_te, y_te = load_digits_split()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    losses, t0 = [], time.time()
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(y_tr))
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(net(torch.from_numpy(x_tr[idx])), torch.from_numpy(y_tr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        losses.append(total / len(order))
        log.info("epoch %d: loss %.4f", epoch, losses[-1])
    record = {"model": model_name, "epochs": epochs, "seed": seed, "lr": lr, "batch": batch,
              "loss": losses, "float_test_accuracy": accuracy(net, x_te, y_te),
              "train_seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    return net, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vovnet-tiny")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help=".safetensors or .npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    net, record = train(args.model, args.epochs, args.seed)
    weights = {k: v.astype(np.float32) for k, v in
               canonical_from_official(net.state_dict()).items()}
    with atomic_path(args.out) as tmp:
        save_weights(weights, tmp)
    with atomic_path(args.out.with_suffix(".train.json")) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    log.info("float test accuracy %.4f; wrote %s", record["float_test_accuracy"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
