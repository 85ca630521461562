"""Template context of the op spec (edgemoe.ops) for the generated C++ and SystemVerilog.

Each expression arrives printed (``Expr.cpp()`` / ``Expr.sv()``), so the templates only
place strings; which fields, derived values, limits, operands and aliases an opcode has is
read from :data:`edgemoe.ops.OP_SPECS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import ops
from ..isa import Flag
from ..opexpr import Const, Expr, flag_names

__all__ = ["CHECKER_DERIVED", "MAX_MAC_FACTORS", "ROLE_CODES", "engine_jobs_context",
           "macs_context", "opspec_context"]

#: Operand role -> code in the generated operand tables (C++ ROLE_*, SV ROLE_*).
ROLE_CODES = {"read": 0, "write": 1, "weight": 2}
#: Derived values the SV checker (edgemoe_check) already computes for the dispatcher: a job
#: reads its output (``edgemoe_ctrl_jobs`` input) instead of another divider.
CHECKER_DERIVED = {"out_h": "c_oh", "out_w": "c_ow", "cikk": "c_cikk"}
#: Most non-constant MAC factors the SV profile multiplies (its 2-bit step counter).
MAX_MAC_FACTORS = 5


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


def _job_sv(spec: ops.OpSpec, expr: Expr) -> str:
    """``expr`` in the dispatcher's terms: generic field signals (d0..d4, a0..a8, imm), an
    address field as its address in the image (``mem + offset``), derived values inlined
    or read from the checker (:data:`CHECKER_DERIVED`)."""
    derived = dict(spec.derived)

    def derived_sv(m: re.Match) -> str:
        name = m.group(1)
        if name in CHECKER_DERIVED:
            return f"64'({CHECKER_DERIVED[name]})"
        return _job_sv(spec, derived[name])

    def field_sv(m: re.Match) -> str:
        generic = spec.fields[m.group(1)]
        return f"(mem + 64'({generic}))" if generic[0] == "a" else f"64'({generic})"

    text = re.sub(r"\bv_(\w+)", derived_sv, expr.sv())
    return re.sub(r"\bf_(\w+)", field_sv, text)


def engine_jobs_context() -> dict:
    """Each engine's job struct and, per opcode with a spec'd job, the SV assignments.

    Returns:
        ``{"structs": [{"engine", "fields": [(name, bits)]}], "ops": [{"name", "engine",
        "fields": [{"name", "bits", "value"}]}]}`` (ENGINES and opcode order).
    """
    structs = [{"engine": e, "fields": list(ops.ENGINE_JOBS[e])}
               for e in ops.ENGINES if e in ops.ENGINE_JOBS]
    jobs = []
    for spec in ops.OP_SPECS.values():
        if not spec.job:
            continue
        bits = dict(ops.ENGINE_JOBS[spec.engine])
        jobs.append({"name": spec.op.name, "engine": spec.engine,
                     "fields": [{"name": f, "bits": bits[f], "value": _job_sv(spec, v)}
                                for f, v in spec.job]})
    return {"structs": structs, "ops": jobs}


def macs_context() -> list[dict]:
    """Per opcode with a spec'd MAC count: its factors printed for ``edgemoe_ctrl_prof``.

    Returns:
        ``[{"name", "factors": [sv], "scale": int}]``: the product of the factors (one
        multiply per cycle) times the product of the constant factors.

    Raises:
        ValueError: A MAC product with more factors than the profile's step counter holds.
    """
    out = []
    for spec in ops.OP_SPECS.values():
        if spec.macs is None:
            continue
        factors = [t for t in spec.macs.terms if not isinstance(t, Const)]
        scale = 1
        for t in spec.macs.terms:
            if isinstance(t, Const):
                scale *= t.v
        if not factors or len(factors) > MAX_MAC_FACTORS:
            raise ValueError(f"{spec.op.name}: macs needs 1..{MAX_MAC_FACTORS} field factors")
        out.append({"name": spec.op.name, "factors": [_job_sv(spec, t) for t in factors],
                    "scale": scale})
    return out

