"""The SV checker's operand table (``edgemoe_check.sv.j2``), factored from the op spec.

The checker sizes one operand per two cycles on two shared multipliers, so every operand
size of :data:`edgemoe.ops.OP_SPECS` is brought into one form::

    ext = align?((f0 * f1) << sh) * f2 * f3 + add

``f0``, ``f1``, ``f2`` are 64-bit factors over the instruction's fields, ``f3`` a small
constant, ``sh`` the log2 of the element size and of power-of-two constants, ``align``
rounds up to 64 bytes (a padded block), ``add`` a term added after the products.  A
``CeilDiv(x, P) * P`` pair over a power-of-two design constant becomes a round-up by
shifts (no divider).  Values are equal to the spec's modulo 2**64, as the hardware's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import ops
from ..opexpr import Add, Align, CeilDiv, Const, Expr, Mul, Param, flag_names
from .opspec import elem_lg_sv, sv_in_fields

__all__ = ["CHECK_DERIVED", "CheckRow", "check_context"]

#: Derived values edgemoe_check computes once per instruction (its locals).
CHECK_DERIVED = {"out_h": "oh_c", "out_w": "ow_c", "cikk": "cikk_c"}
#: Largest constant the 3-bit ``f3`` holds.
_F3_MAX = 7
_ROLE_CLASS = {"read": 0, "weight": 1, "write": 2}


@dataclass
class CheckRow:
    """One operand of one opcode in the checker's form (SV expression strings)."""

    index: int
    present: str
    offset: str
    cls: int
    f0: str = "64'd1"
    f1: str = "64'd1"
    f2: str = "64'd1"
    f3: int = 1
    sh: list[str] = field(default_factory=list)
    aln: bool = False
    add: str = ""

    @property
    def shift(self) -> str:
        """The 3-bit shift (sum of the log2 terms)."""
        return "3'(" + (" + ".join(self.sh) or "0") + ")"


def _sv(spec: ops.OpSpec, expr: Expr) -> str:
    """``expr`` over the instruction's fields (the same expressions the shape limits use,
    so Yosys merges the products the two have in common)."""
    return sv_in_fields(spec, expr, CHECK_DERIVED)


def _terms(expr: Expr) -> list[Expr]:
    return [t for x in expr.terms for t in _terms(x)] if isinstance(expr, Mul) else [expr]


def _factors(spec: ops.OpSpec, terms: list[Expr], row: CheckRow) -> tuple[list[str], int]:
    """Split product terms into SV factors and a constant; log2 terms go to ``row.sh``."""
    const, out = 1, []
    params = [t for t in terms if isinstance(t, Param)]
    # an element size held in a field (a Case of formats) becomes a shift only where the
    # factors run short (ATTENTION's qkv: three fields already); elsewhere it stays a factor
    crowded = sum(elem_lg_sv(t) is None and not isinstance(t, (Const, Param))
                  for t in terms) > 3
    for t in terms:
        lg = elem_lg_sv(t, render=(lambda e: _sv(spec, e)) if crowded else None)
        if lg is not None:
            row.sh.append(lg)
        elif isinstance(t, Const):
            if t.v & (t.v - 1) == 0:
                row.sh.append(str(t.v.bit_length() - 1))
            else:
                const *= t.v
        elif isinstance(t, CeilDiv) and isinstance(t.b, Param) and t.b in params:
            params.remove(t.b)  # ceil(x / P) * P: round x up to a multiple of P
            x = _sv(spec, t.a)
            out.append(f"edgemoe_pkg::round_up_lg({x}, edgemoe_pkg::{t.b.name}_LG)")
        elif not isinstance(t, Param):
            out.append(_sv(spec, t))
    for p in params:  # a design constant not paired with a CeilDiv (a power of two)
        row.sh.append(f"edgemoe_pkg::{p.name}_LG")
    return out, const


