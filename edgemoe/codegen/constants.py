"""The derived constants of a design point: one export rendered by both generators.

The HLS params header (``struct cfg``) and the SystemVerilog package print exactly this
list, so every concept has one name and one value in C++ and SV (``linear_p_in`` <->
``P_IN``, ``max_in_features`` <-> ``MAX_IN_FEATURES``).  The op spec's ``Param`` nodes
(edgemoe.ops) name constants of this list.  Values only: each generator keeps its own
checks of what it can build.
"""

from __future__ import annotations

import math

from .. import isa, layout, numerics
from ..golden.vector_ops import LN_RSTD_FRAC, LN_SQ_FRAC, ln_types
from ..numerics import int4, int8
from ..numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT, Q8_PARAM_BYTES
from ..numerics.attn_topk import ATTN_MAX_CODEBOOK
from ..numerics.mean import POOL_MAX_KERNEL, POOL_RECIP_BITS

__all__ = ["INDEX_CHUNK", "INDEX_RING", "LN_ROW_SLOTS", "WEIGHT_ROLES", "acc_fracs", "design_constants", "storage_lg"]

#: Rows LAYERNORM's row buffer holds (a ring: edgemoe_ln.sv, em_layernorm.hpp): enough
#: row reads in flight to cover the board's read latency (a 192-element row: 48 beats
#: against ~65 cycles of latency); on zcu102 four fit in the depth two already took.
LN_ROW_SLOTS = 4

#: GATHER index read-ahead of the linear engine's row loader (edgemoe_lin_loader.sv,
#: edgemoe_lin_index.sv): u32 entries of the ring (a power of two), and indices per read
#: command: half the ring, so one chunk is requested while the other is being used.
INDEX_RING = 16
INDEX_CHUNK = INDEX_RING // 2

#: Format roles a weight operand may use (the widest sets the weight buffer word).
WEIGHT_ROLES = ("linear_weight", "conv_weight", "patch_weight")


def storage_lg(fmt) -> int:
    """log2 of the storage bytes of one element of ``fmt``."""
    return int(fmt.storage_dtype.itemsize).bit_length() - 1


def acc_fracs(accel) -> list[int]:
    """Fraction bits of every activation/pixel x weight accumulator."""
    f = accel.formats
    xs = (f.act.frac_bits, f.pixel.frac_bits)
    return [x + getattr(f, w).frac_bits for x in xs for w in WEIGHT_ROLES]


def _lg(n: int) -> int:
    return int(n).bit_length() - 1


