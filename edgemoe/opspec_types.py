"""The vocabulary of an op spec: engines, their jobs, memory roles, and the spec records.

:mod:`edgemoe.ops` fills these records in, one per opcode; this module only says what a
record holds, so the table there stays the single place that says what an op means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .isa import OP_FIELDS, OP_FLAGS, Flag, Op
from .opexpr import Const, Expr, Mul

#: Default cost: one cycle.
_ONE = Const(1)

__all__ = ["ENGINES", "ENGINE_JOBS", "ROLES", "Limit", "OpSpec", "Operand"]

#: Engines of the compute unit (``edgemoe_<engine>.sv``), in DMA owner-code order.
ENGINES = ("ctrl", "lin", "router", "attn", "ln", "eltwise", "upsample", "pool", "lif")
#: The job each engine takes with its start pulse, (field, bits) in order: rendered as the
#: packed ``edgemoe_pkg::<engine>_job_t``.  lin mode: 0 LINEAR, 1 CONV, 2 MOE_GATE logits;
#: eltwise mode: 0 ADD, 1 COPY, 2 ZERO; pool mode: isa.PoolMode; lif mode: isa.LIF_*.
ENGINE_JOBS: Mapping[str, tuple[tuple[str, int], ...]] = {
    "lin": (("mode", 2), ("t", 32), ("n", 32), ("k", 32), ("src", 64), ("dst", 64),
            ("wts", 64), ("bias", 64), ("base", 64), ("index", 64), ("scores", 64),
            ("flags", 16), ("in_h", 32), ("in_w", 32), ("ci", 32), ("ow", 32), ("kk", 8),
            ("ks", 8), ("kp", 8), ("scales", 64), ("x_mul", 32), ("dq", 8),  # W8A8
            ("q4_split", 32),  # WFMT_Q4: high_out | q4_groups << 16
            ("q4_index", 64),  # WFMT_Q4: channel_index (index is a queue in the experts)
            # W8A8 int8 code rows (numerics.int8.hidden_codes): bit 0 the writer stores
            # codes (an expert's fc1, a LINEAR with codes out), bit 1 the row loader reads
            # codes (fc2, codes in), bit 2 the codes' multipliers are the strip's code_muls
            # (a LINEAR's, edgemoe_lin_bbuf), else hidden_x_mul in every lane (an expert's)
            ("hidden_codes", 3), ("hidden_x_mul", 32)),
    "router": (("t", 32), ("e", 32), ("topk", 32), ("queues", 64)),
    "attn": (("t", 32), ("nh", 32), ("hd", 32), ("qkv", 64), ("dst", 64), ("scale", 32),
             ("topk", 1), ("cb", 32), ("k", 32), ("book", 64), ("codes", 64), ("picks", 64),
             ("q8", 1), ("q8p", 64), ("q8c", 2)),  # WFMT_Q8: int8 mode, parameters, q8_codes
    "ln": (("t", 32), ("d", 32), ("src", 64), ("dst", 64), ("gamma", 64), ("beta", 64),
           ("eps", 32)),
    "eltwise": (("mode", 2), ("n", 32), ("a", 64), ("b", 64), ("dst", 64)),
    "upsample": (("h", 32), ("w", 32), ("c", 32), ("src", 64), ("dst", 64)),
    "pool": (("mode", 2), ("h", 32), ("w", 32), ("c", 32), ("k", 8), ("s", 8), ("src", 64),
             ("dst", 64), ("gate", 64), ("recip", 32)),
    "lif": (("n", 32), ("k", 32), ("steps", 32), ("th", 32), ("mode", 2), ("leak", 32),
            ("src", 64), ("dst", 64), ("wts", 64), ("bias", 64)),
}
#: What an operand is to the memory: read, a weight read (counted apart), or written.
ROLES = ("read", "weight", "write")


@dataclass(frozen=True)
class Operand:
    """One memory operand of an opcode.

    Attributes:
        name: Its named address field (isa.OP_FIELDS).
        role: One of :data:`ROLES`.
        elem: Element format (a Fmt, or a Sel of Fmts chosen by flags).
        size: Byte extent.
        enable: Present only when any of these flags is set (NONE: always present).
        disable: Absent when any of these flags is set.
        stride: Named field added ``task`` times to the offset (MOE_GATE's task slices).
    """

    name: str
    role: str
    elem: Expr
    size: Expr
    enable: Flag = Flag.NONE
    disable: Flag = Flag.NONE
    stride: str = ""


@dataclass(frozen=True)
class Limit:
    """A shape limit ``1 <= value <= high``, checked only when ``when`` (any) is set."""

    what: str
    value: Expr
    high: Expr
    when: Flag = Flag.NONE


@dataclass(frozen=True)
class OpSpec:
    """Everything an opcode means.

    Attributes:
        op: The opcode.
        engine: Engine that runs it: the SV module ``edgemoe_<engine>`` in the RTL top.
        handler: Golden handler and HLS kernel function name (same in both languages).
        kernel_args: Arguments of the HLS kernel, in order (``lb``: the linear engine's
            weight buffers; ``task``: the device task).
        derived: Named values computed from fields, in order (usable by later ones).
        limits: Shape limits, in check order.
        operands: Memory operands, in check order.
        aliases: Operand pairs that may share exactly the same bytes (in-place update);
            any other overlap with a written operand is refused (Err.OVERLAP).
        cycles: Ideal cycles at full engine use (II=1, no stalls).
        helpers: Other engines its jobs start (built into the RTL top with the op).
        job: Its engine's job (:data:`ENGINE_JOBS` fields) as the dispatcher hands it over:
            job field -> value over the named fields; an address field gives the operand's
            address in the image.  Empty: the dispatcher sequences the op by hand (LINEAR's
            index checks, MOE_GATE's two engines, MOE_EXPERTS' expert loop).
        prefetch: ``(weight operand, rows, cols)``: a tile-packed weight matrix the
            dispatcher may load while the previous instruction runs (empty: none).
        lut: LUTs building the op adds beyond its engine's datapath (its control and
            address logic; the fit check's estimate, edgemoe.params.fit).
        macs: Multiply-accumulates the golden handler counts, as a product of factors
            over the fields (the SV profile multiplies them one per cycle); None: none, or
            known only at run time (LINEAR's effective tokens, MOE_EXPERTS' routed tokens).
    """

    op: Op
    engine: str
    handler: str
    kernel_args: tuple[str, ...]
    limits: tuple[Limit, ...] = ()
    operands: tuple[Operand, ...] = ()
    derived: tuple[tuple[str, Expr], ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    cycles: Expr = _ONE
    helpers: tuple[str, ...] = ()
    job: tuple[tuple[str, Expr], ...] = ()
    macs: Mul | None = None
    lut: int = 0
    prefetch: tuple[str, Expr, Expr] | tuple[()] = ()

    @property
    def fields(self) -> Mapping[str, str]:
        """Named field -> generic field (isa.OP_FIELDS)."""
        return OP_FIELDS[self.op]

    @property
    def flags(self) -> Flag:
        """Flags the opcode accepts (isa.OP_FLAGS)."""
        return OP_FLAGS[self.op]
