"""`edgemoe <verb>`: every module in edgemoe.commands registers one or more verbs."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from . import commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered verb."""
    parser = argparse.ArgumentParser(prog="edgemoe", description=__doc__.split(":")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true",
                        help="debug logging, and show the traceback of an error")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers of the verbs, not verbs
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def one_line(exc: BaseException, limit: int = 3) -> str:
    """An error message on one line: its first line, then up to ``limit`` detail lines."""
    lines = [line.strip() for line in str(exc).splitlines()]
    lines = [line.removeprefix("- ") for line in lines]  # list bullets
    lines = [line for line in lines if line] or [type(exc).__name__]
    head, rest = lines[0], lines[1:]
    if rest:
        more = f" (and {len(rest) - limit} more)" if len(rest) > limit else ""
        head = f"{head.rstrip(':')}: {'; '.join(rest[:limit])}{more}"
    return head


def _caused_by_interrupt(exc: BaseException) -> bool:
    """True when a KeyboardInterrupt is in ``exc``'s chain of causes."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 a check failed, 2 an error)."""
    args = build_parser().parse_args(argv)
    debug = args.debug
    logging.basicConfig(level=logging.DEBUG if args.verbose or debug else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"edgemoe {args.verb}: interrupted (files already written are complete)",
              file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:  # user-facing errors carry the fix
        if debug:
            raise
        print(f"edgemoe {args.verb}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line; --debug shows where
        if debug:
            raise
        if _caused_by_interrupt(exc):  # e.g. Ctrl-C inside a C extension's import
            print(f"edgemoe {args.verb}: interrupted (files already written are complete)",
                  file=sys.stderr)
            return 130
        print(f"edgemoe {args.verb}: internal error: {type(exc).__name__}: {one_line(exc)}; "
              "rerun with --debug and report the traceback", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
