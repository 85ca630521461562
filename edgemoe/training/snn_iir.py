"""Train the digits IIR-SNN with the iterative timestep-reduction schedule (torch, CPU).

Run (needs the ``train`` extra: torch and scikit-learn)::

    nice -n 15 python -m edgemoe.training.snn_iir --out edgemoe/data/snn-digits.safetensors

Schedule (Chowdhury et al., "One Timestep is All You Need"):

1. ANN with ReLU, the same widths as the SNN;
2. conversion: each hidden layer's threshold = 90th percentile of its ANN pre-activations
   on the training split, leak 1;
3. surrogate-gradient training at T = 5, then T = 4, 3, 2, 1, each stage starting from the
   previous stage's weights, thresholds and leaks.

``--scratch`` instead trains a T = 1 SNN from a random initialisation for as many epochs
as the whole schedule (the baseline the schedule must beat).  After every step each weight
is clamped to the range of the fixed-point format the accelerator stores it in, so the
exported weights load without saturation.  A JSON record (arguments, per-stage test
accuracy, spike rates, wall time) is written beside the weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgemoe.host.outdir import atomic_path
from edgemoe.models import save_weights
from edgemoe.params import load_accel
from edgemoe.training.torch_snn import TorchSnn, digits_split

log = logging.getLogger("edgemoe.training")

#: Timesteps of the iterative schedule after conversion.
SCHEDULE = (5, 4, 3, 2, 1)
#: Percentile of the ANN pre-activations used as the converted threshold.
CONVERSION_PERCENTILE = 90.0
#: Adam learning rates of the ANN stage and of every SNN run (schedule stages and scratch).
ANN_LR, SNN_LR = 1e-3, 3e-4


@dataclass(frozen=True)
class Budget:
    """Epochs per stage."""

    ann: int = 60
    stage: int = 30

    @property
    def total(self) -> int:
        """Epochs of the whole schedule (the scratch baseline gets as many)."""
        return self.ann + self.stage * len(SCHEDULE)


def _epochs(net: TorchSnn, data, epochs: int, timesteps: int, lr: float, limits, seed: int,
            ann: bool = False) -> None:
    """``epochs`` passes of Adam over the training split, clamping after every step."""
    xtr, ytr = data
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            out = net.ann(xtr[idx]) if ann else net(xtr[idx], timesteps)
            loss = F.cross_entropy(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.clamp_(limits)


def accuracy(net: TorchSnn, x: torch.Tensor, y: torch.Tensor, timesteps: int | None) -> float:
    """Test accuracy at ``timesteps`` (None: the ANN)."""
    net.eval()
    with torch.no_grad():
        out = net.ann(x) if timesteps is None else net(x, timesteps)
    return float((out.argmax(1) == y).float().mean())


def train_iir(seed: int, budget: Budget, limits, widths: tuple[int, ...]) -> tuple[TorchSnn, dict]:
    """The full schedule; returns the T = 1 network and the per-stage test accuracies."""
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = digits_split()
    net = TorchSnn(64, widths, 10)
    _epochs(net, (xtr, ytr), budget.ann, 1, ANN_LR, limits, seed, ann=True)
    stages = {"ann": accuracy(net, xte, yte, None)}
    net.convert_(xtr, CONVERSION_PERCENTILE)
    stages["converted_t1"] = accuracy(net, xte, yte, 1)
    stages["converted_t5"] = accuracy(net, xte, yte, 5)
    for t in SCHEDULE:
        _epochs(net, (xtr, ytr), budget.stage, t, SNN_LR, limits, seed + t)
        stages[f"iir_t{t}"] = accuracy(net, xte, yte, t)
        log.info("seed %d  T=%d  test accuracy %.4f", seed, t, stages[f"iir_t{t}"])
    return net, stages


def train_scratch(seed: int, budget: Budget, limits, widths: tuple[int, ...]) -> tuple[TorchSnn, float]:
    """A T = 1 SNN from random weights (thresholds 1, leaks 1) for ``budget.total`` epochs."""
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = digits_split()
    net = TorchSnn(64, widths, 10)
    _epochs(net, (xtr, ytr), budget.total, 1, SNN_LR, limits, seed)
    return net, accuracy(net, xte, yte, 1)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(prog="python -m edgemoe.training.snn_iir", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="write the IIR T=1 weights (.safetensors/.npz)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[128, 128, 128])
    ap.add_argument("--accel", default="snn-tiny", help="design point whose formats clamp weights")
    ap.add_argument("--ann-epochs", type=int, default=Budget.ann)
    ap.add_argument("--stage-epochs", type=int, default=Budget.stage)
    ap.add_argument("--scratch", action="store_true", help="also train the T=1-from-scratch baseline")
    ap.add_argument("--record", type=Path, help="JSON record (default: beside --out)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if len(args.widths) < 3 or min(args.widths) < 1:
        log.error("--widths needs at least 3 positive spiking-layer widths, got %s", args.widths)
        return 2
    torch.set_num_threads(1)
    accel = load_accel(args.accel)
    limits = TorchSnn.format_limits(accel)
    budget, t0 = Budget(args.ann_epochs, args.stage_epochs), time.time()
    runs = []
    for seed in args.seeds:
        net, stages = train_iir(seed, budget, limits, tuple(args.widths))
        run = {"seed": seed, **stages}
        if args.scratch:
            run["scratch_t1"] = train_scratch(seed, budget, limits, tuple(args.widths))[1]
            log.info("seed %d  scratch T=1  test accuracy %.4f", seed, run["scratch_t1"])
        (_, _), (xte, _) = digits_split()
        run["spike_rates_t1"] = net.spike_rates(xte, 1)
        runs.append(run)
        if args.out and seed == args.seeds[0]:
            with atomic_path(args.out) as tmp:
                save_weights(net.export(), tmp)
    summary = {"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs,
               "wall_seconds": round(time.time() - t0, 1)}
    for key in ("ann", "converted_t1", "iir_t5", "iir_t1", "scratch_t1"):
        vals = np.array([r[key] for r in runs if key in r])
        if vals.size:
            summary[f"{key}_mean"], summary[f"{key}_sd"] = float(vals.mean()), float(vals.std(ddof=1) if vals.size > 1 else 0.0)
    record = args.record or (args.out.with_suffix(".train.json") if args.out else None)
    text = json.dumps(summary, indent=1)
    if record:
        with atomic_path(record) as tmp:
            Path(tmp).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
