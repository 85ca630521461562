"""The instruction set of the shared compute unit: the only definition of it.

An instruction is 16 little-endian uint32 words (64 bytes, one AXI burst of 512 bits):

    word 0      opcode (bits 0-7) | flags (bits 8-23) | task_mask (bits 24-31)
    words 1-5   d0..d4   shapes (unsigned)
    words 6-14  a0..a8   byte offsets into the memory image (64-byte aligned)
    word 15     imm      signed 32-bit scalar (e.g. a raw fixed-point constant)

Each opcode gives the generic fields names (``OP_FIELDS``); the C++ structs and the
SystemVerilog package are rendered from these tables.  What each opcode *means* (operands,
limits, aliases, cycles, engine) is the op spec beside this module, :mod:`edgemoe.ops`.  An instruction runs only when bit
``task`` of ``task_mask`` is set, which is how one program serves every task.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

WORDS = 16
INSTR_BYTES = WORDS * 4
ALIGN = 64
N_DIMS = 5
N_ADDRS = 9
ALL_TASKS = 0xFF
#: Bit positions of the header word (word 0).
OPCODE_SHIFT, FLAGS_SHIFT, TASK_MASK_SHIFT = 0, 8, 24
DIM_FIELDS = tuple(f"d{i}" for i in range(N_DIMS))
ADDR_FIELDS = tuple(f"a{i}" for i in range(N_ADDRS))


class Op(enum.IntEnum):
    """Opcodes."""

    NOP = 0
    LINEAR = 1
    LAYERNORM = 2
    ATTENTION = 3
    MOE_GATE = 4
    MOE_EXPERTS = 5
    CONV = 6
    UPSAMPLE = 7
    ADD = 8
    POOL = 9
    LIF = 10


class PoolMode(enum.IntEnum):
    """POOL's ``mode`` field (modes live in the op's own field: the flag bits are scarce)."""

    MAX = 0  # kernel x kernel / stride max pooling, ceil mode, no padding
    GLOBAL_AVG = 1  # mean over H*W: exact sum times ``recip`` (imm), one rounding
    SCALE = 2  # dst[p, c] = src[p, c] * min(gate[c], 1): eSE's channel scale
    AVG = 3  # k x k / stride s mean, ceil mode: clipped windows average their own count


class Flag(enum.IntFlag):
    """Instruction flags (16 bits)."""

    NONE = 0
    GELU = 1 << 0  # GELU epilogue on the quantized output
    RELU = 1 << 1  # ReLU of the final value (after the RESIDUAL / SCORE_ACC combine)
    RESIDUAL = 1 << 2  # add the tensor at `residual` (or init MoE output from it)
    GATHER = 1 << 3  # source rows through the index list
    SCATTER = 1 << 4  # destination rows through the index list
    SCORE_ACC = 1 << 5  # dst[row] += score[i] * y (MoE fc2); scores are int32 raw act values
    DYN_COUNT = 1 << 6  # token count read from the u32 at `count`
    PIXEL_INPUT = 1 << 7  # CONV source is planar ap_ufixed<8,0> pixels
    COPY = 1 << 8  # ADD: dst = a (b ignored)
    WFMT_CONV = 1 << 9  # weights in the conv_weight format
    WFMT_PATCH = 1 << 10  # weights in the patch_weight format
    BFMT_ATTN = 1 << 11  # bias in the attn_bias format
    WFMT_Q8 = 1 << 12  # int8 weights, int8 activations (W8A8): see edgemoe.numerics.int8;
    # ATTENTION: int8 q, k, v codes (edgemoe.numerics.attn_q8)
    ATTN_TOPK = 1 << 13  # ATTENTION on each query's top-k keys by codebook: numerics.attn_topk
    WSKIP = 1 << 14  # skip the weight tiles a zero-tile map marks all-zero (layout.tile_map_bytes):
    # LINEAR's `tile_map`; MOE_EXPERTS' per-expert maps after the biases (moe_tile_map_offset)
    WFMT_Q4 = 1 << 15  # LINEAR with int8 rows and int4 rows, int8 inputs: see edgemoe.numerics.int4


#: Named fields per opcode -> generic field.  Anything not named must be zero.
OP_FIELDS: Mapping[Op, Mapping[str, str]] = {
    Op.NOP: {},
    Op.LINEAR: {
        "tokens": "d0", "out_features": "d1", "in_features": "d2", "rows": "d3",
        "src": "a0", "dst": "a1", "weights": "a2", "bias": "a3", "residual": "a4",
        "index": "a5", "scores": "a6", "count": "a7",
        # WFMT_Q8 only: per-channel dequantization scales (and, with codes out, the code
        # multipliers after them), the input multiplier, and d4 packing their shift with
        # the int8 code rows in and out (pack_linear_q8)
        "q8_shift_codes": "d4", "scales": "a8", "x_mul": "imm",
        # WSKIP only (never with WFMT_Q8, so the two share d4/a8): the zero-tile bitmap and
        # the tile beats the engine runs per token (the cycle model's count of that bitmap)
        "tiles_run": "d4", "tile_map": "a8",
        # WFMT_Q4 only (never with GATHER/SCATTER, so it shares d3/a5): the int8 row count
        # and group count (numerics.int4.pack_split), each part row's output channel; the
        # Q8 fields keep their meaning
        "q4_split": "d3", "channel_index": "a5",
    },
    Op.LAYERNORM: {
        "tokens": "d0", "dim": "d1",
        "src": "a0", "dst": "a1", "gamma": "a2", "beta": "a3", "eps": "imm",
    },
    Op.ATTENTION: {
        "tokens": "d0", "heads": "d1", "head_dim": "d2",
        "qkv": "a0", "dst": "a1", "scale": "imm",
        # ATTN_TOPK only: codebook size C, keys kept per query, per-head codebook tables,
        # the keys' code ids and each query's kept key indices (both written)
        "codebook_size": "d3", "top_k": "d4", "codebook": "a2", "codes": "a3", "picks": "a4",
        # WFMT_Q8 only: the int8 mode's multipliers and shifts (numerics.attn_q8.Q8_PARAM_WORDS),
        # and (d3, free without ATTN_TOPK) whether qkv / dst rows are int8 codes
        # (numerics.attn_q8.Q8_CODES_IN | Q8_CODES_OUT)
        "q8_params": "a5", "q8_codes": "d3",
    },
    Op.MOE_GATE: {
        "tokens": "d0", "dim": "d1", "experts": "d2", "top_k": "d3",
        "src": "a0", "w_gate": "a1", "queues": "a2", "task_stride": "imm",
    },
    Op.MOE_EXPERTS: {
        "tokens": "d0", "dim": "d1", "hidden": "d2", "experts": "d3",
        "src": "a0", "dst": "a1", "w1": "a2", "b1": "a3", "w2": "a4", "b2": "a5",
        "queues": "a6", "scratch": "a7", "residual": "a8",
        # WFMT_Q8 only: fc1's input multiplier; d4 packs the dequantization shift (fc1 and
        # fc2) and fc2's input multiplier (pack_moe_q8); multipliers follow the biases
        "x_mul": "imm", "q8_shift_mul": "d4",
        # WFMT_Q4 only: both layers' int8 row counts and the group code (numerics.int4
        # pack_moe_split); q8_shift_mul then sits at the end of b1 (moe_q8_word_offset)
        "q4_split": "d4",
    },
    Op.CONV: {
        "in_h": "d0", "in_w": "d1", "in_ch": "d2", "out_ch": "d3", "kernel_stride_pad": "d4",
        "src": "a0", "dst": "a1", "weights": "a2", "bias": "a3", "residual": "a4",
        # WFMT_Q8 only (as LINEAR's): channel multipliers and the input multiplier; the
        # dequantization shift is d4's top byte (pack_ksp)
        "scales": "a5", "x_mul": "imm",
    },
    Op.UPSAMPLE: {"in_h": "d0", "in_w": "d1", "channels": "d2", "src": "a0", "dst": "a1"},
    Op.ADD: {"count": "d0", "a": "a0", "b": "a1", "dst": "a2"},
    Op.POOL: {
        "in_h": "d0", "in_w": "d1", "channels": "d2", "kernel_stride_pad": "d3", "mode": "d4",
        "src": "a0", "dst": "a1", "gate": "a2", "recip": "imm",
    },
    Op.LIF: {
        "neurons": "d0", "inputs": "d1", "timesteps": "d2", "threshold": "d3",
        "mode_leak": "d4", "src": "a0", "dst": "a1", "weights": "a2", "bias": "a3",
    },
}

#: Names that share their generic field with another name of the opcode, and the flag that
#: selects them (without it the field keeps its first name): Instr.named lists it once.
SHARED_FIELDS: Mapping[Op, Mapping[str, Flag]] = {
    Op.LINEAR: {"tiles_run": Flag.WSKIP, "tile_map": Flag.WSKIP, "q4_split": Flag.WFMT_Q4,
                "channel_index": Flag.WFMT_Q4},
    Op.MOE_EXPERTS: {"q4_split": Flag.WFMT_Q4},
}

#: Flags each opcode accepts.
OP_FLAGS: Mapping[Op, Flag] = {
    Op.NOP: Flag.NONE,
    Op.LINEAR: Flag.GELU | Flag.RELU | Flag.RESIDUAL | Flag.GATHER | Flag.SCATTER
    | Flag.SCORE_ACC | Flag.DYN_COUNT | Flag.WFMT_CONV | Flag.BFMT_ATTN | Flag.WFMT_Q8 | Flag.WSKIP
    | Flag.WFMT_Q4,
    Op.LAYERNORM: Flag.NONE,
    Op.ATTENTION: Flag.ATTN_TOPK | Flag.WFMT_Q8,
    Op.MOE_GATE: Flag.NONE,
    Op.MOE_EXPERTS: Flag.RESIDUAL | Flag.WFMT_Q8 | Flag.WSKIP | Flag.WFMT_Q4,
    Op.CONV: Flag.RELU | Flag.RESIDUAL | Flag.PIXEL_INPUT | Flag.WFMT_CONV | Flag.WFMT_PATCH
    | Flag.WFMT_Q8,
    Op.UPSAMPLE: Flag.NONE,
    Op.ADD: Flag.COPY,
    Op.POOL: Flag.NONE,
    Op.LIF: Flag.NONE,
}

#: Flags a generated executor does not build yet, per language ("hls", "sv"): its checks
#: refuse them (Err.BAD_FLAGS) rather than run the instruction in another mode.
FLAGS_NOT_BUILT: Mapping[str, Mapping[Op, Flag]] = {
    "hls": {},
    "sv": {},
}


def design_flags(op: Op, accel) -> Flag:
    """Flags opcode ``op`` accepts on design point ``accel`` (an AccelConfig) in every
    executor: top-k ATTENTION only where ``attn_topk`` builds it (its hardware is large),
    int8 ATTENTION only where ``attn_q8`` does, WFMT_Q4 only where ``weight_formats`` lists
    q4 (the int4 strip loader)."""
    built = {Flag.ATTN_TOPK: accel.attn_topk, Flag.WFMT_Q4: "q4" in accel.weight_formats}
    if op == Op.ATTENTION:  # (W8A8 LINEAR/CONV/MOE_EXPERTS are part of every MAC array)
        built[Flag.WFMT_Q8] = accel.attn_q8
    flags = OP_FLAGS[op]
    for flag in (f for f, on in built.items() if not on):
        flags &= ~flag
    return flags


def required_flags(op: Op, accel) -> Flag:
    """Flags opcode ``op`` must carry on design point ``accel`` in every executor (the checks
    refuse an instruction without them, Err.BAD_FLAGS): WFMT_Q8 on ATTENTION where
    ``attn_act`` is false, whose engine builds the int8 mode only."""
    if op == Op.ATTENTION and not accel.attn_act:
        return Flag.WFMT_Q8
    return Flag.NONE


def hw_flags(op: Op, lang: str, accel) -> Flag:
    """Flags opcode ``op`` accepts in the generated C++ (``lang`` "hls") or SV ("sv") of
    design point ``accel``."""
    return design_flags(op, accel) & ~FLAGS_NOT_BUILT[lang].get(op, Flag.NONE)


#: LIF ``mode`` bits (the op's own field: the global flags are nearly used up).
LIF_CURRENT_INPUT = 1 << 0  # src holds `neurons` act currents applied at every step (no weights)
LIF_READOUT = 1 << 1  # no spikes: dst is the act membrane after T steps (output layer)
LIF_MODES = LIF_CURRENT_INPUT | LIF_READOUT
#: LIF ``leak`` is raw with this many fraction bits: 0 .. 1 << LIF_LEAK_FRAC is 0 .. 1.
LIF_LEAK_FRAC = 16
#: LIF's d4 packs the mode (bits 0-7) and the leak (bits LIF_LEAK_SHIFT..): the shape check
#: of every executor sees both (imm is not a shape field).
LIF_LEAK_SHIFT = 8


def not_built(instrs, lang: str) -> str:
    """The first instruction whose flags ``lang``'s executor does not build yet
    (FLAGS_NOT_BUILT), as "OP with FLAGS (instruction i)", or "" when it builds them all."""
    for i, ins in enumerate(instrs):
        try:
            op = Op(ins.op)
        except ValueError:
            continue  # an unknown opcode is the device's error to report
        missing = Flag(ins.flags) & FLAGS_NOT_BUILT[lang].get(op, Flag.NONE)
        if missing:
            return f"{op.name} with {missing.name} (instruction {i})"
    return ""


def pack_mode_leak(mode: int, leak: int) -> int:
    """LIF's d4: mode | leak << LIF_LEAK_SHIFT."""
    if not 0 <= mode <= LIF_MODES or not 0 <= leak <= 1 << LIF_LEAK_FRAC:
        raise IsaError(f"LIF mode={mode} must be in [0, {LIF_MODES}] and leak={leak} in "
                       f"[0, {1 << LIF_LEAK_FRAC}] (raw, {LIF_LEAK_FRAC} fraction bits)")
    return mode | leak << LIF_LEAK_SHIFT


