"""Template context of the op spec (edgemoe.ops) for the generated C++ and SystemVerilog.

Each expression arrives printed (``Expr.cpp()`` / ``Expr.sv()``), so the templates only
place strings; which fields, derived values, limits, operands and aliases an opcode has is
read from :data:`edgemoe.ops.OP_SPECS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial

from .. import ops
from ..isa import Flag
from ..opexpr import Case, Const, Expr, Fmt, Sel, flag_names

__all__ = ["CHECKER_DERIVED", "MAX_MAC_FACTORS", "ROLE_CODES", "elem_lg_sv",
           "engine_jobs_context", "macs_context", "opspec_context", "prefetch_context",
           "sv_in_fields"]

#: Operand role -> code in the generated operand tables (C++ ROLE_*, SV ROLE_*).
ROLE_CODES = {"read": 0, "write": 1, "weight": 2}
#: Derived values the SV checker (edgemoe_check) already computes for the dispatcher: a job
#: or MACs product reads its output (``c_*``) instead of another divider.
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


def sv_in_fields(spec: ops.OpSpec, expr: Expr, derived_as: dict[str, str],
                 addresses: bool = False, field_as: Callable[[str], str] | None = None) -> str:
    """``expr`` over the dispatcher's generic field signals (d0..d4, a0..a8, imm).

    Args:
        spec: The opcode's spec (its named fields and derived values).
        expr: The expression.
        derived_as: Derived values read from a signal (name -> signal); the others are
            inlined.
        addresses: Print an address field as its address in the image (``mem + offset``).
        field_as: Print a named field some other way (name -> 64-bit SV expression).
    """
    derived = dict(spec.derived)

    def derived_sv(m: re.Match) -> str:
        name = m.group(1)
        if name in derived_as:
            return f"64'({derived_as[name]})"
        return sv_in_fields(spec, derived[name], derived_as, addresses, field_as)

    def field_sv(m: re.Match) -> str:
        if field_as is not None:
            return field_as(m.group(1))
        generic = spec.fields[m.group(1)]
        return f"(mem + 64'({generic}))" if addresses and generic[0] == "a" \
            else f"64'({generic})"

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
                     "fields": [{"name": f, "bits": bits[f], "value": sv_in_fields(spec, v, CHECKER_DERIVED, addresses=True)}
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
        out.append({"name": spec.op.name, "factors": [sv_in_fields(spec, t, CHECKER_DERIVED) for t in factors],
                    "scale": scale})
    return out


def elem_lg_sv(expr: Expr, flags: str = "flags",
               render: Callable[[Expr], str] | None = None) -> str | None:
    """log2 of an element size (a Fmt, a Sel of them by flags, or with ``render`` a Case of
    them by a field value) in SV; None otherwise.

    Args:
        expr: The element format expression.
        flags: The SV signal holding the instruction's flags.
        render: SV of a Case's key (e.g. ATTENTION's codes_in); without it a Case is None.
    """
    if isinstance(expr, Fmt):
        plain = {"u32": "2", "u8": "0"}  # plain words, not format roles (opexpr.Fmt)
        return plain.get(expr.role, f"edgemoe_pkg::{expr.role.upper()}_LG")
    if isinstance(expr, Sel):
        a, b = (elem_lg_sv(x, flags, render) for x in (expr.if_set, expr.if_clear))
        if a is None or b is None:
            return None
        mask = " | ".join(f"edgemoe_pkg::FLAG_{n}" for n in flag_names(expr.flags))
        return f"(((32'({flags}) & ({mask})) != 0) ? {a} : {b})"
    if isinstance(expr, Case) and render is not None:
        lgs = [elem_lg_sv(c, flags, render) for c in expr.cases]
        if None in lgs:
            return None
        key, out = render(expr.key), lgs[-1]
        for i in range(len(lgs) - 2, -1, -1):
            out = f"(({key}) == {i} ? {lgs[i]} : {out})"
        return out
    return None


def prefetch_context() -> list[dict]:
    """Per opcode whose weights the dispatcher prefetches (``OpSpec.prefetch``): the next
    instruction's weight address, rows, columns and element size in ``edgemoe_ctrl_decode``
    terms (``nw[FLD_*]`` words of the look-ahead instruction, its flags ``n_fl``).

    Returns:
        ``[{"name", "wts", "rows", "cols", "wlg"}]`` (opcode order).
    """
    out = []
    for spec in ops.OP_SPECS.values():
        if not spec.prefetch:
            continue
        name, rows, cols = spec.prefetch
        operand = next(o for o in spec.operands if o.name == name)
        word = partial(_next_word, spec.op.name)
        wts = word(name)
        if operand.stride:  # this task's slice
            wts += f" + 64'(task_id) * 64'($signed(nw[edgemoe_pkg::FLD_{spec.op.name}_" \
                   f"{operand.stride.upper()}]))"
        rows_sv, cols_sv = (sv_in_fields(spec, e, {}, field_as=word).replace(
            "32'(flags)", "32'(n_fl)") for e in (rows, cols))
        out.append({"name": spec.op.name, "wts": wts, "rows": rows_sv, "cols": cols_sv,
                    "wlg": elem_lg_sv(operand.elem, "n_fl")})
    return out


def _next_word(op: str, field: str) -> str:
    """A named field of the look-ahead instruction (``edgemoe_ctrl_decode``'s ``nw``)."""
    return f"64'(nw[edgemoe_pkg::FLD_{op}_{field.upper()}])"

