"""The small C++ reader behind ``edgemoe lint-hls``: loops as a forest with their HLS
pragmas, function definitions with their signatures, parameters and call arguments.

It reads comment- and string-stripped text with a brace matcher; it is not a C++ front
end, so the kernels keep to one loop header per line and one parameter per comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LOOP_KW", "PRAGMA", "Loop", "call_args", "functions", "matching", "params",
           "parse_loops"]

LOOP_KW = re.compile(r"\b(for|while)\s*\(")
PRAGMA = re.compile(r"^\s*#\s*pragma\s+HLS\s+(.*)$", re.IGNORECASE)
_FUNC_DEF = re.compile(r"(?:^|\n)([^\n;{}#]*?\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?)\{")
_NOT_FUNCS = ("if", "for", "while", "switch", "return", "sizeof")


@dataclass
class Loop:
    """One loop: its line, header, kind, body, leading HLS pragmas and nested loops."""

    line: int
    header: str
    kind: str
    body: str = ""
    pragmas: list[str] = field(default_factory=list)
    children: list[Loop] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """A leading pragma starts with ``name`` (upper case)."""
        return any(p.upper().startswith(name) for p in self.pragmas)


def matching(code: str, i: int, open_c: str, close_c: str) -> int:
    """Index of the bracket closing the one at code[i]."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == open_c:
            depth += 1
        elif code[j] == close_c:
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def parse_loops(code: str, start: int = 0, end: int | None = None) -> list[Loop]:
    """Loops of code[start:end] as a forest, with the HLS pragmas at the top of their body."""
    end = len(code) if end is None else end
    loops: list[Loop] = []
    pos = start
    while True:
        m = LOOP_KW.search(code, pos, end)
        if m is None:
            return loops
        paren = m.end() - 1
        close = matching(code, paren, "(", ")")
        loop = Loop(code.count("\n", 0, m.start()) + 1, code[paren + 1:close], m.group(1))
        j = close + 1
        while j < end and code[j].isspace():
            j += 1
        if j < end and code[j] == "{":
            body_end = matching(code, j, "{", "}")
            body = loop.body = code[j + 1:body_end]
            for line in body.split("\n"):
                pm = PRAGMA.match(line)
                if pm:
                    loop.pragmas.append(pm.group(1).strip())
                elif line.strip():
                    break
            loop.children = parse_loops(code, j + 1, body_end)
            pos = body_end + 1
        else:  # single-statement body
            pos = code.find(";", j, end) + 1 or end
            loop.body = code[j:pos]
            loop.children = parse_loops(code, j, pos)
        loops.append(loop)


def functions(code: str) -> dict[str, list[tuple[int, str, str]]]:
    """Function name -> [(line, body, signature)] for every definition in the code."""
    out: dict[str, list[tuple[int, str, str]]] = {}
    for m in _FUNC_DEF.finditer(code):
        fname = m.group(2)
        if fname in _NOT_FUNCS:
            continue
        brace = m.end() - 1
        body = code[brace + 1:matching(code, brace, "{", "}")]
        out.setdefault(fname, []).append((code.count("\n", 0, brace) + 1, body, m.group(1)))
    return out


def _split_top(text: str, angles: bool) -> list[str]:
    """Split at commas outside brackets (and outside <> when ``angles``)."""
    parts, depth, start = [], 0, 0
    opens, closes = ("([{<", ")]}>") if angles else ("([{", ")]}")
    for i, ch in enumerate(text):
        if ch in opens:
            depth += 1
        elif ch in closes:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def call_args(text: str) -> list[str]:
    """The arguments of a call, given the text between its parentheses."""
    return _split_top(text, angles=False)


def params(signature: str) -> list[tuple[str, str]]:
    """(name, kind) of each parameter of a definition's signature; kind is ``value`` for a
    by-value scalar or struct, ``ref`` for a reference, pointer or array."""
    open_at = signature.find("(")
    if open_at < 0:
        return []
    inner = signature[open_at + 1:matching(signature, open_at, "(", ")")]
    out = []
    for p in _split_top(inner, angles=True):
        p = p.split("=")[0].strip()
        m = re.search(r"\(\s*&\s*(\w+)\s*\)", p) or re.search(r"(\w+)\s*(?:\[[^\]]*\]\s*)*$", p)
        if m:
            out.append((m.group(1), "ref" if re.search(r"[&*\[]", p) else "value"))
    return out
