"""Integer expressions of the op spec: evaluated in Python, rendered to C++ and SystemVerilog.

An operand size, a shape limit or a cycle count is written once (in :mod:`edgemoe.ops`) as a
small tree of these nodes.  ``value(env)`` evaluates it for the golden executor and the
compiler's checks; ``cpp()`` and ``sv()`` print the same arithmetic for the generated HLS
checks and the SystemVerilog package, so the three languages cannot drift apart.

Every value is a non-negative integer (uint64 in C++, 64-bit logic in SV); sizes that would
be negative (an impossible convolution) clamp to 0 and are refused by the shape limits.
``max_bits`` bounds a value's width (fields are 32-bit words): the SV divisions use it to
build a divider only as wide as its operands can be (a 64-bit one is ~5,600 LUTs under
Yosys, a 34-bit one by a byte ~1,700), with the same result for every instruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .isa import Flag

__all__ = [
    "Add",
    "Align",
    "Bits",
    "Case",
    "CeilDiv",
    "Const",
    "ConvOut",
    "Derived",
    "Env",
    "Expr",
    "Field",
    "Flags",
    "FloorDiv",
    "Fmt",
    "Max",
    "Min",
    "Mul",
    "Param",
    "Prof",
    "Sel",
    "Sub",
    "flag_names",
]


class Env(Protocol):
    """What an expression reads while it is evaluated (see ``ops.OpEnv``)."""

    def field(self, name: str) -> int: ...
    def derived(self, name: str) -> int: ...
    def has(self, flags: Flag) -> bool: ...
    def flags(self) -> int: ...
    def param(self, attr: str) -> int: ...
    def fmt_bytes(self, role: str) -> int: ...
    def prof(self, name: str) -> int: ...


def flag_names(flags: Flag) -> list[str]:
    """Names of the single flags in ``flags``, in bit order."""
    return [f.name for f in Flag if f and f & flags and (f & (f - 1)) == 0]


class Expr:
    """Base of every node: ``value``, ``cpp`` and ``sv`` are implemented by each node."""

    def value(self, env: Env) -> int:
        raise NotImplementedError

    def cpp(self) -> str:
        raise NotImplementedError

    def sv(self) -> str:
        raise NotImplementedError

    def max_bits(self) -> int:
        """Bits the value can need at most (64: unknown)."""
        return 64

    def nodes(self) -> list[Expr]:
        """This node and every node below it."""
        out: list[Expr] = [self]
        for v in vars(self).values():
            for item in v if isinstance(v, tuple) else (v,):
                if isinstance(item, Expr):
                    out += item.nodes()
        return out

    def fields(self) -> set[str]:
        """Named instruction fields the expression reads directly."""
        return {n.name for n in self.nodes() if isinstance(n, Field)}

    def derived_names(self) -> set[str]:
        """Derived values (``OpSpec.derived``) the expression reads."""
        return {n.name for n in self.nodes() if isinstance(n, Derived)}


def _e(x: Any) -> Expr:
    return x if isinstance(x, Expr) else Const(int(x))


@dataclass(frozen=True)
class Const(Expr):
    """A literal."""

    v: int

    def value(self, env: Env) -> int:
        return self.v

    def cpp(self) -> str:
        return f"{self.v}ULL"

    def sv(self) -> str:
        return f"64'd{self.v}"

    def max_bits(self) -> int:
        return max(1, self.v.bit_length())


@dataclass(frozen=True)
class Field(Expr):
    """A named instruction field of the opcode (isa.OP_FIELDS)."""

    name: str

    def value(self, env: Env) -> int:
        return env.field(self.name)

    def cpp(self) -> str:
        return f"f_{self.name}"

    def sv(self) -> str:
        return f"f_{self.name}"

    def max_bits(self) -> int:
        return 32  # every named field is one 32-bit instruction word


@dataclass(frozen=True)
class Flags(Expr):
    """The instruction's flag word (an engine job that acts on the flags itself)."""

    def value(self, env: Env) -> int:
        return env.flags()

    def cpp(self) -> str:
        return "(uint64_t)ins.flags()"

    def sv(self) -> str:
        return "64'(flags)"


@dataclass(frozen=True)
class Derived(Expr):
    """A value the op spec derives from fields (``OpSpec.derived``), e.g. CONV's kernel;
    ``bits`` bounds its width when its definition does (a packed byte: 8)."""

    name: str
    bits: int = 64

    def value(self, env: Env) -> int:
        return env.derived(self.name)

    def cpp(self) -> str:
        return f"v_{self.name}"

    def sv(self) -> str:
        return f"v_{self.name}"

    def max_bits(self) -> int:
        return self.bits


@dataclass(frozen=True)
class Param(Expr):
    """A design-point constant: ``attr`` of AccelConfig, exported as ``name`` (C++ and SV)."""

    name: str
    attr: str

    def value(self, env: Env) -> int:
        return env.param(self.attr)

    def cpp(self) -> str:
        return f"(uint64_t)CFG::{self.name}"

    def sv(self) -> str:
        return f"64'(edgemoe_pkg::{self.name})"


