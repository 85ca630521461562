"""`edgemoe run`: run images through a model on the golden, csim, rtlsim or pynq backend."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..heads_option import add_heads_option
from ._argtypes import add_ports_option, positive_seconds

log = logging.getLogger(__name__)


#: Design points tried, in order, when neither --accel nor --design names one.
DEFAULT_ACCELS = ("tiny", "edge-moe-zcu102")


def default_accel(model):
    """The first design point of :data:`DEFAULT_ACCELS` (then of configs/accel) that holds
    ``model``.

    Raises:
        ConfigError: No design point holds the model (each one's reasons listed).
    """
    from ..params import ConfigError, load_accel
    from ..params.accel import list_accels

    names = list(DEFAULT_ACCELS) + [n for n in list_accels() if n not in DEFAULT_ACCELS]
    reasons = []
    for name in names:
        accel = load_accel(name)
        problems = accel.model_problems(model)
        if not problems:
            if name != DEFAULT_ACCELS[0]:
                log.info("design point %s holds %s (pass --accel to choose another)", name,
                         model.name)
            return accel
        reasons.append(f"{name}: {problems[0]}")
    raise ConfigError(f"no design point holds model {model.name} ({'; '.join(reasons)}): "
                      "write a design point with larger buffers and pass --accel FILE.yaml")


def resolve_source(args):
    """The Design to run from ``--package`` / ``--design`` / ``--model`` / ``--weights``."""
    from ..compiler import compile_model
    from ..heads_option import load_cli_weights
    from ..host.design import open_design, with_program
    from ..params import load_accel, load_model

    if args.package:
        design = open_design(args.package, args.accel)
    elif args.design and (Path(args.design) / "manifest.json").is_file():
        design = open_design(args.design, args.accel)
    else:
        model = load_model(args.model or "m3vit-micro")
        point = args.accel or args.design
        if point:
            accel = load_accel(point)
            accel.check_model(model)
        else:
            accel = default_accel(model)
        weights = load_cli_weights(args.weights, model, args.heads) if args.weights else None
        if weights is None:
            log.warning("no --weights: using seeded random weights (outputs are not meaningful)")
        return open_design(compile_model(model, accel, weights, heads=args.heads != "none",
                                         taps=_taps(args, model)), accel)
    if args.model and args.model != design.manifest["model"]:
        raise ValueError(f"{args.package or args.design} holds model "
                         f"{design.manifest['model']!r}, not {args.model!r}: drop --model or "
                         "pick the matching package")
    if args.weights:
        model = load_model(design.manifest["model"])
        weights = load_cli_weights(args.weights, model, args.heads)
        design = with_program(design, compile_model(model, design.accel, weights,
                                                    heads=args.heads != "none",
                                                    taps=_taps(args, model)))
    elif args.dump and not design.manifest["taps"].get("tensors"):
        raise ValueError(f"{args.package or args.design} was compiled without taps: pass "
                         "--weights to recompile with --dump, or run from --model")
    return design


def _taps(args, model) -> frozenset[str]:
    """The --dump tap names (empty without --dump)."""
    from ..compiler.taps import select_taps

    return select_taps(args.dump, model, heads=args.heads != "none") if args.dump else frozenset()


def _inputs(args) -> list[str]:
    """Every path the run reads (the output folder must hold none of them)."""
    paths = [*(args.image or []), args.weights, args.package, args.design, args.accel]
    return [p for p in paths if p and Path(p).exists()]


def _images(args, design) -> list[tuple[str, str, np.ndarray]]:
    """(output stem, source, planar pixels) per input, every file read before any run."""
    from ..host.images import read_image
    from ..host.outdir import unique_stems
    from ..models import image_to_pixels, load_default_image, resize_image
    from ..models.images import match_channels
    from ..params import load_model

    c, h, w = design.input_shape
    if not args.image:
        model = load_model(design.manifest["model"])
        return [("default", "default", load_default_image(model))]
    reserved = {"profile"} if args.profile else set()
    stems = unique_stems(args.image, reserved)
    return [(stem, str(path),
             match_channels(resize_image(image_to_pixels(read_image(path), "HWC"), h, w), c))
            for stem, path in zip(stems, args.image)]


def _run(args) -> int:
    from tqdm import tqdm

    from ..compiler.taps import save_taps
    from ..host import Accelerator
    from ..host.images import save_result
    from ..host.outdir import OutputDir

    design = resolve_source(args)
    if args.profile:
        from ..perf.report import check_ports
        check_ports(design.accel, args.ports)
    if args.task != "all" and args.task not in design.tasks:
        raise ValueError(f"unknown task {args.task!r}: this model has "
                         f"{', '.join(design.tasks)} (or all)")
    images = _images(args, design)
    options = {}
    if args.backend == "pynq":
        options = {"timeout_s": args.timeout, "download": not args.no_download}
    with Accelerator(design, backend=args.backend, **options) as acc:
        out = OutputDir(args.out, "run", overwrite=args.overwrite, inputs=_inputs(args))
        scale = max(1, 256 // design.input_shape[1])  # PNGs at least ~256 px high
        first, results = None, []
        bar = tqdm(images, unit="img", desc=f"{design.manifest['model']} on {args.backend}")
        for stem, source, pixels in bar:  # each image is saved as soon as it is done
            result = acc.run(pixels, task=args.task)[0]
            for task, pred in result.predictions.items():
                if result[task].shape[:2] == (1, 1):  # a classifier: say the class
                    bar.write(f"{stem}: {task} class {int(pred.reshape(-1)[0])}")
            for path in save_result(result, out, stem, scale=scale, source=source):
                bar.write(f"wrote {path}")
            if first is None:
                first = result
            if args.dump:
                taps_path = out.path / f"{stem}_taps.npz"
                bar.write(f"wrote {save_taps(result.taps, taps_path)}")
            results.append(result)
        if args.profile:
            _print_modelled(design, images[0][2], tuple(first.profiles), args.ports)
        for task, prof in first.profiles.items():
            if args.profile:
                print(prof.table())
                with out.file(f"profile_{task}.png") as tmp:
                    prof.plot(tmp)
                print(f"wrote {out.path / f'profile_{task}.png'}")
            else:
                _print_by_op(prof)
        out.finish()
        t = acc.timings
        print(f"{t.images} image(s), {t.runs} run(s): compute {t.compute:.3f} s, host "
              f"{t.host:.3f} s (pack {t.pack:.4f}, sync {t.sync:.4f}, decode {t.decode:.4f})")
        print(f"wrote {out.path / 'index.json'} ({len(out.entries)} files)")
        wrapped = _warn_overflows(results)
    if wrapped and args.strict:
        log.error("--strict: %d value(s) wrapped or saturated; fix the weights or widen "
                  "formats.act", wrapped)
        return 2
    return 0


def _warn_overflows(results) -> int:
    """Warn once per instruction that wrapped or saturated values; returns the total."""
    seen: dict[str, int] = {}
    for result in results:
        for prof in result.profiles.values():
            for e in prof.overflowed():
                seen[e.name] = seen.get(e.name, 0) + e.overflows
    for name, count in seen.items():
        log.warning("%s: %d value(s) wrapped or saturated in the activation format", name, count)
    return sum(seen.values())


def _print_modelled(design, pixels: np.ndarray, tasks: tuple[str, ...], ports: int) -> None:
    """Print the cycle model with the board's memory for the first image (MODELLED)."""
    from ..compiler.io import write_pixels
    from ..perf.report import model_tasks

    image = design.image.copy()
    write_pixels(image, design.manifest, pixels)
    indices = {name: i for i, name in enumerate(design.tasks)}
    for task, pm in model_tasks(design.accel, design.instrs, image, design.program_offset,
                                design.status_offset, design.tasks, ports=ports).items():
        if task in tasks and task in indices:
            print(f"task {task}: " + pm.table())


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
                       ".png and <image>.npz per image (each as soon as it is done), an "
                       "index.json listing them, and prints the per-op breakdown.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--package", metavar="DIR", help="deploy package bitstreams/<name>/")
    src.add_argument("--design", metavar="DIR|ACCEL",
                     help="compiled design directory, or a design point to compile for "
                     "(default: tiny, else the first that holds the model)")
    p.add_argument("--backend", choices=("golden", "csim", "rtlsim", "pynq"), default="golden")
    p.add_argument("--model", help="model name (m3vit-micro, m3vit-tiny); compiles when no "
                   "compiled design is given (default m3vit-micro)")
    p.add_argument("--accel", help="design point override (name or YAML path)")
    p.add_argument("--weights", metavar="FILE", help=".npz/.safetensors or Edge-MoE .bin dir")
    add_heads_option(p)
    p.add_argument("--task", default="all", help="seg, depth or all (default all)")
    p.add_argument("--image", nargs="*", metavar="FILE",
                   help="input images (default: the model's shipped street scene)")
    p.add_argument("--out", default="build/run", metavar="DIR",
                   help="output folder (new, empty, or an earlier run's with --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier edgemoe run in --out")
    p.add_argument("--profile", action="store_true",
                   help="print the per-instruction table, the cycle model with the board's "
                   "memory (modelled) and plot profile_<task>.png")
    add_ports_option(p)
    p.add_argument("--dump", nargs="+", metavar="all|NAME",
                   help="also write intermediate tensors (taps, e.g. blocks.0.norm1) to "
                   "<image>_taps.npz; 'all' for every tap")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 2 when any value wrapped or saturated")
    p.add_argument("--timeout", type=positive_seconds, default=30.0,
                   help="pynq: seconds per run (finite, > 0)")
    p.add_argument("--no-download", action="store_true",
                   help="pynq: the bitstream is already loaded")
    p.set_defaults(func=_run)
