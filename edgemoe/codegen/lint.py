"""A scanner for C++ that HLS cannot synthesize: dynamic allocation, recursion, standard
containers, floating point.  Run over the kernel sources (static headers + generated top).

It is a line-based heuristic on comment- and string-stripped text, not a C++ parser:
good enough to keep kernels honest, and tested on snippets that must be rejected.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["scan_kernel_source", "scan_kernel_sources", "strip_comments", "unlabeled_loops"]

_RULES = (
    (re.compile(r"\bnew\b|\bdelete\b|\b(?:malloc|calloc|realloc|free)\s*\("), "dynamic allocation"),
    (re.compile(r"\bstd::(?:vector|list|deque|map|set|unordered_\w+|string|queue|stack|"
                r"array|shared_ptr|unique_ptr|function)\b|#\s*include\s*<(?:vector|list|deque|"
                r"map|set|unordered_map|unordered_set|string|queue|stack|memory|functional)>"),
     "standard container"),
    (re.compile(r"\b(?:float|double)\b|\bhls_math\.h\b|\bhls::(?:exp|sqrt|log|pow|recip)\b"),
     "floating point / hls_math"),
    (re.compile(r"\b(?:throw|try|catch|virtual|goto)\b"), "unsynthesizable construct"),
)
_FUNC_RE = re.compile(r"^[\w:<>,\s&*]*?\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?\{")


def strip_comments(text: str) -> str:
    """Remove comments and string/char literals, keeping line structure."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"'(?:\\.|[^'\\])*'", "''", text)


def _recursion(code: str) -> list[tuple[int, str]]:
    """Functions whose body calls themselves (by name)."""
    problems = []
    lines = code.split("\n")
    i = 0
    while i < len(lines):
        m = _FUNC_RE.match(lines[i].strip()) if "(" in lines[i] else None
        name = m.group(1) if m else None
        if name and name not in ("if", "for", "while", "switch", "return"):
            depth, j, body = 0, i, []
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                body.append(lines[j])
                if depth <= 0 and "{" in "".join(body):
                    break
                j += 1
            inner = "\n".join(body)[len(lines[i]):]
            if re.search(rf"\b{re.escape(name)}\s*(?:<[^;]*?>)?\s*\(", inner):
                problems.append((i + 1, f"recursion: {name}() calls itself"))
            i = j + 1
            continue
        i += 1
    return problems


def scan_kernel_source(text: str, name: str = "<source>") -> list[str]:
    """Problems found in one source text, as ``name:line: what`` strings (empty when clean)."""
    code = strip_comments(text)
    problems = []
    for lineno, line in enumerate(code.split("\n"), 1):
        for rule, what in _RULES:
            if rule.search(line):
                problems.append(f"{name}:{lineno}: {what}: {line.strip()}")
    problems += [f"{name}:{ln}: {what}" for ln, what in _recursion(code)]
    return problems


def scan_kernel_sources(paths) -> list[str]:
    """Problems of several files (see :func:`scan_kernel_source`)."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        out += scan_kernel_source(path.read_text(), path.name)
    return out


_LOOP_RE = re.compile(r"^\s*(?:for|while)\s*\(")
_LABEL_RE = re.compile(r"^\s*[A-Za-z_]\w*:\s*$")


def unlabeled_loops(text: str, name: str = "<source>") -> list[str]:
    """Loops without a label on the line before (pragmas and comments in between are fine).

    Labels name loops in HLS reports and let pragmas target them (DESIGN.md section 6).
    """
    lines = strip_comments(text).split("\n")
    out = []
    for i, line in enumerate(lines):
        if not _LOOP_RE.match(line):
            continue
        j = i - 1
        while j >= 0 and (lines[j].strip().startswith("#pragma") or not lines[j].strip()):
            j -= 1
        if j < 0 or not _LABEL_RE.match(lines[j]):
            out.append(f"{name}:{i + 1}: loop without a label: {line.strip()}")
    return out