#: Element types that are plain words, not format roles: bytes per element.
_PLAIN_WORDS = {"u32": 4, "u8": 1}


@dataclass(frozen=True)
class Fmt(Expr):
    """Storage bytes of one element of a format role (``u32`` is a plain 32-bit word,
    ``u8`` one byte, e.g. a spike)."""

    role: str

    def value(self, env: Env) -> int:
        return _PLAIN_WORDS[self.role] if self.role in _PLAIN_WORDS else env.fmt_bytes(self.role)

    def cpp(self) -> str:
        if self.role in _PLAIN_WORDS:
            return f"(uint64_t){_PLAIN_WORDS[self.role]}"
        return f"(uint64_t)CFG::{self.role}::BYTES"

    def sv(self) -> str:
        if self.role in _PLAIN_WORDS:
            return f"64'd{_PLAIN_WORDS[self.role]}"
        return f"(64'd1 << edgemoe_pkg::{self.role.upper()}_LG)"


@dataclass(frozen=True)
class Prof(Expr):
    """A profile counter the op's handler has counted (only in cycle terms)."""

    name: str

    def value(self, env: Env) -> int:
        return env.prof(self.name)

    def cpp(self) -> str:
        return f"prof.v[isa::PROF_{self.name.upper()}]"

    def sv(self) -> str:
        return f"p_{self.name}"


@dataclass(frozen=True)
class Sel(Expr):
    """``if_set`` when any of ``flags`` is set, else ``if_clear``."""

    flags: Flag
    if_set: Expr
    if_clear: Expr

    def value(self, env: Env) -> int:
        return self.if_set.value(env) if env.has(self.flags) else self.if_clear.value(env)

    def cpp(self) -> str:
        mask = " | ".join(f"isa::FLAG_{n}" for n in flag_names(self.flags))
        return f"((ins.flags() & ({mask})) ? {self.if_set.cpp()} : {self.if_clear.cpp()})"

    def sv(self) -> str:
        mask = " | ".join(f"edgemoe_pkg::FLAG_{n}" for n in flag_names(self.flags))
        return f"(((32'(flags) & ({mask})) != 0) ? {self.if_set.sv()} : {self.if_clear.sv()})"

    def max_bits(self) -> int:
        return max(self.if_set.max_bits(), self.if_clear.max_bits())


@dataclass(frozen=True)
class _Binary(Expr):
    a: Expr
    b: Expr


class Add(_Binary):
    """a + b."""

    def value(self, env: Env) -> int:
        return self.a.value(env) + self.b.value(env)

    def cpp(self) -> str:
        return f"({self.a.cpp()} + {self.b.cpp()})"

    def sv(self) -> str:
        return f"({self.a.sv()} + {self.b.sv()})"

    def max_bits(self) -> int:
        return min(64, max(self.a.max_bits(), self.b.max_bits()) + 1)


class Sub(_Binary):
    """a - b (b <= a wherever the spec uses it)."""

    def value(self, env: Env) -> int:
        return self.a.value(env) - self.b.value(env)

    def cpp(self) -> str:
        return f"({self.a.cpp()} - {self.b.cpp()})"

    def sv(self) -> str:
        return f"({self.a.sv()} - {self.b.sv()})"

    def max_bits(self) -> int:
        return self.a.max_bits()  # b <= a