def _row(spec: ops.OpSpec, k: int, op: ops.Operand) -> CheckRow:
    generic = spec.fields[op.name]
    if op.stride:  # the task's slice: offset + task * stride (signed)
        s = spec.fields[op.stride]
        offset = (f"$signed({{34'd0, {generic}}}) + $signed({{63'd0, task_id}}) * "
                  f"$signed({{{{34{{{s}[31]}}}}, {s}}})")
    else:
        offset = f"66'({generic})"
    on = []
    if op.enable:
        on.append(f"(32'(flags) & ({_mask(op.enable)})) != 0")
    if op.disable:
        on.append(f"(32'(flags) & ({_mask(op.disable)})) == 0")
    row = CheckRow(k, " && ".join(on) or "1'b1", offset, _ROLE_CLASS[op.role])
    size = op.size
    if isinstance(size, Add):  # the last term is the product, the others are added
        row.add = " + ".join(_sv(spec, t) for t in _adds(size)[:-1])
        size = _adds(size)[-1]
    terms = _terms(size)
    blocks = [t for t in terms if isinstance(t, Align)]
    if len(blocks) > 1 or (blocks and blocks[0] is not size and not isinstance(size, Mul)):
        raise ValueError(f"{spec.op.name}.{op.name}: size has no checker form: {size}")
    row.aln = bool(blocks)
    inner_terms = _terms(blocks[0].a) if blocks else terms
    outer_terms = [t for t in terms if t is not blocks[0]] if blocks else []
    inner, c_in = _factors(spec, inner_terms, row)
    if blocks:
        if c_in != 1:
            inner.append(f"64'd{c_in}")
        c_out = 1
        outer: list[str] = []
        for t in outer_terms:
            if isinstance(t, Const):
                c_out *= t.v
            else:
                outer.append(_sv(spec, t))
    else:
        inner, outer, c_out = inner[:2], inner[2:], c_in
    if c_out > _F3_MAX:
        outer.append(f"64'd{c_out}")
        c_out = 1
    if len(inner) > 2 or len(outer) > 1:
        raise ValueError(f"{spec.op.name}.{op.name}: more factors than the checker's "
                         f"two multipliers take: {size}")
    row.f0, row.f1 = (inner + ["64'd1", "64'd1"])[:2]
    row.f2 = outer[0] if outer else "64'd1"
    row.f3 = c_out
    return row


def _built_flags(row: CheckRow) -> CheckRow:
    """``row`` reading the checker's ``fl`` (the flags the design builds for the op; equal
    to ``flags`` wherever the table is read) instead of ``flags``."""
    for name in ("present", "offset", "f0", "f1", "f2", "add"):
        setattr(row, name, re.sub(r"\bflags\b", "fl", getattr(row, name)))
    row.sh = [re.sub(r"\bflags\b", "fl", x) for x in row.sh]
    return row


def _adds(expr: Add) -> list[Expr]:
    return [t for x in (expr.a, expr.b) for t in (_adds(x) if isinstance(x, Add) else [x])]


def _mask(flags) -> str:
    return " | ".join(f"edgemoe_pkg::FLAG_{n}" for n in flag_names(flags))


def check_context(built_ops=None) -> dict:
    """The checker's operand table per opcode (opcode order) and its size.

    ``built_ops`` (a design point's ``ops``; default every op) leaves the rows of the
    other opcodes out: the checker reads the table through ``op_b``, which never names an
    opcode the design does not build, but Yosys keeps such rows (a POOL row's two window
    dividers on edge-moe-zcu102).  ``max_operands`` stays over every op, so the checker's
    walk, and its cycles, do not depend on the design.

    Returns:
        ``{"ops": [{"name", "rows": [CheckRow]}], "max_operands": int, "last_op": str}``.

    Raises:
        ValueError: An operand size the checker's form cannot hold.
    """
    table = [{"name": s.op.name, "rows": [_built_flags(_row(s, k, o))
                                          for k, o in enumerate(s.operands)]}
             for s in ops.OP_SPECS.values()
             if s.operands and (built_ops is None or s.op.name.lower() in built_ops)]
    return {"ops": table,
            "max_operands": max(len(s.operands) for s in ops.OP_SPECS.values()),
            "last_op": max(ops.OP_SPECS).name}
