"""Static checks of instructions against a design point and a memory image size.

The compiler refuses programs that fail these checks; the executors run the same checks
before each instruction and turn a failure into an error status instead of raising.
"""

from __future__ import annotations

from dataclasses import dataclass

from .isa import ALIGN, OP_FIELDS, OP_FLAGS, Err, Flag, Instr, Op, unpack_ksp
from .layout import bias_block_bytes, conv_out_size, queue_layout, weight_block_bytes


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


def _wbytes(accel, ins: Instr) -> int:
    f = accel.formats
    if ins.has(Flag.WFMT_PATCH):
        return fmt_bytes(f.patch_weight)
    if ins.has(Flag.WFMT_CONV):
        return fmt_bytes(f.conv_weight)
    return fmt_bytes(f.linear_weight)


def _bbytes(accel, ins: Instr) -> int:
    f = accel.formats
    return fmt_bytes(f.attn_bias if ins.has(Flag.BFMT_ATTN) else f.bias)


def operand_bytes(ins: Instr, accel) -> dict[str, int]:
    """Byte extent of every memory operand the instruction uses (name -> bytes)."""
    op = Op(ins.op)
    g = ins.get
    a = fmt_bytes(accel.formats.act)
    pi, po = accel.linear_p_in, accel.linear_p_out
    if op == Op.LINEAR:
        t, n, k, rows = g("tokens"), g("out_features"), g("in_features"), ins.dims[3]
        ext = {"src": (rows if ins.has(Flag.GATHER) else t) * k * a,
               "dst": (rows if ins.has(Flag.SCATTER) else t) * n * a,
               "weights": weight_block_bytes(n, k, po, pi, _wbytes(accel, ins)),
               "bias": bias_block_bytes(n, po, _bbytes(accel, ins))}
        if ins.has(Flag.RESIDUAL):
            ext["residual"] = ext["dst"]
        if ins.has(Flag.GATHER) or ins.has(Flag.SCATTER):
            ext["index"] = 4 * t
        if ins.has(Flag.SCORE_ACC):
            ext["scores"] = 4 * t
        if ins.has(Flag.DYN_COUNT):
            ext["count"] = 4
        return ext
    if op == Op.LAYERNORM:
        t, d = g("tokens"), g("dim")
        nb = fmt_bytes(accel.formats.norm)
        return {"src": t * d * a, "dst": t * d * a, "gamma": d * nb, "beta": d * nb}
    if op == Op.ATTENTION:
        t, w = g("tokens"), g("heads") * g("head_dim")
        return {"qkv": 3 * t * w * a, "dst": t * w * a}
    if op == Op.MOE_GATE:
        t, d, e = g("tokens"), g("dim"), g("experts")
        return {"src": t * d * a,
                "w_gate": weight_block_bytes(e, d, po, pi, fmt_bytes(accel.formats.linear_weight)),
                "queues": queue_layout(e, t)["total"]}
    if op == Op.MOE_EXPERTS:
        t, d, h, e = g("tokens"), g("dim"), g("hidden"), g("experts")
        wb, bb = fmt_bytes(accel.formats.linear_weight), fmt_bytes(accel.formats.bias)
        ext = {"src": t * d * a, "dst": t * d * a,
               "w1": e * weight_block_bytes(h, d, po, pi, wb), "b1": e * bias_block_bytes(h, po, bb),
               "w2": e * weight_block_bytes(d, h, po, pi, wb), "b2": e * bias_block_bytes(d, po, bb),
               "queues": queue_layout(e, t)["total"], "scratch": t * h * a}
        if ins.has(Flag.RESIDUAL):
            ext["residual"] = t * d * a
        return ext
    if op == Op.CONV:
        h, w, ci, co = g("in_h"), g("in_w"), g("in_ch"), g("out_ch")
        k, s, p = unpack_ksp(g("kernel_stride_pad"))
        oh, ow = conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)
        src_elem = fmt_bytes(accel.formats.pixel) if ins.has(Flag.PIXEL_INPUT) else a
        ext = {"src": h * w * ci * src_elem, "dst": max(oh, 0) * max(ow, 0) * co * a,
               "weights": weight_block_bytes(co, ci * k * k, po, pi, _wbytes(accel, ins)),
               "bias": bias_block_bytes(co, po, _bbytes(accel, ins))}
        if ins.has(Flag.RESIDUAL):
            ext["residual"] = ext["dst"]
        return ext
    if op == Op.UPSAMPLE:
        n = g("in_h") * g("in_w") * g("channels") * a
        return {"src": n, "dst": 4 * n}
    if op == Op.ADD:
        n = g("count") * a
        return {"a": n, "dst": n} if ins.has(Flag.COPY) else {"a": n, "b": n, "dst": n}
    return {}


