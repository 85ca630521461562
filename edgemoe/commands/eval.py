"""`edgemoe eval`: accuracy of a trained model, float reference vs accelerator."""

from __future__ import annotations

import json
import math

from ._argtypes import (
    add_int8_attn_option,
    add_int8_heads_option,
    add_trained_model_options,
    int8_attn,
    int8_heads,
)


def _fmt(v: float, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{100 * v:.2f}" if pct else f"{v:.4f}"


def format_report(r: dict) -> str:
    """Human-readable table of an :func:`~edgemoe.evaluation.evaluate.evaluate` result."""
    f, a, b = r["float"], r["accelerator"], r["baselines"]

    def row(label: str, key: str, pct: bool) -> str:
        return (f"  {label:<18} {_fmt(f[key], pct):>9} {_fmt(a[key], pct):>9} "
                f"{_fmt(b[key], pct):>9}")

    lines = [
        (f"{r['model']} on {r['design_point']} ({r['backend']}"
         + (f", W8A8 in {r['int8_layers']} layers" if r.get("int8_layers") else "")
         + (f", int8 attention in {r['int8_attention']} blocks" if r.get("int8_attention")
            else "")
         + (f", int4/int8 in {r['mixed_layers']} layers" if r.get("mixed_layers") else "")
         + f"), split {r['split']}, {r['scenes']} scene(s); synthetic data and weights"),
        f"  {'metric':<18} {'float':>9} {'accel':>9} {'baseline':>9}",
        row("mIoU %", "miou", True),
        row("pixel acc %", "pixel_acc", True),
        row("depth abs-rel", "abs_rel", False),
        row("depth RMSE m", "rmse", False),
    ]
    for cls in f["iou"]:
        lines.append(f"  {'IoU ' + cls + ' %':<18} {_fmt(f['iou'][cls], True):>9} "
                     f"{_fmt(a['iou'][cls], True):>9}")
    d = r["deltas"]
    lines.append(f"  accel - float: mIoU {d['miou_points']:+.3f} points, abs-rel "
                 f"{100 * d['abs_rel_relative']:+.3f}% relative, RMSE "
                 f"{100 * d['rmse_relative']:+.3f}% relative; same class on "
                 f"{100 * r['seg_agreement']:.2f}% of pixels")
    lines.append(f"  baselines: majority class '{b['majority_class']}', mean depth "
                 f"{b['mean_depth_m']:.2f} m")
    lines.append("  expert loads (tokens per expert, float router):")
    for task, per in r["expert_loads"].items():
        for block, counts in per.items():
            lines.append(f"    {task:<6} block {block}: {counts}")
    overlap = ", ".join(f"block {b} {100 * v:.1f}%" for b, v in r["routing_overlap"].items())
    lines.append(f"  experts both tasks choose for the same token: {overlap}")
    return "\n".join(lines)


def _run(args) -> int:
    from tqdm import tqdm

    from ..data import trained_weights
    from ..evaluation.evaluate import evaluate
    from ..models import load_weights
    from ..params import load_accel, load_model
    from ..params.accel import ALL_WEIGHT_FORMATS

    if args.n is not None and args.n < 1:
        raise ValueError(f"--n {args.n}: give a positive number of scenes")
    model = load_model(args.model)
    graph = hasattr(model, "layers")
    if graph and args.int8:
        raise ValueError(f"--int8 runs M3ViT layers in W8A8; {model.name} is a graph model: "
                         "drop --int8")
    if graph and args.precision_map:
        raise ValueError(f"--precision-map runs M3ViT layers in int4/int8; {model.name} is a "
                         "graph model: drop --precision-map")
    int8_heads(args)  # refused without --int8 before anything loads
    attn8 = int8_attn(args)
    if args.accel:
        accel = load_accel(args.accel)
    elif graph:  # the first design point that builds the graph's ops and holds its layers
        from .run import default_accel

        accel = default_accel(model)
    else:  # with a precision map its int4 strip loader too (weight_formats), with
        # --int8-attn the int8 attention (attn_q8)
        accel = load_accel("edge-moe-zcu102", (ALL_WEIGHT_FORMATS,) * bool(args.precision_map)
                           + ("attn_q8=true",) * attn8)
    accel.check_model(model)
    weights = load_weights(args.weights or trained_weights(args.model), model)
    if graph:  # a graph classifier: the digits
        from ..evaluation.classify import evaluate_digits, format_digits_report

        result = evaluate_digits(model, accel, weights, args.backend, args.split, args.n,
                                 progress=lambda it: tqdm(it, desc="eval digits", unit="img"))
        print(json.dumps(result, indent=2) if args.json else format_digits_report(result))
        return 0
    calib = args.int8 or (8 if args.precision_map else 0)
    int8 = _int8_ranges(model, weights, calib, int8_heads(args), attn8) if calib else None
    mixed = None
    if args.precision_map:  # its LINEARs and experts int4/int8
        from ..compiler.mixed import apply_precision_map

        mixed, int8 = apply_precision_map(args.precision_map, model, weights, int8,
                                          bool(args.int8))
    result = evaluate(model, accel, weights, args.backend, args.split, args.n,
                      progress=lambda it: tqdm(it, desc=f"eval {args.split}", unit="scene"),
                      int8=int8, mixed=mixed)
    if attn8:  # int8's q, k, v ranges are not layers: count the attentions on their own
        from ..compiler.calibrate import attn_q8_layers

        result["int8_attention"] = model.depth
        result["int8_layers"] -= len(attn_q8_layers(model))
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def _int8_ranges(model, weights, n: int, heads: bool, attn: bool) -> dict[str, float]:
    """W8A8 input ranges of every int8-capable layer (``heads``: the head convs too,
    ``attn``: the attentions' q, k, v) over the first ``n`` train scenes."""
    from ..compiler.calibrate import int8_layers, linear_input_ranges
    from ..data import synthetic

    if not 1 <= n <= synthetic.split_size("train"):
        raise ValueError(f"--int8 {n}: give 1..{synthetic.split_size('train')} train scenes "
                         "to calibrate on")
    return linear_input_ranges(model, weights, (synthetic.scene("train", i).pixels()
                                                for i in range(n)),
                               int8_layers(model, heads, attn))


def register(sub) -> None:
    p = sub.add_parser("eval", help="accuracy on synthetic scenes (M3ViT) or digits (VoVNet): "
                       "float reference vs accelerator",
                       description="Score a trained M3ViT on the synthetic street scenes: mIoU "
                       "(per class), pixel accuracy, depth abs-rel and RMSE for the float "
                       "reference and the accelerator side by side, expert loads per task and "
                       "block, and the majority-class / mean-depth baselines. A graph "
                       "classifier (vovnet-tiny) is scored on scikit-learn's digits instead.")
    add_trained_model_options(p)
    p.add_argument("--accel", default=None, help="design point (formats; default "
                   "edge-moe-zcu102, with q4 for --precision-map; for a graph model the "
                   "first that holds it)")
    p.add_argument("--backend", choices=("golden", "csim"), default="golden")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--n", type=int, help="number of scenes (default: the whole split)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--int8", type=int, metavar="N", default=0,
                   help="M3ViT: run attention, dense MLPs and MoE experts in W8A8, input "
                        "ranges calibrated on the first N train scenes")
    add_int8_heads_option(p)
    add_int8_attn_option(p)
    p.add_argument("--precision-map", metavar="FILE",
                   help="M3ViT: precision map from `edgemoe quantize`: its attention and MLP "
                        "LINEARs and MoE experts run int8/int4 per channel; inputs "
                        "calibrated on the first --int8 N train scenes (default 8)")
    p.set_defaults(func=_run)
