"""`edgemoe compile`: model + weights -> program, memory image and manifest in a folder."""

from __future__ import annotations

import logging

from ..heads_option import add_heads_option
from ._argtypes import (
    add_int8_attn_option,
    add_int8_heads_option,
    add_ports_option,
    int8_attn,
    int8_heads,
    positive_int,
)

log = logging.getLogger(__name__)


def _run(args) -> int:
    from ..compiler import compile_model
    from ..heads_option import load_cli_weights
    from ..params import load_accel, load_model

    model = load_model(args.model)
    accel = load_accel(args.accel, args.set or ())
    accel.check_model(model)
    if args.perf:
        from ..perf.report import check_ports
        check_ports(accel, args.ports)
    weights = load_cli_weights(args.weights, model, args.heads, args.seed) \
        if args.weights else None
    if weights is None:
        log.warning("no --weights: using seeded random weights (seed %d)", args.seed)
    heads8 = int8_heads(args)  # refused without --int8 before anything is calibrated
    attn8 = int8_attn(args)
    # before the calibration (compile_model checks both too)
    from ..compiler.attn_q8 import check_attn_modes, check_builds_attn_q8

    if attn8:
        check_builds_attn_q8(accel)
    if getattr(model, "kind", None) == "m3vit":  # (its blocks' ATTENTIONs: int8 with --int8-attn)
        check_attn_modes(accel, model.name, model.depth if attn8 else 0, model.depth)
    int8 = _int8_ranges(model, weights, args, heads8, attn8) \
        if args.int8 or args.precision_map else None
    mixed = None
    if args.precision_map:  # its LINEARs and expert layers mixed int4/int8
        from ..compiler.mixed import apply_precision_map
        from ..models import random_weights

        mixed, int8 = apply_precision_map(args.precision_map, model,
                                          weights or random_weights(model, args.seed), int8,
                                          bool(args.int8))
    compiled = compile_model(model, accel, weights, seed=args.seed, strict=args.strict,
                             heads=args.heads != "none", int8=int8, topk=_attn_topk(args),
                             tile_skip=not args.no_tile_skip, mixed=mixed)
    out = compiled.save(args.out)
    m = compiled.manifest
    print(f"wrote {out}/manifest.json and image.bin: {model.name} for {accel.name} "
          f"(config_id {m['config_id']}), {compiled.n_instructions} instructions, "
          f"{compiled.image.size / 2**20:.1f} MiB")
    if hasattr(model, "layers"):
        _graph_summary(model, accel, compiled, weights)
    if args.listing:
        for i, ins in enumerate(compiled.instrs):
            print(f"  {i:4d} {m['program']['names'][i]:<34} {ins}")
    if args.perf:
        _print_modelled(compiled, model, accel, args.ports)
    report = compiled.report
    if report.saturated or report.underflowed:
        kinds = ["saturated"] * bool(report.saturated) + ["underflowing"] * bool(report.underflowed)
        print(f"{' and '.join(kinds)} weights:\n" + report.summary())
    return 0


def _attn_topk(args):
    """The top-k attention codebooks of ``--codebooks``/``--topk`` (None without them)."""
    from ..compiler import AttnTopK
    from ..seeds.codebook_file import read_codebooks

    if (args.codebooks is None) != (args.topk is None):
        raise ValueError("top-k attention needs both --codebooks FILE (from `edgemoe vq-fit`) "
                         "and --topk K")
    if args.codebooks is None:
        return None
    centres, transform, _ = read_codebooks(args.codebooks)
    return AttnTopK(centres, transform, args.topk)


