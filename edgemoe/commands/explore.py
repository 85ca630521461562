"""`edgemoe explore`: search design points of a board for a model, print the Pareto table
(MODELLED latency with the board's memory, estimated LUT/FF/DSP/BRAM) and write the
chosen design point as a configs/accel YAML file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ._argtypes import (
    add_int8_attn_option,
    add_int8_heads_option,
    int8_attn,
    int8_heads,
    positive_int,
    positive_seconds,
)

log = logging.getLogger(__name__)


def _base_for(board: str) -> str:
    """The design point of configs/accel whose board is ``board`` (largest DSP estimate)."""
    from ..params import list_accels, load_accel
    from ..params.board import load_boards

    if board not in load_boards():
        raise ValueError(f"unknown board {board!r}: use one of {', '.join(load_boards())}")
    mine = [load_accel(n) for n in list_accels()]
    mine = [a for a in mine if a.board.key == board]
    if not mine:
        raise ValueError(f"no design point in configs/accel targets {board}: add one, or pass "
                         "--base NAME with a design point to start from")
    return max(mine, key=lambda a: a.dsp_estimate).name


def _routing(base: str, model_name: str) -> dict[int, list[int]]:
    """MoE routing of the model's default image (bit-exact on every design point)."""
    from ..compiler import compile_model
    from ..compiler.io import write_pixels
    from ..models import load_default_image
    from ..params import load_accel, load_model
    from ..perf import golden_routing

    # (the W16A32 program's: an int8-only base builds the act attention for it here)
    accel, model = load_accel(base, ("attn_act=true",)), load_model(model_name)
    c = compile_model(model, accel)
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    return golden_routing(image, accel, c.program_offset, c.instrs, 0, c.status_offset)


def _int8_ranges(model_name: str, n: int, flag: str = "--int8", heads: bool = False,
                 attn: bool = False) -> dict[str, float]:
    """W8A8 input ranges of every int8-capable layer (``heads``: the head convs too,
    ``attn``: the attentions' q, k, v) of the model's seeded random weights (the weights
    explore compiles), on its default image and ``n - 1`` seeded random ones."""
    from ..compiler.calibrate import calibration_images, int8_layers, linear_input_ranges
    from ..models import random_weights
    from ..params import load_model

    model = load_model(model_name)
    images = calibration_images(model, n, flag, 0)
    return linear_input_ranges(model, random_weights(model, 0), images,
                               int8_layers(model, heads, attn))


def _mixed_program(model_name: str, path: str, n_images: int, int8_rest: bool, heads: bool,
                   attn: bool = False):
    """``explore``'s ``mixed``, ``int8`` and ``program`` for a precision map: its layers mixed
    int4/int8 on the model's seeded random weights (the weights explore compiles),
    calibrated on ``n_images`` images; the cache name carries the map's digest."""
    import hashlib
    import json

    from ..compiler.mixed import map_choices
    from ..models import random_weights
    from ..params import load_model
    from ..seeds.precision_map import read_precision_map

    model = load_model(model_name)
    pmap = read_precision_map(path)
    ranges = _int8_ranges(model_name, n_images, "--precision-map", heads, attn)
    mixed, int8 = map_choices(pmap, model, random_weights(model, 0), ranges, int8_rest)
    digest = hashlib.sha256(json.dumps(pmap, sort_keys=True).encode()).hexdigest()[:12]
    rest = "-w8a8" * int8_rest + "-heads" * heads + "-attn" * attn
    return mixed, int8, f"mixed{rest}-{digest}"


def _table(front: list[dict]) -> str:
    head = (f"{'config_id':<9} {'latency ms (modelled)':<24} {'LUT':>8} {'FF':>8} {'DSP':>5} "
            f"{'BRAM36':>6}  overrides")
    lines = [head, "-" * len(head)]
    for r in front:
        lat = ", ".join(f"{t} {v:.2f}" for t, v in r["latency_ms"].items())
        lines.append(f"{r['config_id']:<9} {lat:<24} {r['LUT']:>8,} {r['FF']:>8,} {r['DSP']:>5,} "
                     f"{r['BRAM36']:>6,}  {' '.join(r['overrides'])}")
    return "\n".join(lines)


def _program_words(args, int8) -> str:
    """What the candidates ran, for the summary line."""
    if args.precision_map:
        rest = " + W8A8 elsewhere" if int8 else ""
        return f", mixed int4/int8 programs of {args.precision_map}{rest}"
    if int8:
        return (", W8A8 programs" + (" with W8A8 head convs" if args.int8_heads else "")
                + (" with int8 attention" if args.int8_attn else ""))
    return ""


