"""`edgemoe hls` and `edgemoe bitstream`: run Vitis HLS / Vivado on the generated project
(or say which tool is missing and which generated script to run by hand); `edgemoe hls`
then reads the synthesis and co-simulation reports into the table `edgemoe synth` prints."""

from __future__ import annotations

from pathlib import Path


def _print_report(accel, solution: Path) -> int:
    from ..codegen import TOP_NAME
    from ..flow.hls_report import HlsReportError, find_reports, parse_csynth_xml
    from ..params.report import fit_table, format_table

    csynth, cosim = find_reports(solution, TOP_NAME)
    if not csynth.is_file():
        raise HlsReportError(f"no Vitis HLS report at {csynth}: run `edgemoe hls --accel "
                             f"{accel.name} --steps csynth` on a machine with Vitis, or pass "
                             "--solution DIR")
    rep = parse_csynth_xml(csynth, cosim)
    fit = accel.fit_report(measured=rep.measured())
    clock = (f"estimated clock {rep.estimated_ns:.2f} ns (target {rep.target_ns:.2f} ns)"
             if rep.estimated_ns and rep.target_ns else "no clock estimate")
    print(f"{accel.name} (config_id {accel.config_id}) on {accel.board.key} ({rep.part}), "
          f"Vitis HLS synthesis estimates of {rep.top}, {clock}")
    print(fit_table(fit, "vitis"))
    print(fit.message)

    def cyc(v: int | None) -> str:
        return "unbounded" if v is None else f"{v:,}"

    print(f"latency {cyc(rep.latency_best)} .. {cyc(rep.latency_worst)} cycles (Vitis "
          f"estimate: variable-bound loops use their LOOP_TRIPCOUNT), interval "
          f"{cyc(rep.interval_min)} .. {cyc(rep.interval_max)}")
    if rep.cosim is not None:
        c = rep.cosim
        print(f"co-simulation ({c.rtl}): {c.status}, latency {cyc(c.latency_min)} / "
              f"{cyc(c.latency_avg)} / {cyc(c.latency_max)} cycles (min / avg / max, measured "
              "in RTL simulation)")
    if rep.loops:
        rows = [["  " * lp.depth + lp.name, cyc(lp.trip_count), cyc(lp.latency),
                 "-" if lp.ii is None else lp.ii,
                 "-" if lp.pipeline_depth is None else lp.pipeline_depth] for lp in rep.loops]
        print(format_table(["loop", "trip count", "latency", "II", "pipeline depth"], rows))
    return 0 if fit.fits else 1


def _hls(args) -> int:
    from ..codegen import project_name
    from ..flow.generate import generate
    from ..flow.hls import run_hls
    from ..flow.paths import hls_dir
    from ..params import load_accel

    accel = load_accel(args.accel, args.set or ())
    if args.report_only:
        out_dir = Path(args.out) if args.out else hls_dir(accel)
    else:
        project = run_hls(accel, steps=tuple(args.steps),
                          project=generate(accel, out_dir=args.out) if args.out else None)
        out_dir = project.out_dir
        print(f"Vitis HLS finished for {accel.name}: {out_dir}")
    solution = Path(args.solution) if args.solution else \
        out_dir / project_name(accel) / "solution1"
    return _print_report(accel, solution)


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

    p = sub.add_parser("hls", help="run Vitis HLS (csim, csynth, cosim, export) on a design point "
                                   "and report latency, II per loop and LUT/FF/DSP/BRAM")
    p.add_argument("--accel", required=True, help="design point name or YAML path")
    p.add_argument("--steps", nargs="+", default=list(HLS_STEPS), choices=HLS_STEPS,
                   help="steps of run_hls.tcl (default: all)")
    p.add_argument("--report-only", action="store_true",
                   help="do not run Vitis: read the reports of an earlier run")
    p.add_argument("--solution", metavar="DIR",
                   help="Vitis solution folder holding syn/report/csynth.xml (default: the "
                        "generated project's solution1)")
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
