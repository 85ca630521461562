"""Static checks of instructions against a design point and a memory image size.

The compiler refuses programs that fail these checks; the executors run the same checks
before each instruction and turn a failure into an error status instead of raising.
What is checked (limits, operands, aliases) is read from the op spec, :mod:`edgemoe.ops`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .isa import ALIGN, Err, Flag, Instr, Op, design_flags, required_flags
from .ops import OpEnv, Operand, OpSpec, spec_of


class ProgramError(ValueError):
    """A program that cannot run on the design point; names the instruction and the field."""

    def __init__(self, index: int, code: Err, message: str):
        super().__init__(f"instruction {index}: {message}")
        self.index, self.code = index, code


@dataclass(frozen=True)
class Problem:
    """One failed check."""

    code: Err
    message: str


def fmt_bytes(fmt) -> int:
    """Storage bytes of one element of a FixedType."""
    return fmt.storage_dtype.itemsize


@dataclass(frozen=True)
class Extent:
    """Where one memory operand of an instruction lies: ``[offset, offset + nbytes)``."""

    operand: Operand
    offset: int
    nbytes: int


def operand_extents(ins: Instr, accel, task: int = 0) -> list[Extent]:
    """Every memory operand the instruction uses, in spec order (ops.OP_SPECS)."""
    env = OpEnv(ins, accel)
    out = []
    for operand in spec_of(ins.op).operands:
        if env.present(operand):
            off = ins.get(operand.name)
            if operand.stride:
                off += task * ins.get(operand.stride)
            out.append(Extent(operand, off, operand.size.value(env)))
    return out


def operand_bytes(ins: Instr, accel) -> dict[str, int]:
    """Byte extent of every memory operand the instruction uses (name -> bytes)."""
    return {e.operand.name: e.nbytes for e in operand_extents(ins, accel)}


def _overlap_problem(spec: OpSpec, extents: list[Extent]) -> Problem | None:
    """The first pair with a written operand that overlaps another, unless an allowed alias."""
    for i, x in enumerate(extents):
        for y in extents[i + 1:]:
            if "write" not in (x.operand.role, y.operand.role) or not x.nbytes or not y.nbytes:
                continue
            if x.offset >= y.offset + y.nbytes or y.offset >= x.offset + x.nbytes:
                continue
            pair = (x.operand.name, y.operand.name)
            exact = x.offset == y.offset and x.nbytes == y.nbytes
            if exact and (pair in spec.aliases or pair[::-1] in spec.aliases):
                continue
            return Problem(Err.OVERLAP, f"{spec.op.name} {pair[0]} [{x.offset}, "
                           f"{x.offset + x.nbytes}) overlaps {pair[1]} [{y.offset}, "
                           f"{y.offset + y.nbytes}); use disjoint buffers"
                           + (f" or exactly {pair[1]} = {pair[0]}" if pair in spec.aliases
                              or pair[::-1] in spec.aliases else ""))
    return None


#: Flags a design point builds only when asked: the key that builds them.
_BUILD_FLAG = {Flag.ATTN_TOPK: "set attn_topk: true to build it",
               Flag.WFMT_Q4: "add q4 to its weight_formats to build it"}
#: How to make a program carry a flag its design point requires (isa.required_flags).
_ONLY_FLAG = {Flag.WFMT_Q8: "compile with --int8 N --int8-attn (attn_act: false)"}


def check_instr(ins: Instr, accel, image_bytes: int, task: int | None = None) -> list[Problem]:
    """All problems of one instruction (empty when it may run).

    ``task`` selects the MOE_GATE weight slice to bounds-check (None checks task 0 only).
    """
    try:
        op = Op(ins.op)
    except ValueError:
        return [Problem(Err.BAD_OPCODE, f"unknown opcode {ins.op}")]
    if op != Op.NOP and op.name.lower() not in accel.ops:
        return [Problem(Err.OP_NOT_BUILT, f"{op.name} is not built into design point "
                        f"{accel.name!r} (ops: {', '.join(accel.ops)})")]
    spec = spec_of(op)
    bad_flags = ins.flags & ~int(spec.flags & design_flags(op, accel))
    if bad_flags:
        unbuilt = bad_flags & int(spec.flags)  # the op has them; this design leaves them out
        fix = _BUILD_FLAG.get(Flag(unbuilt), "") if unbuilt == bad_flags else ""
        return [Problem(Err.BAD_FLAGS, f"{op.name} does not accept flags 0x{bad_flags:x}"
                        + (f" on design point {accel.name!r}: {fix}" if fix else ""))]
    need = required_flags(op, accel)
    if ins.flags & need != need:  # (attn_act: false: the int8 attention only)
        return [Problem(Err.BAD_FLAGS, f"{op.name} without flags {Flag(need).name} on design "
                        f"point {accel.name!r}, which builds that mode only: "
                        f"{_ONLY_FLAG.get(Flag(need), 'recompile with it')}")]
    problems = []
    env = OpEnv(ins, accel)
    for lim in spec.limits:
        if lim.when and not env.has(lim.when):
            continue
        value, high = lim.value.value(env), lim.high.value(env)
        if not 1 <= value <= high:
            problems.append(Problem(Err.BAD_SHAPE, f"{op.name} {lim.what}={value} outside "
                                    f"[1, {high}] (design point {accel.name!r} buffers)"))
    if problems:
        return problems
    names = spec.fields
    extents = operand_extents(ins, accel, task or 0)
    for ext in extents:
        name, off, nbytes = ext.operand.name, ext.offset, ext.nbytes
        if off % ALIGN:
            problems.append(Problem(Err.MISALIGNED, f"{op.name} {name} ({names[name]}) offset "
                                    f"{off} is not {ALIGN}-byte aligned"))
        elif off < 0 or off + nbytes > image_bytes:
            problems.append(Problem(Err.OUT_OF_RANGE, f"{op.name} {name} ({names[name]}) "
                                    f"[{off}, {off + nbytes}) is outside the {image_bytes}-byte "
                                    "memory image"))
    if not problems:
        overlap = _overlap_problem(spec, extents)
        problems += [overlap] if overlap else []
    return problems


def validate_program(instrs: list[Instr], accel, image_bytes: int, tasks: int = 1) -> None:
    """Raise :class:`ProgramError` for the first invalid instruction."""
    for i, ins in enumerate(instrs):
        for task in range(tasks):
            problems = check_instr(ins, accel, image_bytes, task)
            if problems:
                raise ProgramError(i, problems[0].code, "; ".join(p.message for p in problems))
