"""`edgemoe compare`: per-tap error of an executor against the float reference."""

from __future__ import annotations

import logging

from ..heads_option import add_heads_option

log = logging.getLogger(__name__)


def _run(args) -> int:
    from ..compare_taps import float_taps, format_report, routing_agreement, tap_errors
    from ..compiler import compile_model
    from ..compiler.taps import tap_names
    from ..heads_option import load_cli_weights
    from ..host import Accelerator
    from ..host.design import open_design
    from ..host.images import read_image
    from ..models import load_default_image
    from ..models.m3vit import M3ViTReference
    from ..params import load_accel, load_model
    from .run import default_accel

    model = load_model(args.model)
    accel = load_accel(args.accel) if args.accel else default_accel(model)
    if hasattr(model, "layers"):
        return _run_graph(args, model, accel)
    heads = args.heads != "none"
    weights = load_cli_weights(args.weights, model, args.heads)
    compiled = compile_model(model, accel, weights, heads=heads,
                             taps=frozenset(tap_names(model, heads)))
    # a backbone-only compile rounds no heads: the reference takes them as loaded (unused)
    ref = M3ViTReference(model, {**weights, **compiled.effective_weights})
    image = read_image(args.image) if args.image else load_default_image(model)
    errors, agreement = [], {}
    with Accelerator(open_design(compiled, accel), backend=args.backend) as acc:
        pixels = acc.prepare(image)
        result = acc.run(pixels, task=args.task)[0]
    for task, device in result.taps.items():
        reference = float_taps(ref, pixels, task)
        if not heads:
            reference.pop(f"heads.{task}", None)
        errors += tap_errors(device, reference, task)
        agreement[task] = routing_agreement(device, reference, model)
    print(f"{model.name} on {args.backend} ({accel.name}) vs the float64 reference on the "
          "same rounded weights")
    print(format_report(errors, agreement))
    return 0


def _run_graph(args, model, accel) -> int:
    """A layer graph: every layer's output map against the float64 graph reference."""
    from ..compare_taps import format_report, graph_float_taps, tap_errors
    from ..compiler import compile_model
    from ..compiler.taps import tap_names
    from ..host import Accelerator
    from ..host.design import open_design
    from ..host.images import read_image
    from ..models import load_default_image, load_weights
    from ..models.graph import GraphReference

    weights = load_weights(args.weights, model)
    compiled = compile_model(model, accel, weights, taps=frozenset(tap_names(model)))
    image = read_image(args.image) if args.image else load_default_image(model)
    with Accelerator(open_design(compiled, accel), backend=args.backend) as acc:
        pixels = acc.prepare(image)
        result = acc.run(pixels, task=model.task.name)[0]
    reference = graph_float_taps(GraphReference(model, weights), pixels,
                                 result.taps[model.task.name])
    errors = tap_errors(result.taps[model.task.name], reference, model.task.name)
    print(f"{model.name} on {args.backend} ({accel.name}) vs the float64 reference on the "
          "unrounded weights (errors include the weights' rounding)")
    print(format_report(errors, {}))
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="per-tap error of an executor against the float model",
                       description="Compile with every tap, run one image on an executor and "
                       "the float64 reference on the same rounded weights; print the relative "
                       "and max error of every tap and the routing agreement per MoE block.")
    p.add_argument("--weights", required=True, metavar="FILE",
                   help=".npz/.safetensors or Edge-MoE .bin dir")
    add_heads_option(p)
    p.add_argument("--image", metavar="FILE", help="input image (default: the shipped scene)")
    p.add_argument("--model", default="m3vit-micro", help="model name (default m3vit-micro)")
    p.add_argument("--accel", help="design point (default tiny, else the first that holds "
                   "the model)")
    p.add_argument("--backend", choices=("golden", "csim", "rtlsim"), default="golden")
    p.add_argument("--task", default="all", help="seg, depth or all (default all)")
    p.set_defaults(func=_run)
