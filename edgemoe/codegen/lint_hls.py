"""``edgemoe lint-hls``: static rules that the generated HLS must follow for Vitis to build
the design the README and the cycle model describe.

Each rule names the UG1399 (Vitis HLS user guide) topic it comes from.  The checker reads
comment- and string-stripped text with a small brace-matching loop parser; it is not a C++
front end, so the kernels keep to one loop header per line and a label line before each
loop (rule ``label``).  Every rule is tested on a fixture that must fail it.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .lint import scan_kernel_source, strip_comments, unlabeled_loops
from .lint_dataflow import DATAFLOW_RULES, check_dataflow
from .lint_hls_parse import LOOP_KW as _LOOP_KW
from .lint_hls_parse import PRAGMA as _PRAGMA
from .lint_hls_parse import Loop, functions, parse_loops

__all__ = ["ENGINES", "RULES", "LintProblem", "engine_call_sites", "lint_design", "lint_hls_sources",
           "lint_hls_texts"]

#: rule id -> (what it requires, UG1399 source).
RULES: dict[str, tuple[str, str]] = {
    "label": ("every loop is labelled",
              "UG1399, Optimizing Techniques: loop labels name loops in reports and directives"),
    "innermost": ("every innermost loop is pipelined, or inside a pipelined/unrolled loop",
                  "UG1399, pragma HLS pipeline (innermost loops at II=1)"),
    "tripcount": ("every variable-bound loop has LOOP_TRIPCOUNT",
                  "UG1399, pragma HLS loop_tripcount (latency of variable-bound loops)"),
    "unroll-bound": ("loops inside a pipelined/unrolled loop have compile-time bounds",
                     "UG1399, pragma HLS unroll (variable bounds cannot be unrolled)"),
    "axi-compact": ("no AGGREGATE compact=bit on an AXI4 (m_axi) port",
                    "UG1399, pragma HLS aggregate (compact=bit is not for AXI4 interfaces)"),
    "m_axi-options": (("every m_axi port sets depth, bundle, offset, max_widen_bitwidth and "
                       "its read/write burst lengths"),
                      ("UG1399, pragma HLS interface (m_axi depth for co-sim, offset, bundle, "
                       "max_widen_bitwidth, max_read/write_burst_length)")),
    "synthesizable": ("no dynamic memory, recursion, float or std:: containers",
                      "UG1399, Unsupported C/C++ Constructs"),
    "engine": (("each engine is one hardware instance: one call site, or INLINE off and "
               "ALLOCATION limit=1 with every calling function inlined"),
               "UG1399, pragma HLS allocation and pragma HLS inline"),
    **DATAFLOW_RULES,
}
#: Options every m_axi INTERFACE pragma must set (the bundle puts each traffic class on
#: its own master; widening and bursts give one full-width beat per cycle).
_M_AXI_OPTIONS = ("depth", "bundle", "offset", "max_widen_bitwidth", "max_read_burst_length",
                  "max_write_burst_length")

#: engine -> kernel function: each must become exactly one RTL instance.
ENGINES: dict[str, str] = {
    "linear engine": "lin_run",
    "weight loader": "lin_load",
    "token loop": "lin_compute",
    "MAC tile": "lin_row",
    "attention": "op_attention",
    "layernorm": "op_layernorm",
    "router": "moe_route",
    "vector add": "op_add",
    "upsample": "op_upsample",
    "pool": "op_pool",
    "LIF engine": "op_lif",
}

_CONST_TOKEN = re.compile(
    r"^(?:\d+[uUlL]*|[A-Z][A-Z0-9_]*|(?:\w+::)+[A-Z][A-Z0-9_]*|int|u?int\d+_t|sizeof)$")


@dataclass(frozen=True)
class LintProblem:
    """One broken rule: file, line, rule id, what is wrong."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message} ({RULES[self.rule][1]})"


def _bound_is_constant(loop: Loop) -> bool:
    if loop.kind == "while":
        return False
    parts = loop.header.split(";")
    if len(parts) != 3:
        return False
    m = re.match(r"\s*\w+\s*(?:<=?|>=?|!=)\s*(.+)$", parts[1].strip())
    if not m:
        return False
    tokens = re.findall(r"[A-Za-z_][\w:]*|\d+\w*", m.group(1))
    return all(_CONST_TOKEN.match(t) for t in tokens)


def _loopy_functions(code: str) -> set[str]:
    """Functions that contain a loop, directly or through the functions they call."""
    funcs = _functions(code)
    loopy = {f for f, defs in funcs.items() if any(_LOOP_KW.search(b) for _, b in defs)}
    grown = True
    while grown:
        grown = False
        for f, defs in funcs.items():
            if f not in loopy and any(_calls_any(b, g) for _, b in defs for g in loopy):
                loopy.add(f)
                grown = True
    return loopy