def unpack_mode_leak(d4: int) -> tuple[int, int]:
    """Inverse of :func:`pack_mode_leak`: (mode, leak)."""
    return d4 & 0xFF, d4 >> LIF_LEAK_SHIFT


class IsaError(ValueError):
    """An instruction word that cannot be encoded or decoded."""


#: MOE_EXPERTS' d4 (WFMT_Q8): dq_shift in the low bits, fc2's input multiplier above them.
MOE_DQ_BITS = 5
#: Width of MOE_EXPERTS' fc2 input multiplier (the rest of d4): at most 2**27 - 1.
MOE_HIDDEN_X_MUL_BITS = 32 - MOE_DQ_BITS


def pack_moe_q8(dq_shift: int, hidden_x_mul: int) -> int:
    """MOE_EXPERTS' d4: dq_shift | hidden_x_mul << MOE_DQ_BITS."""
    if not 0 <= dq_shift < 1 << MOE_DQ_BITS or not 0 <= hidden_x_mul < 1 << MOE_HIDDEN_X_MUL_BITS:
        raise IsaError(f"MOE_EXPERTS dq_shift={dq_shift} must be in [0, {(1 << MOE_DQ_BITS) - 1}] "
                       f"and hidden_x_mul={hidden_x_mul} in [0, {(1 << MOE_HIDDEN_X_MUL_BITS) - 1}]")
    return dq_shift | hidden_x_mul << MOE_DQ_BITS


