"""``edgemoe lint-hls`` rules for DATAFLOW regions: the canonical form UG1399 asks for, so
that Vitis builds concurrent processes joined by FIFOs instead of falling back to
sequential execution.

A region is a function whose body holds ``#pragma HLS DATAFLOW``.  Its body may only
declare streams and local arrays and call processes (rule ``dataflow-canonical``); every
local ``hls::stream`` is passed to exactly two processes, one that writes it and one that
reads it (``dataflow-stream``); every array, pointer or reference argument and local
array goes to one process only, so no data bypasses a process or feeds two of them
(``dataflow-bypass``); and the outermost loop of every process runs to a bound passed in
by the region, the same one for every process, so each producer writes exactly what its
consumer reads (``dataflow-bounds``).  The parser is the same brace matcher as the other
rules: process calls are one statement each and parameters are declared one per comma.
"""

from __future__ import annotations

import re

from .lint_hls_parse import call_args, functions, matching, params, parse_loops

__all__ = ["DATAFLOW_RULES", "check_dataflow"]

#: rule id -> (what it requires, UG1399 source).
DATAFLOW_RULES: dict[str, tuple[str, str]] = {
    "dataflow-canonical": ("a DATAFLOW region holds only declarations and process calls",
                           "UG1399, Dataflow: canonical forms (body of function calls)"),
    "dataflow-stream": ("every stream of a DATAFLOW region has one producer and one consumer",
                        "UG1399, Dataflow: single-producer-consumer violations"),
    "dataflow-bypass": (("every array, pointer or reference of a DATAFLOW region feeds one "
                         "process (no bypass, no fan-out)"),
                        "UG1399, Dataflow: bypassing tasks and channel sizing"),
    "dataflow-bounds": (("every process of a DATAFLOW region loops to the same bound, passed "
                         "in by the region"),
                        "UG1399, Dataflow: canonical forms (loop bounds of processes)"),
}

_DATAFLOW = re.compile(r"#\s*pragma\s+HLS\s+DATAFLOW\b", re.IGNORECASE)
_STREAM_DECL = re.compile(r"hls::stream\s*<.*?>\s*(\w+)\s*(?:\(|;)")
_ARRAY_DECL = re.compile(r"^\s*[\w:<>, ]+?\s+(\w+)\s*\[[^;]*\]\s*;", re.MULTILINE)
_CALL = re.compile(r"\b(\w+)\s*(?:<[^;(){}]*>)?\s*\(")
_CONTROL = re.compile(r"\b(for|while|if|switch|return|goto)\b|\?")
_KEYWORDS = {"sizeof", "static_cast", "if", "for", "while", "switch", "return"}


def _statements(body: str) -> list[tuple[int, str]]:
    """(offset, text) of the top-level statements of a function body, pragmas dropped."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append((start, body[start:i + 1]))
            start = i + 1
        elif ch == "\n" and depth == 0 and body[start:i].strip().startswith("#"):
            start = i + 1
    if body[start:].strip():
        out.append((start, body[start:]))
    return [(o, s) for o, s in out if s.strip() and not s.strip().startswith("#")]


def _process_call(stmt: str) -> tuple[str, list[str]] | None:
    """(callee, argument texts) when the statement is a plain call ``f<...>(...);``."""
    m = _CALL.match(stmt.strip())
    if m is None or m.group(1) in _KEYWORDS:
        return None
    text = stmt.strip()
    close = matching(text, text.index("(", m.start(1)), "(", ")")
    if text[close + 1:].strip() != ";":
        return None
    return m.group(1), call_args(text[text.index("(", m.start(1)) + 1:close])


def _uses(arg: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", arg) is not None


def _writes(body: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*(?:\.\s*write\s*\(|<<)", body) is not None


def _reads(body: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*(?:\.\s*read\s*\(|>>)", body) is not None


def check_dataflow(code: str, name: str, problem) -> list:
    """Dataflow rules over comment-stripped code; ``problem(line, rule, msg)`` builds one."""
    funcs = functions(code)
    out = []
    for region, defs in funcs.items():
        for line, body, signature in defs:
            if not _DATAFLOW.search(body):
                continue
            out += _check_region(region, line, body, signature, funcs, problem)
    return out


def _check_region(region, line, body, signature, funcs, problem) -> list:
    out = []
    streams = _STREAM_DECL.findall(body)
    arrays = _ARRAY_DECL.findall(body)
    calls = []
    for _, stmt in _statements(body):
        call = _process_call(stmt)
        if call is not None:
            calls.append(call)
        elif not re.match(r"\s*hls::stream\s*<", stmt) and not _ARRAY_DECL.match(stmt) \
                or _CONTROL.search(stmt):
            out.append(problem(line, "dataflow-canonical",
                               f"DATAFLOW region {region} has a statement that is not a "
                               f"process call: {' '.join(stmt.split())[:60]}"))
    for s in streams:
        users = [(f, args) for f, args in calls if any(_uses(a, s) for a in args)]
        writers = [f for f, args in users if _role(funcs, f, args, s, _writes)]
        readers = [f for f, args in users if _role(funcs, f, args, s, _reads)]
        if len(users) != 2 or len(writers) != 1 or len(readers) != 1 or writers == readers:
            out.append(problem(line, "dataflow-stream",
                               f"stream {s} of DATAFLOW region {region} has writers "
                               f"{writers or 'none'} and readers {readers or 'none'}; it "
                               "needs one of each"))
    shared = arrays + [p for p, kind in params(signature) if kind != "value"]
    for a in shared:
        users = [f for f, args in calls if any(_uses(x, a) for x in args)]
        if len(users) > 1:
            out.append(problem(line, "dataflow-bypass",
                               f"{a} of DATAFLOW region {region} feeds {len(users)} processes "
                               f"({', '.join(users)}); give each process its own channel"))
    out += _check_bounds(region, line, calls, funcs, problem)
    return out


def _role(funcs, callee, args, stream, test) -> bool:
    """Whether the callee's parameter bound to ``stream`` satisfies ``test`` in its body."""
    for _, body, signature in funcs.get(callee, []):
        names = [p for p, _ in params(signature)]
        for i, arg in enumerate(args):
            if i < len(names) and _uses(arg, stream) and test(body, names[i]):
                return True
    return False


def _check_bounds(region, line, calls, funcs, problem) -> list:
    bounds: dict[str, str] = {}
    out = []
    for callee, args in calls:
        for _, body, signature in funcs.get(callee, [])[:1]:
            names = [p for p, _ in params(signature)]
            for loop in parse_loops(body):
                m = re.match(r"[^;]*;\s*\w+\s*<=?\s*([\w.]+)\s*;", loop.header)
                bound = m.group(1) if m else ""
                if bound in names and names.index(bound) < len(args):
                    bounds[callee] = " ".join(args[names.index(bound)].split())
                elif not re.fullmatch(r"(?:\w+::)*[A-Z][A-Z0-9_]*|\d+", bound):
                    out.append(problem(line, "dataflow-bounds",
                                       f"process {callee} of DATAFLOW region {region} loops "
                                       f"to {bound or loop.header.strip()!r}, not to a bound "
                                       "passed in by the region"))
    if len(set(bounds.values())) > 1:
        out.append(problem(line, "dataflow-bounds",
                           f"processes of DATAFLOW region {region} loop to different bounds "
                           f"({', '.join(f'{k}: {v}' for k, v in bounds.items())})"))
    return out
