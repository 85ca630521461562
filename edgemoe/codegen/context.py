"""Template context of the HLS generator: every number the templates print, computed here.

The design point's derived constants are the shared export of
:mod:`edgemoe.codegen.constants` (the SV package prints the same list).  The context is plain data (dicts, lists, ints, strings) built from the design point,
edgemoe.isa, edgemoe.layout, edgemoe.numerics and the golden executor's LAYERNORM
constants, so that the C++ matches the golden executor by construction.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import isa, layout, numerics
from ..golden.vector_ops import ln_types
from ..numerics.attn_q8 import Q8_PARAM_WORDS, SHIFT_MAX
from ..ops import ATTN_MACS_PER_LANE
from ..ops_attention import ATTN_Q8_MACS_PER_LANE
from ..params.accel import FORMAT_ROLES
from ..params.errors import ConfigError
from ..params.fit import estimate
from ..params.fixed import FixedType
from ..params.ports import PORT_CLASSES, PORTS, bundle_of, bundles
from .constants import acc_fracs, design_constants
from .opspec import opspec_context

if TYPE_CHECKING:
    from ..params.accel import AccelConfig

__all__ = ["KERNEL_HEADERS", "TOP_NAME", "format_trait", "hls_context", "isa_context"]

#: Name of the HLS top function (and of the exported IP).
TOP_NAME = "edgemoe_top"
#: Static kernel headers copied next to the generated sources, in include order.
KERNEL_HEADERS = ("em_common.hpp", "em_mem.hpp", "em_numerics.hpp", "em_int8.hpp", "em_isa.hpp",
                  "em_linear_job.hpp", "em_tile_map.hpp", "em_int4.hpp", "em_linear_load.hpp",
                  "em_linear.hpp",
                  "em_linear_ops.hpp", "em_moe.hpp",
                  "em_attention_q8.hpp", "em_attention_topk.hpp", "em_attention.hpp",
                  "em_stream.hpp", "em_vector.hpp", "em_layernorm.hpp", "em_pool.hpp", "em_lif.hpp",
                  "em_dispatch.hpp")
#: Vendor, library and version of the exported IP (VLNV ``edgemoe:hls:edgemoe_top:1.0``).
IP_VENDOR, IP_LIBRARY, IP_VERSION = "edgemoe", "hls", "1.0"
#: LOOP_TRIPCOUNT estimates (HLS reports only): largest CONV kernel side, program length.
TC_CONV_KERNEL, TC_INSTRUCTIONS = 16, 256
_TABLE_VALUES_PER_LINE = 8


def _container_bits(width: int) -> int:
    return next(b for b in (8, 16, 32, 64) if width <= b)


def format_trait(struct: str, fmt: FixedType) -> dict:
    """C++ trait of one format: struct name, ap_fixed spelling, width, frac, sign, bytes."""
    return {"struct": struct, "cpp": fmt.cpp(), "width": fmt.width, "frac": fmt.frac_bits,
            "signed": "true" if fmt.signed else "false",
            "bytes": fmt.storage_dtype.itemsize, "fixed": fmt,
            # same rounding, 128 bits and wrap-around: never overflows (overflow counting)
            "rounding": f"ap_fixed<128,{128 - fmt.frac_bits},AP_{fmt.quant},AP_WRAP>"}


def _check_numerics(accel) -> None:
    """Run every numerics kernel once in the design point's formats (raises early)."""
    act = accel.formats.act
    var_t, rstd_t = ln_types(act)
    zero = np.zeros(1, np.int64)
    numerics.gelu(zero, act)
    numerics.exp_neg(zero, act, act)
    numerics.reciprocal(zero + 1, act, act)
    numerics.rsqrt(zero + 1, var_t, rstd_t)
    numerics.softmax_init(1, act)


def _check_shifts(accel) -> int:
    """Largest accumulator fraction count; raises when a run-time shift would exceed 63."""
    fracs = acc_fracs(accel)
    qmax = max(fracs)
    f = accel.formats
    for role in ("bias", "attn_bias"):
        for acc in fracs:
            diff = abs(acc - getattr(f, role).frac_bits)
            if diff > 63:
                raise ConfigError(
                    f"{accel.source}: formats.{role} ({getattr(f, role)}) and the accumulator "
                    f"fraction {acc} differ by {diff} > 63 bits; use closer formats")
    if qmax - min(fracs) > 63:
        raise ConfigError(
            f"{accel.source}: accumulator fractions span {min(fracs)}..{qmax} (> 63 bits): the "
            "activation/pixel and weight formats are too far apart; use closer formats")
    return qmax


