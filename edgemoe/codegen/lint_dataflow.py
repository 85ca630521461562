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
consumer reads (``dataflow-bounds``).  A process may hand a stream to helpers it calls
(up to four deep); the helper that reads or writes it counts for the process.

Every op kernel (a function the dispatcher ``run_one`` returns) that takes an m_axi port
must move its data through a DATAFLOW region: it, or a function it calls, holds one
(``dataflow-kernel``).  An op kernel qualifies by calling its own region, e.g.
``op_x -> x_region`` with ``#pragma HLS DATAFLOW`` and load, compute and store processes,
each process looping to the same bound.  Per-op parameters that every row reuses (LayerNorm
gamma/beta, the POOL gate, LIF input spikes) may be read before the region.  Kernels in
``PENDING_DATAFLOW`` are still pipelined loops; each names the work that converts it.

The parser is the same brace matcher as the other rules: process calls are one statement
each and parameters are declared one per comma.
"""

from __future__ import annotations

import re

from .lint_hls_parse import call_args, functions, matching, params, parse_loops

__all__ = ["DATAFLOW_RULES", "DISPATCHER", "PENDING_DATAFLOW", "check_dataflow", "op_kernels"]

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
    "dataflow-kernel": (("every op kernel with an m_axi port moves its data through a "
                         "DATAFLOW region of load, compute and store processes"),
                        ("UG1399, Dataflow: task-level parallelism (load, compute and store "
                         "functions as concurrent processes)")),
}
#: The function holding the opcode switch (hls_templates/edgemoe_dispatch.hpp.j2).
DISPATCHER = "run_one"
#: Op kernels not yet converted to a DATAFLOW region -> the work that converts them.  A
#: kernel listed here that already calls a region passes like any other.
PENDING_DATAFLOW: dict[str, str] = {}
_M_AXI_PARAM = re.compile(r"\bword_t\s*\*")
_RETURN_CALL = re.compile(r"\breturn\s+(\w+)\s*(?:<[^;(){}]*>)?\s*\(")

_DATAFLOW = re.compile(r"#\s*pragma\s+HLS\s+DATAFLOW\b", re.IGNORECASE)
_STREAM_DECL = re.compile(r"hls::stream\s*<.*?>\s*(\w+)\s*(?:\(|;)")
_ARRAY_DECL = re.compile(r"^\s*[\w:<>, ]+?\s+(\w+)\s*\[[^;]*\]\s*;", re.MULTILINE)
_CALL = re.compile(r"\b(\w+)\s*(?:<[^;(){}]*>)?\s*\(")
_CONTROL = re.compile(r"\b(for|while|if|switch|return|goto)\b|\?")
_KEYWORDS = {"sizeof", "static_cast", "if", "for", "while", "switch", "return"}
#: How deep a stream may be handed from a process to helpers before it is read or written.
_HELPER_DEPTH = 4


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
    return out + _check_kernels(funcs, problem)


def op_kernels(code: str) -> list[str]:
    """The op kernels the dispatcher calls, in switch order (each once)."""
    return _kernels(functions(code))


def _kernels(funcs: dict) -> list[str]:
    found = [k for _, body, _ in funcs.get(DISPATCHER, []) for k in _RETURN_CALL.findall(body)]
    return list(dict.fromkeys(found))


def _callees(funcs: dict, body: str) -> set[str]:
    return {m.group(1) for m in _CALL.finditer(body) if m.group(1) in funcs}


def _reaches_region(funcs: dict, fname: str) -> bool:
    """fname or a function it calls (transitively) is a DATAFLOW region."""
    todo, seen = [fname], set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for _, body, _ in funcs.get(f, []):
            if _DATAFLOW.search(body):
                return True
            todo += list(_callees(funcs, body))
    return False


def _check_kernels(funcs: dict, problem) -> list:
    out = []
    for kernel in _kernels(funcs):
        for line, _, signature in funcs.get(kernel, [])[:1]:
            if not _M_AXI_PARAM.search(signature) or kernel in PENDING_DATAFLOW:
                continue
            if not _reaches_region(funcs, kernel):
                out.append(problem(line, "dataflow-kernel",
                                   f"op kernel {kernel} moves data through an m_axi port "
                                   "outside any DATAFLOW region; split it into load, compute "
                                   "and store processes under #pragma HLS DATAFLOW"))
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


def _role(funcs: dict, callee: str, args: list[str], stream: str, test, depth: int = 0) -> bool:
    """Whether the callee's parameter bound to ``stream`` satisfies ``test`` in its body or,
    passed on, in a helper's (a process may push a row through an inlined helper)."""
    for _, body, signature in funcs.get(callee, []):
        names = [p for p, _ in params(signature)]
        for i, arg in enumerate(args):
            if i < len(names) and _uses(arg, stream) and (
                    test(body, names[i]) or _passes_on(funcs, body, names[i], test, depth)):
                return True
    return False


def _passes_on(funcs: dict, body: str, name: str, test, depth: int) -> bool:
    """``name`` is an argument of a call in ``body`` whose callee plays the role with it."""
    if depth >= _HELPER_DEPTH:
        return False
    for m in _CALL.finditer(body):
        if m.group(1) in _KEYWORDS or m.group(1) not in funcs:
            continue
        open_at = body.index("(", m.end(1))
        args = call_args(body[open_at + 1:matching(body, open_at, "(", ")")])
        if any(_uses(a, name) for a in args) and \
                _role(funcs, m.group(1), args, name, test, depth + 1):
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