def _int8_ranges(model, weights, args, heads8: bool, attn8: bool) -> dict[str, float]:
    """W8A8 input ranges of the LINEAR layers (with ``heads8`` the heads' convs, with
    ``attn8`` the attentions' q, k, v), calibrated on the model's default image and
    ``args.int8 - 1`` seeded random images (edgemoe.compiler.calibrate)."""
    from ..compiler.calibrate import calibration_images, int8_layers, linear_input_ranges
    from ..models import random_weights

    flag = "--precision-map" if args.precision_map else "--int8"
    images = calibration_images(model, args.int8, flag, args.seed)
    layers = int8_layers(model, heads8, attn8)
    ranges = linear_input_ranges(model, weights or random_weights(model, args.seed), images,
                                 layers)
    log.info("W8A8: %d ranges (attention, MLPs, experts%s%s) calibrated on %d images",
             len(ranges), ", head convs" if heads8 else "",
             ", int8 attention q/k/v" if attn8 else "", len(images))
    return ranges


def _print_modelled(compiled, model, accel, ports: int) -> None:
    """The cycle model with the board's memory per task, on the model's default image."""
    from ..compiler.io import write_pixels
    from ..models import load_default_image
    from ..perf.report import model_tasks

    image = compiled.fresh_image()
    write_pixels(image, compiled.manifest, load_default_image(model))
    for task, pm in model_tasks(accel, compiled.instrs, image, compiled.program_offset,
                                compiled.status_offset, compiled.manifest["tasks"],
                                ports=ports).items():
        print(f"task {task} (default image): " + pm.table())

def _graph_summary(model, accel, compiled, weights) -> None:
    """Modelled latency and the OSA blocks' buffers and traffic of a graph model."""
    from ..compiler.osa_report import osa_report
    from ..golden.cycles import ideal_cycles
    from ..models.graph import graph_random_weights

    cycles = sum(ideal_cycles(ins, accel, {"macs": 0}) for ins in compiled.instrs)
    print(f"modelled latency {cycles / accel.clock_mhz / 1e3:.2f} ms at {accel.clock_mhz:g} MHz "
          f"({cycles:,} ideal cycles: engines at full rate, no memory stalls)")
    rows = osa_report(model, accel, weights or graph_random_weights(model, 0))
    if rows:
        print(f"  {'OSA block':<16} {'peak KiB':>9} {'concat KiB':>11} {'DDR KiB':>9} "
              f"{'concat DDR KiB':>15}")
    for r in rows:
        print(f"  {r['name']:<16} {r['peak_live_bytes'] / 1024:>9.0f} "
              f"{r['concat_footprint_bytes'] / 1024:>11.0f} {r['traffic_bytes'] / 1024:>9.0f} "
              f"{r['traffic_concat_bytes'] / 1024:>15.0f}")


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
    p.add_argument("--int8", type=positive_int, metavar="N", default=0,
                   help="run the attention, dense-MLP and MoE-expert layers in W8A8 (int8 weights "
                        "per channel, int8 inputs), input ranges calibrated on the default "
                        "image and N-1 seeded random images")
    add_int8_heads_option(p)
    add_int8_attn_option(p)
    p.add_argument("--precision-map", metavar="FILE",
                   help="precision map from `edgemoe quantize`: its attention and MLP LINEARs "
                        "and MoE experts run int8 on the map's high channels and int4 on the "
                        "rest (Flag.WFMT_Q4); inputs calibrated as with --int8 N (default N=1)")
    p.add_argument("--no-tile-skip", action="store_true",
                   help="compile every LINEAR and MoE expert dense (default: those with "
                        "all-zero weight tiles skip them, Flag.WSKIP)")
    p.add_argument("--codebooks", metavar="FILE",
                   help="key codebooks from `edgemoe vq-fit`: every ATTENTION attends to each "
                        "query's --topk keys by codebook score (golden executor only so far)")
    p.add_argument("--topk", type=positive_int, metavar="K",
                   help="keys each query attends to with --codebooks (K >= tokens: dense)")
    p.add_argument("--list", dest="listing", action="store_true", help="print the program")
    p.add_argument("--perf", action="store_true",
                   help="print the cycle model with the board's memory per task (modelled)")
    add_ports_option(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_run)