def _int_type(values: np.ndarray) -> str:
    lo, hi = int(values.min()), int(values.max())
    if lo >= 0 and hi < 1 << 32:
        return "uint32_t"
    if -(1 << 31) <= lo and hi < 1 << 31:
        return "int32_t"
    return "int64_t"


def _tables() -> list[dict]:
    out = []
    for name, table in numerics.numerics_tables().items():
        vals = [int(v) for v in np.asarray(table).reshape(-1)]
        lines = [", ".join(str(v) for v in vals[i:i + _TABLE_VALUES_PER_LINE])
                 for i in range(0, len(vals), _TABLE_VALUES_PER_LINE)]
        out.append({"name": name, "ctype": _int_type(np.asarray(table)), "size": len(vals),
                    "lines": lines})
    return out


def _constants() -> list[dict]:
    out = []
    for name, value in numerics.numerics_constants().items():
        ctype = "int" if -(1 << 31) <= value < 1 << 31 else "int64_t"
        out.append({"name": name, "ctype": ctype, "value": int(value)})
    return out


def _word_index(generic: str) -> int:
    if generic == "imm":
        return isa.WORDS - 1
    idx = int(generic[1:])
    return 1 + idx if generic[0] == "d" else 1 + isa.N_DIMS + idx


def isa_context(accel: AccelConfig) -> dict:
    """The instruction set as template data (opcodes, flags, errors, field word indices);
    the per-op flag masks are the design point ``accel``'s."""
    ops = sorted(isa.Op, key=int)
    n_opcodes = int(ops[-1]) + 1
    if n_opcodes > 32:
        raise ConfigError("edgemoe.isa opcodes must be below 32 for the C++ OPCODES_KNOWN mask")
    # opcodes may leave gaps (numbers reserved for ops on other branches): a gap is unknown
    by_value = {int(o): o for o in ops}
    fields = [{"name": f"FLD_{op.name}_{name.upper()}", "word": _word_index(generic)}
              for op in ops for name, generic in isa.OP_FIELDS[op].items()]
    generic = [{"name": f"FLD_{g.upper()}", "word": _word_index(g)}
               for g in (*isa.DIM_FIELDS, *isa.ADDR_FIELDS, "imm")]
    return {
        "words": isa.WORDS, "instr_bytes": isa.INSTR_BYTES, "align": isa.ALIGN,
        "n_dims": isa.N_DIMS, "n_addrs": isa.N_ADDRS, "all_tasks": isa.ALL_TASKS,
        "opcodes": [{"name": f"OP_{o.name}", "value": int(o)} for o in ops],
        "n_opcodes": n_opcodes,
        "known_mask": sum(1 << int(o) for o in ops),
        "flags": [{"name": f"FLAG_{f.name}", "value": int(f)} for f in isa.Flag if f],
        "errors": [{"name": f"ERR_{e.name}", "value": int(e)} for e in isa.Err],
        "op_flags": [{"op": by_value[v].name if v in by_value else f"(no opcode {v})",
                      "mask": int(isa.hw_flags(by_value[v], "hls", accel))
                      if v in by_value else 0,
                      "required": int(isa.required_flags(by_value[v], accel))
                      if v in by_value else 0}
                     for v in range(n_opcodes)],
        "fields": fields, "generic_fields": generic,
        "status_bytes": layout.STATUS_BYTES, "profile_entry_bytes": layout.PROFILE_ENTRY_BYTES,
        "profile_fields": [{"name": f"PROF_{n.upper()}", "index": i}
                           for i, n in enumerate(layout.PROFILE_FIELDS)],
        "n_profile_fields": len(layout.PROFILE_FIELDS),
        "pool_modes": [{"name": f"POOL_{m.name}", "value": int(m)} for m in isa.PoolMode],
    }