def design_constants(accel) -> list[tuple[str, int]]:
    """(NAME, value) of every derived constant of ``accel``, in print order."""
    f = accel.formats
    act = f.act
    pi, po, vec = accel.linear_p_in, accel.linear_p_out, accel.vector_lanes
    axi_bytes = accel.axi_bits // 8
    weight_lg = max(storage_lg(getattr(f, r)) for r in WEIGHT_ROLES)
    bias_lg = max(storage_lg(f.bias), storage_lg(f.attn_bias))
    act_lg, pix_lg = storage_lg(act), storage_lg(f.pixel)
    # widest word any RTL engine asks the DMA for (bytes)
    word_max = max(po * pi << weight_lg, po << bias_lg, pi << max(act_lg, pix_lg), po << act_lg,
                   vec << act_lg, vec << storage_lg(f.norm), axi_bytes, 8)
    attn_chunk = axi_bytes >> act_lg
    sq = min(act.frac_bits, LN_SQ_FRAC)
    var_t, _ = ln_types(act)
    consts = numerics.numerics_constants()
    return [
        ("AXI_BITS", accel.axi_bits), ("AXI_BYTES", axi_bytes), ("AXI_LG", _lg(axi_bytes)),
        ("AXI_LANES", accel.axi_bits // 64),
        ("P_IN", pi), ("P_OUT", po), ("P_IN_LG", _lg(pi)), ("P_OUT_LG", _lg(po)),
        ("EPI_LANES", accel.linear_epilogue_lanes), ("EPI_STEPS", accel.linear_epilogue_steps),
        ("LINEAR_ROW_SLOTS", accel.linear_row_slots),  # edgemoe_lin_rows, lin_compute's row stream
        ("ATTN_LANES", accel.attn_lanes), ("VEC_LANES", vec), ("VEC_LANES_LG", _lg(vec)),
        ("MAX_TOKENS", accel.max_tokens), ("MAX_IN_FEATURES", accel.max_in_features),
        ("MAX_OUT_FEATURES", accel.max_out_features), ("MAX_HEADS", accel.max_heads),
        ("MAX_HEAD_DIM", accel.max_head_dim), ("MAX_EXPERTS", accel.max_experts),
        ("MAX_TOP_K", accel.max_top_k), ("WEIGHT_BUFFER_WORDS", accel.weight_buffer_words),
        ("CONV_LINE_WORDS", accel.conv_line_words),
        ("WBUF_TILES", accel.weight_buffer_words // (pi * po)),
        ("XROW", accel.max_in_features),
        ("MAX_ROW_OUT", layout.ceil_div(max(accel.max_out_features, accel.max_experts), po) * po),
        ("QUEUE_SLOT_WORDS", layout.align(4 * accel.max_tokens) // 4),
        ("ADD_CHUNK", 64 * vec),
        ("QMAX", max(acc_fracs(accel))),
        ("WORD_MAX", word_max), ("WORD_MAX_LG", _lg(word_max)),
        ("WEIGHT_BITS", 8 << weight_lg), ("BIAS_BITS", 8 << bias_lg),
        ("ATTN_E", attn_chunk), ("ATTN_C_MAX", math.ceil(accel.max_head_dim / attn_chunk)),
        ("LN_SHIFT", act.frac_bits - sq), ("LN_VAR_FRAC", var_t.frac_bits),
        ("LN_RSTD_FRAC", LN_RSTD_FRAC), ("LN_ROW_SLOTS", LN_ROW_SLOTS),
        ("INDEX_RING", INDEX_RING), ("INDEX_CHUNK", INDEX_CHUNK),
        ("EXP_CAP_SHIFT", max(min(act.frac_bits + 5, 62), 0)),
        ("GELU_SH", act.frac_bits - consts["GELU_STEP_BITS"]),
        ("GELU_G", max(act.frac_bits, consts["GELU_TABLE_FRAC"])),
        ("POOL_RECIP_BITS", POOL_RECIP_BITS), ("POOL_MAX_KERNEL", POOL_MAX_KERNEL),
        ("ATTN_MAX_CODEBOOK", ATTN_MAX_CODEBOOK),
        ("ATTN_TOPK_BUILT", int(accel.attn_topk)),  # 0: no top-k unit in the engine
        ("ATTN_Q8_BUILT", int(accel.attn_q8)), ("ATTN_Q8_PARAM_BYTES", Q8_PARAM_BYTES),  # int8 mode
        ("ATTN_Q8_CODES_IN", Q8_CODES_IN), ("ATTN_Q8_CODES_OUT", Q8_CODES_OUT),  # its q8_codes
        ("ATTN_ACT_BUILT", int(accel.attn_act)),  # 0: the lanes' act products left out
        ("WFMT_Q4_BUILT", int("q4" in accel.weight_formats)),  # 0: no int4 strip loader
        ("MAX_TIMESTEPS", accel.max_timesteps), ("LIF_LEAK_FRAC", isa.LIF_LEAK_FRAC),
        ("LIF_LEAK_SHIFT", isa.LIF_LEAK_SHIFT), ("MOE_DQ_BITS", isa.MOE_DQ_BITS),
        ("LINEAR_CODES_IN_BIT", isa.LINEAR_CODES_IN_BIT),  # W8A8 LINEAR d4: int8 code rows
        ("LINEAR_CODES_OUT_BIT", isa.LINEAR_CODES_OUT_BIT),
        ("LIF_CURRENT_INPUT", isa.LIF_CURRENT_INPUT), ("LIF_READOUT", isa.LIF_READOUT),
        ("MOE_HIGH_BITS", int4.MOE_HIGH_BITS), ("MOE_CODE_SHIFT", int4.MOE_CODE_SHIFT),
        ("MOE_MIN_GROUP", int4.MOE_MIN_GROUP), ("DQ_SHIFT_MAX", int8.DQ_SHIFT_MAX),
        ("MOE_ROW_CODE", len(int4.MOE_GROUP_SIZES) - 1),
        ("E_MAX", int4.E_MAX),  # WFMT_Q4, one group per row: the scale code not stored
    ]
