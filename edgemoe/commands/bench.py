"""`edgemoe bench`: run every benchmark section and print its rows."""

from __future__ import annotations

import importlib
import pkgutil

from .. import bench


def _run(args) -> int:
    sections = sorted(m.name for m in pkgutil.iter_modules(bench.__path__))
    unknown = [name for name in args.only or () if name not in sections]
    if unknown or args.only == []:
        raise ValueError(f"unknown bench section {', '.join(map(repr, unknown)) or 'list'}: "
                         f"pass --only with one or more of {', '.join(sections)}")
    for name in sections:
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"{bench.__name__}.{name}")
        print(f"== {name}")
        for metric, value in module.run(quick=args.quick):
            print(f"  {metric:<58} {value}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("bench", help="print benchmark figures (throughput, ratios)")
    p.add_argument("--only", nargs="*", help="section names to run (default: all)")
    p.add_argument("--quick", action="store_true", help="smaller sizes")
    p.set_defaults(func=_run)
