"""`edgemoe compress`: prune MLP and expert weights to whole zero engine tiles (Turbo-VBI)."""

from __future__ import annotations

import argparse
import json
import logging

from ._argtypes import add_trained_model_options

log = logging.getLogger(__name__)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1): pass e.g. 0.75")
    return value


def _run(args) -> int:
    from ..seeds import require_train_extra

    require_train_extra()
    from pathlib import Path

    from ..data import trained_weights
    from ..host.outdir import atomic_path, write_text_atomic
    from ..models import load_weights, save_weights
    from ..params import load_accel, load_model
    from ..seeds.compress_model import compress_weights

    out = Path(args.out)
    if out.suffix not in (".npz", ".safetensors"):
        raise ValueError(f"--out {out}: use a .npz or .safetensors file name")
    model = load_model(args.model)
    if model.kind != "m3vit":
        raise ValueError(f"model '{model.name}' has kind '{model.kind}'; compress supports "
                         "m3vit models")
    accel = load_accel(args.accel)
    tile = (accel.linear_p_out, accel.linear_p_in)
    weights = load_weights(args.weights or trained_weights(args.model), model)
    pruned, rates, dead = compress_weights(weights, tile, args.target_tile_skip)
    with atomic_path(out) as tmp:
        save_weights(pruned, tmp)
    report = {"model": model.name, "accel": accel.name, "tile": list(tile),
              "target_tile_skip": args.target_tile_skip, "tile_skip": rates,
              "dead_neurons": dead}
    write_text_atomic(out.with_suffix(".compress.json"), json.dumps(report, indent=2) + "\n")
    log.info("wrote %s (%d matrices pruned, %s tiles)", out, len(rates), "x".join(map(str, tile)))
    return 0


def register(sub) -> None:
    p = sub.add_parser("compress", help="prune MLP/expert weights to zero engine tiles (Turbo-VBI)",
                       description="Infer each MLP and expert matrix's support with Turbo-VBI's "
                       "module A (Gamma precisions) and module B (sum-product on the weight-grid "
                       "MRF), keep the engine tiles with the largest posterior energy and zero "
                       "the rest, so that --target-tile-skip of the tiles are all-zero; hidden "
                       "neurons left without fc1 weights are folded into fc2's bias (the "
                       "compiler then drops them). Writes the weights and a .compress.json with the achieved rate per matrix. "
                       "No retraining (the digits experiment in docs/seeds.md retrains).")
    add_trained_model_options(p)
    p.add_argument("--accel", default="edge-moe-zcu102",
                   help="design point whose linear tile P_OUT x P_IN is the pruning unit")
    p.add_argument("--target-tile-skip", type=_fraction, required=True, metavar="X",
                   help="fraction of all-zero tiles per matrix, e.g. 0.75")
    p.add_argument("--out", default="compressed.safetensors",
                   help="output weights (default compressed.safetensors)")
    p.set_defaults(func=_run)