def unpack_moe_q8(d4: int) -> tuple[int, int]:
    """Inverse of :func:`pack_moe_q8`: (dq_shift, hidden_x_mul)."""
    return d4 & ((1 << MOE_DQ_BITS) - 1), d4 >> MOE_DQ_BITS


#: LINEAR's d4 (WFMT_Q8, ``q8_shift_codes``): dq_shift in the low MOE_DQ_BITS bits (as
#: MOE_EXPERTS'), then two bits: ``codes_in``, the src rows are int8 codes (a dense MLP's
#: fc2 reads what its fc1 wrote), and ``codes_out``, the dst rows are written as int8 codes,
#: column c made with ``code_muls[c]``: an int32 vector beside the channel multipliers in
#: ``scales`` (layout.code_muls_offset; numerics.int8.hidden_codes).  Bits above them must
#: be zero (the op spec refuses them).  A plain dq_shift is the word of a LINEAR without codes.
LINEAR_CODES_IN_BIT = MOE_DQ_BITS
LINEAR_CODES_OUT_BIT = LINEAR_CODES_IN_BIT + 1
#: d4 bits a LINEAR uses; the rest are refused.
LINEAR_Q8_WORD_BITS = LINEAR_CODES_OUT_BIT + 1


def pack_linear_q8(dq_shift: int, codes_out: bool = False, codes_in: bool = False) -> int:
    """LINEAR's d4: dq_shift | codes_in << LINEAR_CODES_IN_BIT | codes_out << ..._OUT_BIT."""
    if not 0 <= dq_shift < 1 << MOE_DQ_BITS or codes_out not in (0, 1) or codes_in not in (0, 1):
        raise IsaError(f"LINEAR dq_shift={dq_shift} must be in [0, {(1 << MOE_DQ_BITS) - 1}], "
                       f"codes_out={codes_out!r} and codes_in={codes_in!r} booleans")
    return dq_shift | int(codes_in) << LINEAR_CODES_IN_BIT | \
        int(codes_out) << LINEAR_CODES_OUT_BIT


