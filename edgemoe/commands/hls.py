"""`edgemoe hls` and `edgemoe bitstream`: run Vitis HLS / Vivado on the generated project
(or say which tool is missing and which generated script to run by hand)."""

from __future__ import annotations


def _hls(args) -> int:
    from ..flow.generate import generate
    from ..flow.hls import run_hls
    from ..params import load_accel

    accel = load_accel(args.accel, args.set or ())
    project = run_hls(accel, steps=tuple(args.steps),
                      project=generate(accel, out_dir=args.out) if args.out else None)
    print(f"Vitis HLS finished for {accel.name}: {project.out_dir}")
    return 0


def _bitstream(args) -> int:
    from ..flow.generate import generate
    from ..flow.hls import run_bitstream
    from ..params import load_accel

    accel = load_accel(args.accel, args.set or ())
    bit, hwh = run_bitstream(accel,
                             project=generate(accel, out_dir=args.out) if args.out else None)
    print(f"wrote {bit} and {hwh}")
    return 0


def register(sub) -> None:
    from ..flow.hls import HLS_STEPS

    p = sub.add_parser("hls", help="run Vitis HLS (csim, csynth, cosim, export) on a design point")
    p.add_argument("--accel", required=True, help="design point name or YAML path")
    p.add_argument("--steps", nargs="+", default=list(HLS_STEPS), choices=HLS_STEPS,
                   help="steps of run_hls.tcl (default: all)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="HLS project folder (default ./build/<design>/hls)")
    p.set_defaults(func=_hls)
    b = sub.add_parser("bitstream", help="run the Vivado block design: <name>.bit + <name>.hwh")
    b.add_argument("--accel", required=True, help="design point name or YAML path")
    b.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key")
    b.add_argument("--out", metavar="DIR", default=None,
                   help="HLS project folder holding the exported IP; the .bit and .hwh are "
                        "written there (default ./build/<design>/hls)")
    b.set_defaults(func=_bitstream)
