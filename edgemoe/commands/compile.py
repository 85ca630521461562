"""`edgemoe compile`: model + weights -> program, memory image and manifest in a folder."""

from __future__ import annotations

import logging

from ..heads_option import add_heads_option

log = logging.getLogger(__name__)


def _run(args) -> int:
    from ..compiler import compile_model
    from ..heads_option import load_cli_weights
    from ..params import load_accel, load_model

    model = load_model(args.model)
    accel = load_accel(args.accel, args.set or ())
    accel.check_model(model)
    weights = load_cli_weights(args.weights, model, args.heads, args.seed) \
        if args.weights else None
    if weights is None:
        log.warning("no --weights: using seeded random weights (seed %d)", args.seed)
    compiled = compile_model(model, accel, weights, seed=args.seed, strict=args.strict,
                             heads=args.heads != "none")
    out = compiled.save(args.out)
    m = compiled.manifest
    print(f"wrote {out}/manifest.json and image.bin: {model.name} for {accel.name} "
          f"(config_id {m['config_id']}), {compiled.n_instructions} instructions, "
          f"{compiled.image.size / 2**20:.1f} MiB")
    if args.listing:
        for i, ins in enumerate(compiled.instrs):
            print(f"  {i:4d} {m['program']['names'][i]:<34} {ins}")
    if args.perf:
        _print_modelled(compiled, model, accel)
    report = compiled.report
    if report.saturated or report.underflowed:
        kinds = ["saturated"] * bool(report.saturated) + ["underflowing"] * bool(report.underflowed)
        print(f"{' and '.join(kinds)} weights:\n" + report.summary())
    return 0


def _print_modelled(compiled, model, accel) -> None:
    """The cycle model with the board's memory per task, on the model's default image."""
    from ..compiler.io import write_pixels
    from ..models import load_default_image
    from ..perf.report import model_tasks

    image = compiled.fresh_image()
    write_pixels(image, compiled.manifest, load_default_image(model))
    for task, pm in model_tasks(accel, compiled.instrs, image, compiled.program_offset,
                                compiled.status_offset, compiled.manifest["tasks"]).items():
        print(f"task {task} (default image): " + pm.table())


def register(sub) -> None:
    p = sub.add_parser("compile", help="compile a model into a program + memory image folder")
    p.add_argument("--model", required=True, help="model name (configs/models) or YAML path")
    p.add_argument("--accel", required=True, help="design point name or YAML path")
    p.add_argument("--weights", metavar="FILE", help=".npz/.safetensors or Edge-MoE .bin dir")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    add_heads_option(p)
    p.add_argument("--strict", action="store_true", help="refuse weights that saturate")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a design-point key (repeatable)")
    p.add_argument("--list", dest="listing", action="store_true", help="print the program")
    p.add_argument("--perf", action="store_true",
                   help="print the cycle model with the board's memory per task (modelled)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_run)