def _board_context(accel) -> dict:
    b = accel.board
    zynq7 = b.family == "zynq7"
    return {
        "key": b.key, "name": b.name, "part": b.part, "board_part": b.board_part,
        # any revision of the board files: bd.tcl picks the latest installed one
        "board_part_pattern": b.board_part.rsplit(":", 1)[0] + ":*",
        "board_connections": b.board_connections,
        "family": b.family, "ps_port_bits": b.ps_port_bits,
        "ps_ip": "processing_system7" if zynq7 else "zynq_ultra_ps_e",
        "ps_cell": "processing_system7_0" if zynq7 else "zynq_ultra_ps_e_0",
        "ps_master": "M_AXI_GP0" if zynq7 else "M_AXI_HPM0_FPD",
        "ps_irq": "IRQ_F2P" if zynq7 else "pl_ps_irq0",
        "ps_clk": "FCLK_CLK0" if zynq7 else "pl_clk0",
        # the PS masters the preset may enable besides the control port (unused: disabled)
        "ps_unused_masters": [] if zynq7 else ["CONFIG.PSU__USE__M_AXI_GP1",
                                               "CONFIG.PSU__USE__M_AXI_GP2"],
        "zynq7": zynq7,
    }


def _hp_port(zynq7: bool, i: int) -> dict:
    """Vivado names of PS high-performance slave port i (HP0..HP3)."""
    if zynq7:
        return {"pin": f"S_AXI_HP{i}", "use": f"CONFIG.PCW_USE_S_AXI_HP{i}",
                "width": f"CONFIG.PCW_S_AXI_HP{i}_DATA_WIDTH"}
    # Zynq UltraScale+: S_AXI_HP0..3_FPD are the PS's S_AXI_GP2..5
    return {"pin": f"S_AXI_HP{i}_FPD", "use": f"CONFIG.PSU__USE__S_AXI_GP{i + 2}",
            "width": f"CONFIG.PSU__SAXIGP{i + 2}__DATA_WIDTH"}


def _port_context(accel) -> tuple[list[dict], list[dict]]:
    """(m_axi ports in signature order, bundles each on its own PS HP port)."""
    n = accel.m_axi_bundles
    zynq7 = accel.board.family == "zynq7"
    ports = [{"name": p, "bundle": bundle_of(p, n), "traffic": PORT_CLASSES[p]} for p in PORTS]
    names = bundles(n)
    return ports, [{"name": b, "hp": _hp_port(zynq7, i),
                    "ports": [p["name"] for p in ports if p["bundle"] == b]}
                   for i, b in enumerate(names)]