def unpack_linear_q8(d4: int) -> tuple[int, bool, bool]:
    """Inverse of :func:`pack_linear_q8`: (dq_shift, codes_out, codes_in)."""
    return (d4 & ((1 << MOE_DQ_BITS) - 1), bool(d4 >> LINEAR_CODES_OUT_BIT & 1),
            bool(d4 >> LINEAR_CODES_IN_BIT & 1))


def pack_ksp(kernel: int, stride: int, pad: int, dq_shift: int = 0) -> int:
    """CONV's d4: kernel | stride << 8 | pad << 16 | dq_shift << 24 (WFMT_Q8 only)."""
    for name, v in (("kernel", kernel), ("stride", stride), ("pad", pad), ("dq_shift", dq_shift)):
        if not 0 <= v < 256:
            raise IsaError(f"CONV {name}={v} must be in [0, 255]")
    return kernel | stride << 8 | pad << 16 | dq_shift << 24


def unpack_ksp(d4: int) -> tuple[int, int, int]:
    """Inverse of :func:`pack_ksp`: (kernel, stride, pad); :func:`ksp_dq_shift` the rest."""
    return d4 & 0xFF, (d4 >> 8) & 0xFF, (d4 >> 16) & 0xFF


def ksp_dq_shift(d4: int) -> int:
    """The W8A8 dequantization shift packed in CONV's d4 (:func:`pack_ksp`)."""
    return (d4 >> 24) & 0xFF