def _calls_any(body: str, fname: str) -> bool:
    """A call of fname, member calls included."""
    return re.search(rf"\b{re.escape(fname)}\s*(?:<[^;(){{}}]*>)?\s*\(", body) is not None


def _check_loops(loops: list[Loop], name: str, in_unrolled: bool,
                 loopy: set[str] = frozenset()) -> list[LintProblem]:
    """Loop rules; a loop that calls a function with loops is not innermost."""
    out = []
    for lp in loops:
        calls_loops = any(_calls_any(lp.body, f) for f in loopy)
        pipelined = lp.has("PIPELINE") and "OFF" not in " ".join(lp.pragmas).upper()
        unrolled = lp.has("UNROLL")
        constant = _bound_is_constant(lp)
        what = f"{lp.kind} ({lp.header.strip()})"
        if not lp.children and not calls_loops and not (pipelined or unrolled or in_unrolled):
            out.append(LintProblem(name, lp.line, "innermost",
                                   f"innermost loop {what} is neither pipelined nor unrolled"))
        if not constant and not lp.has("LOOP_TRIPCOUNT"):
            out.append(LintProblem(name, lp.line, "tripcount",
                                   f"variable-bound loop {what} has no LOOP_TRIPCOUNT"))
        if in_unrolled and not constant:
            out.append(LintProblem(name, lp.line, "unroll-bound",
                                   f"loop {what} inside a pipelined/unrolled loop has a "
                                   "run-time bound; loop to the compile-time maximum and guard"))
        out += _check_loops(lp.children, name, in_unrolled or pipelined or unrolled, loopy)
    return out


def _check_interfaces(code: str, name: str) -> list[LintProblem]:
    out = []
    m_axi_ports = {}
    for lineno, line in enumerate(code.split("\n"), 1):
        pm = _PRAGMA.match(line)
        if not pm:
            continue
        text = pm.group(1)
        opts = dict(re.findall(r"(\w+)=(\S+)", text))
        if text.upper().startswith("INTERFACE") and opts.get("mode", "").lower() == "m_axi":
            m_axi_ports[opts.get("port", "?")] = lineno
            missing = [k for k in _M_AXI_OPTIONS if k not in opts]
            if missing:
                out.append(LintProblem(name, lineno, "m_axi-options",
                                       f"m_axi port {opts.get('port', '?')} lacks "
                                       f"{', '.join(missing)}"))
    for lineno, line in enumerate(code.split("\n"), 1):
        pm = _PRAGMA.match(line)
        if pm and pm.group(1).upper().startswith("AGGREGATE"):
            opts = dict(re.findall(r"(\w+)=(\S+)", pm.group(1)))
            if opts.get("variable") in m_axi_ports and opts.get("compact", "").lower() == "bit":
                out.append(LintProblem(name, lineno, "axi-compact",
                                       f"AGGREGATE compact=bit on m_axi port "
                                       f"{opts['variable']}; drop it (byte-aligned default)"))
    return out


def _functions(code: str) -> dict[str, list[tuple[int, str]]]:
    """Function name -> [(line, body)] for every definition in the code."""
    return {f: [(line, body) for line, body, _ in defs] for f, defs in functions(code).items()}


def _calls(body: str, fname: str) -> int:
    return len(re.findall(rf"(?<![\w:.]){re.escape(fname)}\s*(?:<[^;(){{}}]*>)?\s*\(", body)) + \
        len(re.findall(rf"(?<=::){re.escape(fname)}\s*(?:<[^;(){{}}]*>)?\s*\(", body))


def engine_call_sites(code: str, names=None) -> dict[str, list[str]]:
    """Kernel function (``names``, default the engines) -> names of the functions that call
    it, one entry per call site in the source (inlined callers not expanded)."""
    funcs = _functions(code)
    out: dict[str, list[str]] = {}
    for engine in ENGINES.values() if names is None else names:
        sites = []
        for caller, defs in funcs.items():
            for _, body in defs:
                sites += [caller] * _calls(body, engine)
        out[engine] = sites
    return out


def _inlined(defs: list[tuple[int, str]]) -> bool:
    return any(re.search(r"#\s*pragma\s+HLS\s+INLINE(?!\s+off)\b", body, re.IGNORECASE)
               and not re.search(r"#\s*pragma\s+HLS\s+INLINE\s+off", body, re.IGNORECASE)
               for _, body in defs)