class CeilDiv(_Binary):
    """ceil(a / b), b > 0."""

    def value(self, env: Env) -> int:
        return -(-self.a.value(env) // self.b.value(env))

    def cpp(self) -> str:
        return f"ceil_div({self.a.cpp()}, {self.b.cpp()})"

    def sv(self) -> str:
        if self.a.max_bits() <= 32 and self.b.max_bits() <= 8 and not isinstance(self.b, Const):
            # a function's narrow arguments: Yosys would size n'(...) below at 64 bits
            return f"edgemoe_pkg::ceil_div_narrow(32'({self.a.sv()}), 8'({self.b.sv()}))"
        n = max(self.a.max_bits(), self.b.max_bits()) + 1  # a + b - 1 fits
        if n >= 64:
            return f"edgemoe_pkg::ceil_div({self.a.sv()}, {self.b.sv()})"
        a, b = f"{n}'({self.a.sv()})", f"{n}'({self.b.sv()})"
        return f"64'({{({a} + {b} - {n}'d1) / {b}}})"  # {...}: an n-bit divider

    def max_bits(self) -> int:
        return self.a.max_bits()


class FloorDiv(_Binary):
    """floor(a / max(b, 1))."""

    def value(self, env: Env) -> int:
        return self.a.value(env) // max(1, self.b.value(env))

    def cpp(self) -> str:
        b = self.b.cpp()
        return f"({self.a.cpp()} / ({b} > 0 ? {b} : (uint64_t)1))"

    def sv(self) -> str:
        n = max(self.a.max_bits(), self.b.max_bits())
        if n >= 64:
            return f"edgemoe_pkg::floor_div({self.a.sv()}, {self.b.sv()})"
        b = self.b.sv()
        return f"64'({{{n}'({self.a.sv()}) / (({b} == 64'd0) ? {n}'d1 : {n}'({b}))}})"

    def max_bits(self) -> int:
        return self.a.max_bits()


class Min(_Binary):
    """min(a, b)."""

    def value(self, env: Env) -> int:
        return min(self.a.value(env), self.b.value(env))

    def cpp(self) -> str:
        a, b = self.a.cpp(), self.b.cpp()
        return f"({a} < {b} ? {a} : {b})"

    def sv(self) -> str:
        return f"edgemoe_pkg::min64({self.a.sv()}, {self.b.sv()})"

    def max_bits(self) -> int:
        return min(self.a.max_bits(), self.b.max_bits())


class Max(_Binary):
    """max(a, b)."""

    def value(self, env: Env) -> int:
        return max(self.a.value(env), self.b.value(env))

    def cpp(self) -> str:
        a, b = self.a.cpp(), self.b.cpp()
        return f"({a} > {b} ? {a} : {b})"

    def sv(self) -> str:
        return f"edgemoe_pkg::max64({self.a.sv()}, {self.b.sv()})"

    def max_bits(self) -> int:
        return max(self.a.max_bits(), self.b.max_bits())


@dataclass(frozen=True)
class Mul(Expr):
    """Product of the terms."""

    terms: tuple[Expr, ...]

    def __init__(self, *terms: Any):
        object.__setattr__(self, "terms", tuple(_e(t) for t in terms))

    def value(self, env: Env) -> int:
        out = 1
        for t in self.terms:
            out *= t.value(env)
        return out

    def cpp(self) -> str:
        return "(" + " * ".join(t.cpp() for t in self.terms) + ")"

    def sv(self) -> str:
        return "(" + " * ".join(t.sv() for t in self.terms) + ")"

    def max_bits(self) -> int:
        return min(64, sum(t.max_bits() for t in self.terms))


@dataclass(frozen=True)
class Align(Expr):
    """a rounded up to a multiple of 64 bytes."""

    a: Expr

    def value(self, env: Env) -> int:
        return -(-self.a.value(env) // 64) * 64

    def cpp(self) -> str:
        return f"align64({self.a.cpp()})"

    def sv(self) -> str:
        return f"edgemoe_pkg::align64({self.a.sv()})"


@dataclass(frozen=True)
class Bits(Expr):
    """``width`` bits of a from bit ``lo`` (packed sub-fields such as CONV's kernel)."""

    a: Expr
    lo: int
    width: int

    def value(self, env: Env) -> int:
        return (self.a.value(env) >> self.lo) & ((1 << self.width) - 1)

    def cpp(self) -> str:
        return f"(({self.a.cpp()} >> {self.lo}) & {(1 << self.width) - 1}ULL)"

    def sv(self) -> str:
        return f"(({self.a.sv()} >> {self.lo}) & 64'd{(1 << self.width) - 1})"

    def max_bits(self) -> int:
        return min(self.width, self.a.max_bits())


@dataclass(frozen=True)
class ConvOut(Expr):
    """layout.conv_out_size(size, kernel, stride, pad), clamped at 0."""

    size: Expr
    kernel: Expr
    stride: Expr
    pad: Expr

    def value(self, env: Env) -> int:
        s, k, st, p = (x.value(env) for x in (self.size, self.kernel, self.stride, self.pad))
        return max(0, (s + 2 * p - k) // st + 1) if st > 0 else 0

    def cpp(self) -> str:
        args = ", ".join(f"(int64_t){x.cpp()}" for x in (self.size, self.kernel, self.stride, self.pad))
        return f"(uint64_t)em_max(conv_out_size({args}), 0)"

    def sv(self) -> str:
        parts = (self.size, self.kernel, self.stride, self.pad)
        if self.size.max_bits() <= 32 and all(x.max_bits() <= 8 for x in parts[1:]):
            args = ", ".join(f"{w}'({x.sv()})" for w, x in zip((32, 8, 8, 8), parts))
            return f"edgemoe_pkg::conv_out_narrow({args})"  # a 34-bit by 8-bit divider
        return f"edgemoe_pkg::conv_out({', '.join(x.sv() for x in parts)})"

    def max_bits(self) -> int:
        return min(64, self.size.max_bits() + 1)


@dataclass(frozen=True)
class Case(Expr):
    """``cases[i]`` when ``key`` equals i, else the last case (a mode held in a field)."""

    key: Expr
    cases: tuple[Expr, ...]

    def __init__(self, key: Expr, cases: tuple[Any, ...]):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "cases", tuple(_e(c) for c in cases))

    def value(self, env: Env) -> int:
        k = self.key.value(env)
        return self.cases[min(k, len(self.cases) - 1)].value(env)

    def cpp(self) -> str:
        out = self.cases[-1].cpp()
        for i in range(len(self.cases) - 2, -1, -1):
            out = f"(({self.key.cpp()} == {i}ULL) ? {self.cases[i].cpp()} : {out})"
        return out

    def sv(self) -> str:
        out = self.cases[-1].sv()
        for i in range(len(self.cases) - 2, -1, -1):
            out = f"(({self.key.sv()} == 64'd{i}) ? {self.cases[i].sv()} : {out})"
        return out

    def max_bits(self) -> int:
        return max(c.max_bits() for c in self.cases)