@dataclass(frozen=True)
class Instr:
    """One decoded instruction.  Build with :meth:`make`, read named fields with ``get``."""

    op: int
    flags: int = 0
    task_mask: int = ALL_TASKS
    dims: tuple[int, ...] = (0,) * N_DIMS
    addrs: tuple[int, ...] = (0,) * N_ADDRS
    imm: int = 0
    comment: str = field(default="", compare=False)

    @classmethod
    def make(cls, op: Op, flags: Flag | int = 0, task_mask: int = ALL_TASKS,
             comment: str = "", **named: int) -> Instr:
        """Build an instruction from the opcode's named fields (``OP_FIELDS``)."""
        names = OP_FIELDS[Op(op)]
        dims, addrs, imm = [0] * N_DIMS, [0] * N_ADDRS, 0
        for key, value in named.items():
            if key not in names:
                raise IsaError(f"{Op(op).name} has no field {key!r}; fields: {sorted(names)}")
            generic = names[key]
            if generic == "imm":
                imm = int(value)
            elif generic[0] == "d":
                dims[int(generic[1:])] = int(value)
            else:
                addrs[int(generic[1:])] = int(value)
        return cls(int(op), int(flags), task_mask, tuple(dims), tuple(addrs), imm, comment)

    def get(self, name: str) -> int:
        """Value of a named field of this instruction's opcode."""
        generic = OP_FIELDS[Op(self.op)][name]
        if generic == "imm":
            return self.imm
        idx = int(generic[1:])
        return self.dims[idx] if generic[0] == "d" else self.addrs[idx]

    def has(self, flag: Flag) -> bool:
        """True when ``flag`` is set."""
        return bool(self.flags & flag)

    def named(self) -> dict[str, int]:
        """All named fields of the opcode with their values."""
        try:
            op = Op(self.op)
        except ValueError:
            return {}
        names, shared = OP_FIELDS[op], SHARED_FIELDS.get(op, {})
        chosen: dict[str, str] = {}  # generic field -> the name it is listed under
        for name, generic in names.items():
            if name not in shared:
                chosen.setdefault(generic, name)
            elif self.flags & shared[name]:
                chosen[generic] = name
        return {k: self.get(k) for k, g in names.items() if chosen[g] == k}

    def runs_for(self, task: int) -> bool:
        """Whether this instruction executes when the device's task register is ``task``."""
        return bool((self.task_mask >> task) & 1)

    def __str__(self) -> str:
        try:
            name = Op(self.op).name
            flags = "|".join(f.name for f in Flag if f and self.flags & f) or "-"
        except ValueError:
            return f"<opcode {self.op}>"
        fields = " ".join(f"{k}={v}" for k, v in self.named().items() if v)
        return f"{name:<11} {flags:<20} {fields}"