def _instances(funcs: dict[str, list[tuple[int, str]]], fname: str, depth: int = 0) -> int:
    """Call sites of fname once every inlined caller is expanded where it is called (an
    inlined function called twice puts two copies of its calls into its caller)."""
    total = 0
    for caller, defs in funcs.items():
        n = sum(_calls(body, fname) for _, body in defs)
        if n and _inlined(defs) and depth < 16:
            n *= max(1, _instances(funcs, caller, depth + 1))
        total += n
    return total


def _check_engines(code: str, name: str) -> list[LintProblem]:
    funcs = _functions(code)
    sites = engine_call_sites(code)
    out = []
    for what, engine in ENGINES.items():
        if engine not in funcs:
            continue  # op not built into this design point
        line = funcs[engine][0][0]
        tmpl = re.search(rf"template\s*<([^<>]*)>\s*[^;{{}}]*?\b{engine}\s*\(", code)
        if tmpl and "," in tmpl.group(1):
            out.append(LintProblem(name, line, "engine",
                                   f"{what} {engine} is templated on more than the design "
                                   f"point ({tmpl.group(1).strip()}): one RTL instance per "
                                   "instantiation"))
        callers = sites[engine]
        n_sites = _instances(funcs, engine)
        if n_sites <= 1:
            continue
        holders = [f for f, defs in funcs.items() for _, body in defs
                   if re.search(rf"ALLOCATION\s+function\s+instances=\S*\b{engine}\b\S*\s+"
                                r"limit=1\b", body)]
        if not holders:
            out.append(LintProblem(name, line, "engine",
                                   f"{what} {engine} has {n_sites} call sites "
                                   f"({', '.join(sorted(set(callers)))}) and no ALLOCATION "
                                   "limit=1"))
            continue
        if not any(re.search(r"#\s*pragma\s+HLS\s+INLINE\s+off", body, re.IGNORECASE)
                   for _, body in funcs[engine]):
            out.append(LintProblem(name, line, "engine",
                                   f"{what} {engine} relies on ALLOCATION limit=1 but is not "
                                   "INLINE off (an inlined function is no instance to share)"))
        # every function between a call and the ALLOCATION holder must be inlined
        todo, seen = list(set(callers)), set()
        while todo:
            fn = todo.pop()
            if fn in seen or fn in holders:
                continue
            seen.add(fn)
            if not _inlined(funcs.get(fn, [])):
                out.append(LintProblem(name, line, "engine",
                                       f"{what} {engine} is called from {fn}, which is not "
                                       "inlined into the function holding its ALLOCATION "
                                       "limit=1"))
                continue
            todo += [f for f, defs in funcs.items() for _, body in defs if _calls(body, fn)]
    return out


def lint_hls_texts(files: dict[str, str]) -> list[LintProblem]:
    """Every rule over named source texts (the whole design: engines span files)."""
    problems: list[LintProblem] = []
    stripped = {n: strip_comments(t) for n, t in files.items()}
    loopy = _loopy_functions("\n".join(stripped.values()))
    for n, text in files.items():
        code = stripped[n]
        problems += [LintProblem(n, int(p.split(":")[1]), "label", p.split(": ", 1)[1])
                     for p in unlabeled_loops(text, n)]
        problems += _check_loops(parse_loops(code), n, False, loopy)
        problems += _check_interfaces(code, n)
        problems += [LintProblem(n, int(p.split(":")[1]), "synthesizable", p.split(": ", 1)[1])
                     for p in scan_kernel_source(text, n)]
    design = "\n".join(stripped.values())
    problems += _check_engines(design, "<design>")
    problems += check_dataflow(design, "<design>",
                               lambda line, rule, msg: LintProblem("<design>", line, rule, msg))
    return problems


def lint_hls_sources(paths) -> list[LintProblem]:
    """Every rule over the given source files (see :func:`lint_hls_texts`)."""
    return lint_hls_texts({Path(p).name: Path(p).read_text() for p in paths})


def lint_design(accel) -> list[LintProblem]:
    """Render a design point's HLS sources into a scratch folder and lint them.

    Args:
        accel: AccelConfig.

    Returns:
        The broken rules (empty when the generated kernel follows every rule).
    """
    from .context import KERNEL_HEADERS, TOP_NAME
    from .outputs import OUTPUTS, render_hls

    with tempfile.TemporaryDirectory(prefix="edgemoe-lint-") as tmp:
        out = Path(tmp)
        render_hls(accel, out, tb={"image_bytes": 1 << 20})
        files = [out / o.filename.format(top=TOP_NAME) for o in OUTPUTS if o.kernel]
        return lint_hls_sources(files + [out / h for h in KERNEL_HEADERS])
