"""`edgemoe lint-hls`: check the generated HLS against the rules Vitis needs to build the
design as described (edgemoe.codegen.lint_hls)."""

from __future__ import annotations


def _run(args) -> int:
    from ..codegen.lint_hls import RULES, lint_design
    from ..params import list_accels, load_accel

    names = list_accels() if args.all else [args.accel]
    failed = 0
    for name in names:
        accel = load_accel(name, args.set or ())
        problems = lint_design(accel)
        for p in problems:
            print(f"{accel.name}: {p}")
        status = "clean" if not problems else f"{len(problems)} problem(s)"
        print(f"lint-hls {accel.name} (config_id {accel.config_id}): {status}, "
              f"{len(RULES)} rules")
        failed += bool(problems)
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("lint-hls", help="check the generated HLS kernel against the synthesis "
                                        "rules (labels, II=1 pipelines, tripcounts, m_axi "
                                        "options, one instance per engine)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--accel", help="design point name or YAML path")
    group.add_argument("--all", action="store_true", help="every design point in configs/accel")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key")
    p.set_defaults(func=_run)