def encode(instrs: list[Instr]) -> np.ndarray:
    """Encode instructions into a uint32 array of shape (n, 16)."""
    out = np.zeros((len(instrs), WORDS), dtype=np.uint32)
    for i, ins in enumerate(instrs):
        if not 0 <= ins.op < 256 or not 0 <= ins.flags < 1 << 16 or not 0 <= ins.task_mask < 256:
            raise IsaError(f"instruction {i}: opcode/flags/task_mask out of range: {ins}")
        if not -(1 << 31) <= ins.imm < 1 << 31:
            raise IsaError(f"instruction {i}: imm {ins.imm} does not fit in int32")
        for v in (*ins.dims, *ins.addrs):
            if not 0 <= v < 1 << 32:
                raise IsaError(f"instruction {i}: field value {v} does not fit in uint32")
        out[i, 0] = ins.op << OPCODE_SHIFT | ins.flags << FLAGS_SHIFT | \
            ins.task_mask << TASK_MASK_SHIFT
        out[i, 1:1 + N_DIMS] = ins.dims
        out[i, 1 + N_DIMS:1 + N_DIMS + N_ADDRS] = ins.addrs
        out[i, WORDS - 1] = ins.imm & 0xFFFFFFFF
    return out


def encode_bytes(instrs: list[Instr]) -> bytes:
    """Little-endian bytes of :func:`encode`."""
    return encode(instrs).astype("<u4").tobytes()


def decode_words(words: np.ndarray) -> Instr:
    """Decode one instruction from 16 uint32 words."""
    w = [int(x) for x in np.asarray(words, dtype=np.uint32).reshape(WORDS)]
    imm = w[WORDS - 1] - (1 << 32) if w[WORDS - 1] >= 1 << 31 else w[WORDS - 1]
    return Instr((w[0] >> OPCODE_SHIFT) & 0xFF, (w[0] >> FLAGS_SHIFT) & 0xFFFF,
                 w[0] >> TASK_MASK_SHIFT,
                 tuple(w[1:1 + N_DIMS]), tuple(w[1 + N_DIMS:1 + N_DIMS + N_ADDRS]), imm)


def decode(data: bytes | np.ndarray) -> list[Instr]:
    """Decode a program from bytes or a uint32 array of shape (n, 16)."""
    arr = np.frombuffer(bytes(data), dtype="<u4") if isinstance(data, (bytes, bytearray)) \
        else np.asarray(data, dtype=np.uint32)
    if arr.size % WORDS:
        raise IsaError(f"program of {arr.size} words is not a multiple of {WORDS} words")
    return [decode_words(row) for row in arr.reshape(-1, WORDS)]


class Err(enum.IntEnum):
    """Error codes written to the status block; 0 means success."""

    OK = 0
    BAD_OPCODE = 1
    BAD_FLAGS = 2
    MISALIGNED = 3
    OUT_OF_RANGE = 4
    BAD_SHAPE = 5
    OP_NOT_BUILT = 6
    BAD_QUEUE = 7
    BAD_PROGRAM = 8
    OVERLAP = 9  # a written operand partly overlaps another (exact in-place aliases excepted)
