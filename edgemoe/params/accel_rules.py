"""What a design point's values may be beyond their type and range: the formats, the
weight formats and ops lists, the linear epilogue's lanes and the linear engine's row slots
(edgemoe.params.accel checks every :class:`~edgemoe.params.accel.AccelConfig` with these)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ops import op_names
from .schema import is_pow2, require

if TYPE_CHECKING:
    from .accel import Formats

#: Tensor roles that carry a fixed-point format.
FORMAT_ROLES = ("act", "linear_weight", "attn_bias", "bias", "norm", "patch_weight",
                "conv_weight", "pixel")
#: Operations a design point can build in, in opcode order (every opcode of the op spec).
KNOWN_OPS = op_names()
#: Ops that need another op built in (``conv`` is lowered onto the linear engine).
OP_REQUIRES = {"moe_experts": ("linear", "moe_gate"), "conv": ("linear",),
               "moe_gate": ("linear",)}
#: Weight formats a design point can build (``weight_formats``): w16 (the default W16),
#: q8 (Flag.WFMT_Q8, W8A8) and q4 (Flag.WFMT_Q4, the int4 strip loader edgemoe_lin_q4).
WEIGHT_FORMATS = ("w16", "q8", "q4")
#: Weight formats every design point builds (W8A8's pairs are part of the MAC array).
REQUIRED_WEIGHT_FORMATS = ("w16", "q8")
#: Output lanes of the linear engine's epilogue (quantization, GELU, score and residual
#: combine) when the design point does not say (``linear_epilogue_lanes``): a quarter of
#: ``linear_p_out`` but at least this many (all of them when ``linear_p_out`` is smaller),
#: so a tile's epilogue takes at most 4 cycles.
LINEAR_EPILOGUE_MIN_LANES = 4
#: Row slots of the linear engine (``linear_row_slots``: input rows its loader holds, one
#: the MAC array works on, the others filling; edgemoe_lin_rows.sv), when the design point
#: does not say, and the counts it may say: more than 4 would not all be in flight (the
#: read DMA keeps 8 commands in flight, an expert's fc2 issues 3 a token).
DEFAULT_ROW_SLOTS = 2
ROW_SLOT_CHOICES = (2, 4)
MAX_FORMAT_BITS = 64
_MAX_OPERAND_BITS = 32  # weights, biases and norm parameters (act x operand <= 64 bits)
_MIN_ACT_BITS = 9  # 8-bit activations would pack in one-byte containers the engines lack


def default_epilogue_lanes(p_out: int) -> int:
    """The epilogue lanes of a ``linear_p_out`` tile when ``linear_epilogue_lanes`` is absent."""
    return min(p_out, max(LINEAR_EPILOGUE_MIN_LANES, p_out // 4))


def check_epilogue_lanes(lanes: object, p_out: int, source: str) -> None:
    """``linear_epilogue_lanes``: a power of two that divides ``linear_p_out`` (the SV
    epilogue walks the tile in ``p_out / lanes`` equal lane groups, indexed by bits)."""
    ok = isinstance(lanes, int) and not isinstance(lanes, bool) and is_pow2(lanes) \
        and lanes <= p_out
    allowed = ", ".join(str(1 << i) for i in range(p_out.bit_length()))
    require(ok, source, "linear_epilogue_lanes", lanes,
            f"is not a power of two that divides linear_p_out={p_out}",
            f"one of {allowed} (absent: {default_epilogue_lanes(p_out)})")


def check_row_slots(slots: object, source: str) -> None:
    """``linear_row_slots``: one of :data:`ROW_SLOT_CHOICES` (a power of two: the slot
    index is the token number's low bits)."""
    ok = isinstance(slots, int) and not isinstance(slots, bool) and slots in ROW_SLOT_CHOICES
    allowed = ", ".join(map(str, ROW_SLOT_CHOICES))
    require(ok, source, "linear_row_slots", slots, "is not a row-slot count the linear engine "
            "builds", f"one of {allowed} (absent: {DEFAULT_ROW_SLOTS})")


def check_formats(formats: Formats, source: str) -> None:
    """Widths, signs and containers every engine can handle."""
    for role in FORMAT_ROLES:
        ft = getattr(formats, role)
        key = f"formats.{role}"
        require(ft.width <= MAX_FORMAT_BITS, source, key, str(ft), "is too wide",
                f"a format of at most {MAX_FORMAT_BITS} bits")
        # negative fraction bits would need right-shifted raw codes nowhere implemented
        require(ft.int_bits <= ft.width, source, key, str(ft),
                "has more integer bits than its width", f"ap_fixed<W,I> with I <= W={ft.width}")
        if role == "pixel":
            continue
        require(ft.signed, source, key, str(ft), "is unsigned",
                "a signed ap_fixed<W,I> (only formats.pixel may be ap_ufixed)")
        # every product with an activation must be exact in the 64-bit accumulator
        require(role == "act" or ft.width <= _MAX_OPERAND_BITS, source, key, str(ft),
                "is too wide for an exact 64-bit accumulator",
                f"a format of at most {_MAX_OPERAND_BITS} bits")
    pixel = formats.pixel
    require(pixel.width == 8 and not pixel.signed, source, "formats.pixel", str(pixel),
            "is not a one-byte unsigned format (the compiler packs uint8 pixels)",
            "ap_ufixed<8,I> with I <= 8, e.g. ap_ufixed<8,0>")
    # router scores travel as int32 words and activations are at most one word
    act = formats.act
    require(act.width <= 32, source, "formats.act", str(act),
            "is wider than 32 bits", "an activation format of at most 32 bits")
    require(act.width >= _MIN_ACT_BITS, source, "formats.act", str(act),
            "is narrower than the engines' 16-bit activation container",
            f"an activation format of {_MIN_ACT_BITS}..32 bits")


def check_weight_formats(wf: tuple[str, ...], source: str) -> None:
    """Known formats, each once, the required ones among them."""
    allowed = "a list of " + ", ".join(WEIGHT_FORMATS) + " with " + " and ".join(
        REQUIRED_WEIGHT_FORMATS)
    for name in wf:
        require(name in WEIGHT_FORMATS, source, "weight_formats", name,
                "is not a weight format", ", ".join(WEIGHT_FORMATS))
    require(len(set(wf)) == len(wf), source, "weight_formats", list(wf),
            "repeats a format", allowed)
    for need in REQUIRED_WEIGHT_FORMATS:
        require(need in wf, source, "weight_formats", list(wf),
                f"leaves out {need!r}, which every design builds", allowed)


def check_ops(ops: tuple[str, ...], source: str) -> None:
    """Known ops, each once, with the ops they need."""
    for op in ops:
        require(op in KNOWN_OPS, source, "ops", op, "is not an op with an opcode",
                ", ".join(KNOWN_OPS))
    require(len(set(ops)) == len(ops), source, "ops", list(ops), "repeats an op",
            "each op at most once")
    for op, needs in OP_REQUIRES.items():
        for need in needs:
            require(op not in ops or need in ops, source, "ops", list(ops),
                    f"has {op!r} without {need!r}", f"a list that includes {need!r} "
                    f"whenever it includes {op!r}")


def check_attn_act(attn_act: bool, attn_q8: bool, attn_topk: bool, source: str) -> None:
    """``attn_act: false`` leaves the act attention out: the int8 one must be built, and the
    top-k mode (act rows only) cannot be."""
    require(attn_act or attn_q8, source, "attn_act", attn_act,
            "is false while attn_q8 is false: the attention engine would run no mode",
            "true, or false together with attn_q8: true")
    require(attn_act or not attn_topk, source, "attn_act", attn_act,
            "is false while attn_topk is true: top-k attention runs on act rows",
            "true, or false together with attn_topk: false")
