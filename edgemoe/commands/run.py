"""`edgemoe run`: run images through a model on the golden, csim or pynq backend."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def resolve_source(args):
    """The Design to run from ``--package`` / ``--design`` / ``--model`` / ``--weights``."""
    from ..compiler import compile_model
    from ..host.design import open_design, with_program
    from ..models import load_weights
    from ..params import load_accel, load_model

    if args.package:
        design = open_design(args.package, args.accel)
    elif args.design and (Path(args.design) / "manifest.json").is_file():
        design = open_design(args.design, args.accel)
    else:
        point = args.accel or args.design or "tiny"
        model = load_model(args.model or "m3vit-micro")
        accel = load_accel(point)
        weights = load_weights(args.weights, model) if args.weights else None
        if weights is None:
            log.warning("no --weights: using seeded random weights (outputs are not meaningful)")
        return open_design(compile_model(model, accel, weights), accel)
    if args.model and args.model != design.manifest["model"]:
        raise ValueError(f"{args.package or args.design} holds model "
                         f"{design.manifest['model']!r}, not {args.model!r}: drop --model or "
                         "pick the matching package")
    if args.weights:
        model = load_model(design.manifest["model"])
        design = with_program(design, compile_model(model, design.accel,
                                                    load_weights(args.weights, model)))
    return design


def _run(args) -> int:
    from tqdm import tqdm

    from ..host import Accelerator
    from ..host.images import read_image, save_result
    from ..models import load_default_image
    from ..params import load_model

    design = resolve_source(args)
    options = {}
    if args.backend == "pynq":
        options = {"timeout_s": args.timeout, "download": not args.no_download}
    if args.image:
        images = [(Path(p).stem, read_image(p)) for p in args.image]
    else:
        images = [("default", load_default_image(load_model(design.manifest["model"])))]
    out = Path(args.out)
    with Accelerator(design, backend=args.backend, **options) as acc:
        results = acc.run(tqdm((img for _, img in images), total=len(images), unit="img",
                               desc=f"{design.manifest['model']} on {args.backend}"),
                          task=args.task)
        scale = max(1, 256 // design.input_shape[1])  # PNGs at least ~256 px high
        for (stem, _), result in zip(images, results):
            for path in save_result(result, out, stem, scale=scale):
                print(f"wrote {path}")
        first = results[0]
        for task, prof in first.profiles.items():
            if args.profile:
                print(prof.table())
                print(f"wrote {prof.plot(out / f'profile_{task}.png')}")
            else:
                _print_by_op(prof)
        t = acc.timings
        print(f"{t.images} image(s), {t.runs} run(s): compute {t.compute:.3f} s, host "
              f"{t.host:.3f} s (pack {t.pack:.4f}, sync {t.sync:.4f}, decode {t.decode:.4f})")
    return 0


def _print_by_op(prof) -> None:
    tot = prof.totals()
    print(f"task {prof.task}: {int(tot['cycles']):,} {prof.cycles_source} cycles = "
          f"{tot['latency_us']:.1f} us at {prof.clock_mhz:g} MHz")
    print(f"  {'op':<12} {'count':>5} {'MACs':>14} {'bytes':>12} {'cycles':>12} {'share':>6}")
    for op, agg in prof.by_op().items():
        share = 100 * agg["cycles"] / max(int(tot["cycles"]), 1)
        print(f"  {op:<12} {agg['count']:>5} {agg['macs']:>14,} {agg['bytes']:>12,} "
              f"{agg['cycles']:>12,} {share:>5.1f}%")


def register(sub) -> None:
    p = sub.add_parser("run", help="run images through a model on an executor",
                       description="Run images through a compiled model; writes <image>_<task>"
                       ".png and <image>.npz per image and prints the per-op breakdown.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--package", metavar="DIR", help="deploy package bitstreams/<name>/")
    src.add_argument("--design", metavar="DIR|ACCEL",
                     help="compiled design directory, or a design point to compile for "
                     "(default: tiny)")
    p.add_argument("--backend", choices=("golden", "csim", "pynq"), default="golden")
    p.add_argument("--model", help="model name (m3vit-micro, m3vit-tiny); compiles when no "
                   "compiled design is given (default m3vit-micro)")
    p.add_argument("--accel", help="design point override (name or YAML path)")
    p.add_argument("--weights", metavar="FILE", help=".npz/.safetensors or Edge-MoE .bin dir")
    p.add_argument("--task", default="all", help="seg, depth or all (default all)")
    p.add_argument("--image", nargs="*", metavar="FILE",
                   help="input images (default: the model's shipped street scene)")
    p.add_argument("--out", default="build/run", metavar="DIR", help="output folder")
    p.add_argument("--profile", action="store_true",
                   help="print the per-instruction table and plot profile_<task>.png")
    p.add_argument("--timeout", type=float, default=30.0, help="pynq: seconds per run")
    p.add_argument("--no-download", action="store_true",
                   help="pynq: the bitstream is already loaded")
    p.set_defaults(func=_run)