def _shape_limits(ins: Instr, accel) -> list[tuple[str, int, int]]:
    """(what, value, limit) triples that must satisfy 1 <= value <= limit."""
    op = Op(ins.op)
    g = ins.get
    kin, kout, tmax = accel.max_in_features, accel.max_out_features, accel.max_tokens
    if op == Op.LINEAR:
        lim = [("tokens", g("tokens"), 1 << 24), ("in_features", g("in_features"), kin),
               ("out_features", g("out_features"), kout)]
        if ins.flags & (Flag.GATHER | Flag.SCATTER):
            lim.append(("rows (d3)", ins.dims[3], 1 << 24))
        return lim
    if op == Op.LAYERNORM:
        return [("tokens", g("tokens"), 1 << 24), ("dim", g("dim"), kin)]
    if op == Op.ATTENTION:
        return [("tokens", g("tokens"), tmax), ("heads", g("heads"), accel.max_heads),
                ("head_dim", g("head_dim"), accel.max_head_dim)]
    if op == Op.MOE_GATE:
        return [("tokens", g("tokens"), tmax), ("dim", g("dim"), kin),
                ("experts", g("experts"), accel.max_experts),
                ("top_k", g("top_k"), min(accel.max_top_k, g("experts")))]
    if op == Op.MOE_EXPERTS:
        return [("tokens", g("tokens"), tmax), ("dim", g("dim"), min(kin, kout)),
                ("hidden", g("hidden"), min(kin, kout)),
                ("experts", g("experts"), accel.max_experts)]
    if op == Op.CONV:
        k, s, p = unpack_ksp(g("kernel_stride_pad"))
        oh = conv_out_size(g("in_h"), k, s, p)
        ow = conv_out_size(g("in_w"), k, s, p)
        return [("in_h", g("in_h"), 1 << 16), ("in_w", g("in_w"), 1 << 16),
                ("kernel", k, 255), ("stride", s, 255), ("output size", min(oh, ow), 1 << 16),
                ("in_ch*kernel^2", g("in_ch") * k * k, kin), ("out_ch", g("out_ch"), kout),
                ("pad", p + 1, k)]
    if op == Op.UPSAMPLE:
        return [("in_h", g("in_h"), 1 << 16), ("in_w", g("in_w"), 1 << 16),
                ("channels", g("channels"), kin)]
    if op == Op.ADD:
        return [("count", g("count"), 1 << 28)]
    return []


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
    bad_flags = ins.flags & ~int(OP_FLAGS[op])
    if bad_flags:
        return [Problem(Err.BAD_FLAGS, f"{op.name} does not accept flags 0x{bad_flags:x}")]
    problems = []
    for what, value, limit in _shape_limits(ins, accel):
        if not 1 <= value <= limit:
            problems.append(Problem(Err.BAD_SHAPE, f"{op.name} {what}={value} outside "
                                    f"[1, {limit}] (design point {accel.name!r} buffers)"))
    if problems:
        return problems
    names = OP_FIELDS[op]
    for name, nbytes in operand_bytes(ins, accel).items():
        off = ins.get(name)
        if op == Op.MOE_GATE and name == "w_gate":
            off += (task or 0) * ins.get("task_stride")
        if off % ALIGN:
            problems.append(Problem(Err.MISALIGNED, f"{op.name} {name} ({names[name]}) offset "
                                    f"{off} is not {ALIGN}-byte aligned"))
        elif off < 0 or off + nbytes > image_bytes:
            problems.append(Problem(Err.OUT_OF_RANGE, f"{op.name} {name} ({names[name]}) "
                                    f"[{off}, {off + nbytes}) is outside the {image_bytes}-byte "
                                    "memory image"))
    return problems


def validate_program(instrs: list[Instr], accel, image_bytes: int, tasks: int = 1) -> None:
    """Raise :class:`ProgramError` for the first invalid instruction."""
    for i, ins in enumerate(instrs):
        for task in range(tasks):
            problems = check_instr(ins, accel, image_bytes, task)
            if problems:
                raise ProgramError(i, problems[0].code, "; ".join(p.message for p in problems))
