"""Template context of the op spec (edgemoe.ops) for the generated C++ and SystemVerilog.

Each expression arrives printed (``Expr.cpp()`` / ``Expr.sv()``), so the templates only
place strings; which fields, derived values, limits, operands and aliases an opcode has is
read from :data:`edgemoe.ops.OP_SPECS`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops
from ..isa import Flag
from ..opexpr import Expr, flag_names

__all__ = ["ROLE_CODES", "opspec_context"]

#: Operand role -> code in the generated operand tables (C++ ROLE_*, SV ROLE_*).
ROLE_CODES = {"read": 0, "write": 1, "weight": 2}


def _mask(flags: Flag, lang: str) -> str:
    prefix = "isa::FLAG_" if lang == "cpp" else "FLAG_"
    return " | ".join(prefix + n for n in flag_names(flags)) or "0"


def _in_package(text: str) -> str:
    """SV expressions are printed into edgemoe_pkg itself: drop the package prefix."""
    return text.replace("edgemoe_pkg::", "")


def _locals(spec: ops.OpSpec, exprs: Iterable[Expr], lang: str) -> dict:
    """The field and derived locals one generated function needs for ``exprs``."""
    exprs = list(exprs)
    derived = dict(spec.derived)
    need: set[str] = set()
    todo = set().union(*(e.derived_names() for e in exprs)) if exprs else set()
    while todo:
        name = todo.pop()
        need.add(name)
        todo |= derived[name].derived_names() - need
    fields = set().union(*(e.fields() for e in exprs)) if exprs else set()
    for name in need:
        fields |= derived[name].fields()
    def dim_slice(generic: str) -> str:
        i = int(generic[1:])
        return f"dims[{32 * i + 31}:{32 * i}]"

    return {
        "fields": [{"name": n, "const": f"FLD_{spec.op.name}_{n.upper()}",
                    "slice": dim_slice(spec.fields[n]) if spec.fields[n][0] == "d" else ""}
                   for n in spec.fields if n in fields],
        "derived": [{"name": n, "expr": e.cpp() if lang == "cpp" else _in_package(e.sv())}
                    for n, e in spec.derived if n in need],
    }


def _op_context(spec: ops.OpSpec, lang: str) -> dict:
    def r(expr: Expr) -> str:
        return expr.cpp() if lang == "cpp" else _in_package(expr.sv())

    index = {o.name: k for k, o in enumerate(spec.operands)}
    lim_exprs = [x for lim in spec.limits for x in (lim.value, lim.high)]
    return {
        "name": spec.op.name,
        "lower": spec.op.name.lower(),
        "handler": spec.handler,
        "kernel_args": ", ".join(spec.kernel_args),
        "engine": spec.engine,
        "shape_locals": _locals(spec, lim_exprs, lang),
        "operand_locals": _locals(spec, [o.size for o in spec.operands], lang),
        "cycle_locals": _locals(spec, [spec.cycles], lang),
        "limits": [{"what": lim.what, "value": r(lim.value), "high": r(lim.high),
                    "when": _mask(lim.when, lang) if lim.when else ""} for lim in spec.limits],
        "operands": [{"name": o.name, "index": k, "role": ROLE_CODES[o.role],
                      "role_name": f"ROLE_{o.role.upper()}",
                      "const": f"FLD_{spec.op.name}_{o.name.upper()}",
                      "stride": f"FLD_{spec.op.name}_{o.stride.upper()}" if o.stride else "",
                      "size": r(o.size), "enable": _mask(o.enable, lang) if o.enable else "",
                      "disable": _mask(o.disable, lang) if o.disable else ""}
                     for k, o in enumerate(spec.operands)],
        "aliases": [{"a": index[a], "b": index[b]} for a, b in spec.aliases],
        "cycles": r(spec.cycles),
    }


def opspec_context(lang: str) -> list[dict]:
    """Per-opcode context (opcode order, NOP included) with expressions printed in ``lang``.

    Args:
        lang: ``"cpp"`` or ``"sv"``.
    """
    return [_op_context(spec, lang) for spec in ops.OP_SPECS.values()]