def _run(args) -> int:
    from ..params import load_accel, load_model
    from ..params.accel import ALL_WEIGHT_FORMATS
    from ..perf.explore import SPACES, explore, pareto, write_design, yosys_calibration

    load_model(args.model)  # a bad model name fails before the cluster starts
    base = args.base or _base_for(args.board)
    if load_accel(base).board.key != args.board:
        raise ValueError(f"--base {base} targets {load_accel(base).board.key}, not "
                         f"{args.board}: pick a design point of {args.board}")
    calibration = yosys_calibration(load_accel(base), args.timeout) if args.calibrate else None
    if calibration:
        print("Yosys calibration of the estimate (measured / estimated): " +
              ", ".join(f"{k} {v:.2f}" for k, v in calibration.items()))
    cache = Path(args.cache) / f"{args.board}-{args.model}"
    mixed, program, space = None, "", dict(SPACES[args.space])
    heads, attn = int8_heads(args), int8_attn(args)
    # every candidate builds the int8 attention iff its program runs it (the base may
    # build it: edge-moe-zcu102-w8a8 does; it costs a W16A32 or W8A8-only program area)
    space["attn_q8"] = ("true",) if attn else ("false",)
    # and the act attention unless the base leaves it out for an int8 attention program
    space["attn_act"] = ("true",) if not attn or load_accel(base).attn_act else ("false",)
    if args.precision_map:
        mixed, int8, program = _mixed_program(args.model, args.precision_map,
                                              max(args.int8, 1), bool(args.int8), heads, attn)
        key, _, formats = ALL_WEIGHT_FORMATS.partition("=")  # every candidate builds int4
        space[key] = (formats,)
    else:
        int8 = _int8_ranges(args.model, args.int8, heads=heads, attn=attn) if args.int8 \
            else None
        program = ("w8a8" + "-heads" * heads + "-attn" * attn) if heads or attn else ""
    results = explore(base, args.model, space, cache, _routing(base, args.model),
                      scheduler=args.scheduler, workers=args.workers, calibration=calibration,
                      progress=lambda d, n: print(f"\r{d}/{n} candidates", end="",
                                                  file=sys.stderr), int8=int8, mixed=mixed,
                      program=program)
    print(file=sys.stderr)
    front = pareto(results)
    fits = sum(1 for r in results if r.get("fits"))
    print(f"{len(results)} candidates from {base} ({args.space} space"
          f"{_program_words(args, int8)}), {fits} fit "
          f"{args.board}; Pareto front (cache {cache}):")
    if not front:
        print("no candidate fits: " + next((r["reason"] for r in results if r.get("reason")),
                                            "see the cache files"))
        return 1
    print(_table(front))
    best = front[0]
    path = write_design(base, best["overrides"], Path(args.out),
                        f"chosen by edgemoe explore --board {args.board} --model {args.model}: "
                        f"fastest fitting point, {best['latency_ms']} ms MODELLED")
    print(f"wrote {path} (config_id {best['config_id']})")
    return 0


def register(sub) -> None:
    from ..perf.explore import SPACES

    p = sub.add_parser("explore", help="search design points of a board for a model "
                                       "(Dask), print the Pareto table, write the chosen one")
    p.add_argument("--board", required=True, help="board key (configs/boards.yaml)")
    p.add_argument("--model", required=True, help="model name (configs/models)")
    p.add_argument("--base", help="design point the search starts from (default: the "
                                  "largest one of configs/accel on the board)")
    p.add_argument("--space", choices=sorted(SPACES), default="small",
                   help="search space (edgemoe/perf/explore.py SPACES)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler to use (default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    p.add_argument("--cache", default="build/explore", metavar="DIR",
                   help="results by config_id; a rerun evaluates only what is missing")
    p.add_argument("--calibrate", action="store_true",
                   help="scale the resource estimate by Yosys counts of the base design")
    p.add_argument("--timeout", type=positive_seconds, default=None,
                   help="Yosys time limit in seconds (with --calibrate)")
    p.add_argument("--int8", type=positive_int, metavar="N", default=0,
                   help="model each candidate's W8A8 program (attention, MLPs, experts), "
                        "calibrated on the default image and N-1 seeded random images")
    add_int8_heads_option(p)
    add_int8_attn_option(p)
    p.add_argument("--precision-map", metavar="FILE",
                   help="model each candidate's program with the map's layers mixed int4/int8 "
                        "(`edgemoe quantize`); with --int8 N every other layer in W8A8")
    p.add_argument("--out", default="build/explore/chosen.yaml", metavar="YAML",
                   help="where to write the chosen design point")
    p.set_defaults(func=_run)
