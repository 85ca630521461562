"""`edgemoe quantize`: MixLLM-style global mixed precision, written as a precision map."""

from __future__ import annotations

import logging

from ._argtypes import add_trained_model_options, positive_int

log = logging.getLogger(__name__)

SELECTIONS = ("global", "per-layer", "random")


def _fraction(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1]: pass e.g. 0.1")
    return value


def _group_size(text: str) -> int:
    """``--group-size``: a positive integer, or ``row`` (one group per row)."""
    from ..numerics.int4 import ROW_GROUP

    return ROW_GROUP if text == "row" else positive_int(text)


def _run(args) -> int:
    from ..seeds import require_train_extra

    require_train_extra()
    import numpy as np

    from ..data import trained_weights
    from ..models import load_weights
    from ..params import load_model
    from ..seeds.mixllm_model import m3vit_salience, quantized_weight_names
    from ..seeds.precision_map import build_precision_map, write_precision_map
    from ..seeds.salience import select_global, select_per_layer, select_random

    model = load_model(args.model)
    if model.kind != "m3vit":
        raise ValueError(f"model '{model.name}' has kind '{model.kind}'; quantize supports "
                         "m3vit models")
    weights = load_weights(args.weights or trained_weights(args.model), model)
    names = quantized_weight_names(weights)
    bad = [k for k in names if weights[k].shape[-1] % args.group_size
           and args.group_size < weights[k].shape[-1]]  # >= K: one group per row
    if bad:
        raise ValueError(f"--group-size {args.group_size} does not divide the input width "
                         f"{weights[bad[0]].shape[-1]} of {bad[0]}; pick a divisor")
    scores = m3vit_salience(model, weights, args.calib, args.low_bits, args.group_size)
    if args.selection == "global":
        high = select_global(scores, args.high_bits_fraction)
    elif args.selection == "per-layer":
        high = select_per_layer(scores, args.high_bits_fraction)
    else:
        high = select_random({k: len(v) for k, v in scores.items()}, args.high_bits_fraction,
                             np.random.default_rng(args.seed))
    pmap = build_precision_map(
        {k: tuple(weights[k].shape) for k in names}, high, low_bits=args.low_bits,
        high_bits=8, group=args.group_size,
        meta={"model": model.name, "selection": args.selection,
              "high_bits_fraction": args.high_bits_fraction, "calib_scenes": args.calib})
    write_precision_map(args.out, pmap)
    log.info("wrote %s: %d of %d channels at 8 bits", args.out, pmap["high_channels"],
             pmap["channels"])
    return 0


def register(sub) -> None:
    p = sub.add_parser("quantize", help="choose 8-bit output channels by global salience (MixLLM)",
                       description="Score every output channel of the backbone's linear and "
                       "expert weights by the second-order Taylor estimate of the loss change "
                       "its low-precision quantisation causes (empirical Fisher over "
                       "calibration scenes), rank them across all layers and give the top "
                       "fraction 8 bits. Writes a JSON precision map (format: docs/seeds.md).")
    add_trained_model_options(p)
    p.add_argument("--high-bits-fraction", type=_fraction, default=0.1, metavar="R",
                   help="fraction of all channels at 8 bits (default 0.1)")
    p.add_argument("--calib", type=positive_int, default=16, metavar="N",
                   help="calibration scenes (default 16)")
    p.add_argument("--low-bits", type=int, choices=(2, 4), default=4,
                   help="bits of the low precision (default 4)")
    p.add_argument("--group-size", type=_group_size, default="row", metavar="G",
                   help="inputs per scale group, or `row` for one group per row (default "
                        "row: the fewest bytes at the same accuracy, docs/int8.md)")
    p.add_argument("--selection", choices=SELECTIONS, default="global",
                   help="global (default) or the per-layer / random baselines")
    p.add_argument("--seed", type=int, default=0, help="seed of --selection random")
    p.add_argument("--out", default="precision.json", help="output JSON (default precision.json)")
    p.set_defaults(func=_run)