def _synthesis_constants(accel, c: dict[str, int]) -> list[tuple[str, int]]:
    """HLS-only constants: loop bounds for tiles and LOOP_TRIPCOUNT (reports only)."""
    t, e, lanes, macs = accel.max_tokens, accel.max_experts, accel.attn_lanes, ATTN_MACS_PER_LANE
    # longest row a burst moves (elements of at most 8 bytes)
    row_elems = max(c["XROW"], c["MAX_ROW_OUT"], c["QUEUE_SLOT_WORDS"], c["ADD_CHUNK"],
                    c["P_IN"] * c["P_OUT"], e + 16)
    return [
        ("ATTN_MACS", macs), ("MAX_ROW_BEATS", layout.ceil_div(8 * row_elems, c["AXI_BYTES"]) + 1),
        ("XROW_TILES", c["XROW"] // c["P_IN"]), ("COUNT_SLOTS", e + 16),
        ("TC_LIN_STEPS", c["MAX_ROW_OUT"] // c["P_OUT"] + 1),
        ("TC_CONV_KERNEL", TC_CONV_KERNEL), ("TC_MOE_PASSES", 2 * e),
        ("CONV_LINE_DEPTH", max(accel.conv_line_words, 1)),  # the line buffer array (0: none)
        ("TC_ATTN_BLOCKS", layout.ceil_div(t, lanes)), ("TC_ATTN_STEPS", t + lanes - 1),
        ("TC_ATTN_BEATS", layout.ceil_div(accel.max_head_dim, macs)),
        ("ATTN_Q8_MACS", ATTN_Q8_MACS_PER_LANE),
        ("TC_ATTN_Q8_BEATS", layout.ceil_div(accel.max_head_dim, ATTN_Q8_MACS_PER_LANE)),
        ("TC_UPSAMPLE_SIDE", 2 * t),
        ("TC_ADD_CHUNKS", t * accel.max_in_features // c["ADD_CHUNK"] + 1),
        ("TC_INSTRUCTIONS", TC_INSTRUCTIONS),
    ]


def _attn_q8_constants() -> list[tuple[str, int]]:
    """Int8 ATTENTION's parameter block (numerics.attn_q8): its size, the word index of
    every field (ATTN_Q8_Q_MUL ...) and the largest shift (the mask of a shift word)."""
    words = [(f"ATTN_Q8_{n.upper()}", i) for i, n in enumerate(Q8_PARAM_WORDS)]
    return [("ATTN_Q8_PARAM_WORDS", len(Q8_PARAM_WORDS)), *words,
            ("ATTN_Q8_SHIFT_MAX", SHIFT_MAX)]


def hls_context(accel, tb: dict | None = None) -> dict:
    """Everything the HLS templates render for design point ``accel``.

    Args:
        accel: AccelConfig.
        tb: optional testbench data description: ``{"image_bytes": int, "model": str}``
            (sets the co-simulation depth of the m_axi port).

    Returns:
        A dict of plain values (see the templates under ``hls_templates/``).

    Raises:
        ConfigError: the formats cannot be handled by the kernels.
        NumericsError: a format is outside what the numerics kernels accept.
    """
    f = accel.formats
    _check_numerics(accel)
    _check_shifts(accel)
    _, rstd_t = ln_types(f.act)
    formats = [format_trait(role, getattr(f, role)) for role in FORMAT_ROLES]
    xbits = max(8 * f.act.storage_dtype.itemsize,
                8 * f.pixel.storage_dtype.itemsize + (0 if f.pixel.signed else 1))
    wbits = max(8 * getattr(f, r).storage_dtype.itemsize
                for r in ("linear_weight", "conv_weight", "patch_weight"))
    built = 1 | sum(1 << int(op) for op in isa.Op
                    if op != isa.Op.NOP and op.name.lower() in accel.ops)
    tb_bytes = (tb or {}).get("image_bytes", 1 << 24)
    cfg = design_constants(accel)
    cfg += _synthesis_constants(accel, dict(cfg)) + _attn_q8_constants()
    ports, bundle_list = _port_context(accel)
    asserts = [
        ("AXI_BYTES * 8 == AXI_BITS && AXI_LANES * 64 == AXI_BITS", "AXI word geometry"),
        ("WBUF_TILES * P_IN * P_OUT == WEIGHT_BUFFER_WORDS", "weight buffer holds whole tiles"),
        ("WBUF_TILES * P_IN >= MAX_IN_FEATURES", "a buffer holds one output-tile strip"),
        ("XROW % P_IN == 0", "input rows are whole P_IN tiles"),
        ("XROW_TILES * P_IN == XROW", "input-row tiles"),
        ("MAX_ROW_OUT % P_OUT == 0 && MAX_ROW_OUT >= MAX_OUT_FEATURES", "output row buffer"),
        ("MAX_ROW_OUT >= MAX_EXPERTS", "output row buffer holds every router logit"),
        ("MAX_TOP_K <= MAX_EXPERTS", "top-k within the experts"),
    ]
    return {
        "accel": accel, "name": accel.name, "config_id": accel.config_id,
        "config_id_int": accel.config_id_int, "top": TOP_NAME, "clock_mhz": accel.clock_mhz,
        "clock_period_ns": f"{1000.0 / accel.clock_mhz:.3f}",
        "formats": formats, "ln_rstd": format_trait("ln_rstd", rstd_t),
        "act_bits": 8 * f.act.storage_dtype.itemsize,
        "xbuf_bits": _container_bits(xbits), "wbuf_bits": _container_bits(wbits),
        "cfg": [{"name": n, "value": int(v)} for n, v in cfg],
        "built_ops": built, "static_asserts": [{"expr": e, "why": w} for e, w in asserts],
        "constants": _constants(), "tables": _tables(), "isa": isa_context(accel),
        "ops": opspec_context("cpp"),
        "board": _board_context(accel), "axi_bits": accel.axi_bits,
        "m_axi_ports": ports, "m_axi_bundles": bundle_list,
        # longest burst: 256 beats (AXI4) within a 4 KiB address page
        "axi_burst_beats": min(256, 4096 // accel.axi_bytes),
        "axi_bytes": accel.axi_bytes, "axi_lanes": accel.axi_bits // 64,
        "p_out": accel.linear_p_out,
        "wbuf_impl": estimate(accel).weight_buffer_impl,
        "cosim_depth_words": max(1, math.ceil(tb_bytes / accel.axi_bytes)),
        "kernel_headers": list(KERNEL_HEADERS),
        "tb_model": (tb or {}).get("model", ""),
        "numerics_digest": numerics.numerics_digest(),
        "ip": {"vendor": IP_VENDOR, "library": IP_LIBRARY, "version": IP_VERSION,
               "vlnv": f"{IP_VENDOR}:{IP_LIBRARY}:{TOP_NAME}:{IP_VERSION}"},
    }
