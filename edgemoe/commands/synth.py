"""`edgemoe synth`: Yosys resource estimate of the RTL top against the board."""

from __future__ import annotations

import json

from ..host.outdir import write_text_atomic
from ._argtypes import positive_seconds


def _run(args) -> int:
    from ..params import load_accel
    from ..params.report import fit_table
    from ..rtl.render import TOP
    from ..rtl.synth import synth

    accel = load_accel(args.accel, args.set or ())
    res = synth(accel, timeout_s=args.timeout, force=args.force, fast=args.fast,
                build_root=args.out, top=args.top or TOP)
    if args.top and args.top != TOP:  # one engine: its counts, no fit against the board
        counts = ", ".join(f"{k} {v:,}" for k, v in res.resources.items())
        print(f"{args.top} of {accel.name} (config_id {accel.config_id}), Yosys synth_xilinx "
              f"-family {res.family}" + (" (fast abc script)" if args.fast else "")
              + f": {counts}")
        if args.json:
            write_text_atomic(args.json, json.dumps(res.to_json(), indent=1))
        return 0
    report = accel.fit_report(measured=res.measured())
    print(f"{accel.name} (config_id {accel.config_id}) on {accel.board.key} "
          f"({accel.board.part}), Yosys synth_xilinx -family {res.family}"
          + (" (fast abc script)" if args.fast else "")
          + (f", {res.seconds:.0f} s" if res.seconds else ", cached"))
    print(fit_table(report, "yosys"))
    print(report.message)
    if args.json:
        data = res.to_json()
        data["board"] = accel.board.key
        data["fit"] = {u.name: {"used": u.used, "available": u.available,
                                "percent": round(u.percent, 2), "ok": u.ok}
                       for u in report.resources}
        data["fits"] = report.fits
        write_text_atomic(args.json, json.dumps(data, indent=1))
    return 0 if report.fits else 1


def register(sub) -> None:
    p = sub.add_parser("synth", help="Yosys (yowasp) LUT/FF/DSP/BRAM estimate of the RTL top "
                                     "against the design point's board")
    p.add_argument("--accel", required=True, help="design point name or YAML path")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a design-point key (repeatable)")
    p.add_argument("--json", help="write the counts and the fit here")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="build folder: rendered RTL and Yosys work (default ./build)")
    p.add_argument("--timeout", type=positive_seconds, default=None,
                   help="give up after SECONDS (finite, > 0)")
    p.add_argument("--force", action="store_true", help="ignore the cached result")
    p.add_argument("--top", metavar="MODULE", default=None,
                   help="synthesize one engine alone (e.g. edgemoe_lif) instead of the top")
    p.add_argument("--fast", action="store_true",
                   help="map LUTs with a minimal abc script instead of abc9 (large designs)")
    p.set_defaults(func=_run)
