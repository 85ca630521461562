"""Render the SystemVerilog compute unit of a design point into ``build/<design>/rtl/``.

``rtl_templates/edgemoe_pkg.sv.j2`` becomes the parameter package (design point, formats,
ISA, register map, numerics constants and ROMs); the static ``*.sv`` modules beside it are
copied unchanged.  Every number the package prints is computed here (templates do no
arithmetic), from :mod:`edgemoe.isa`, :mod:`edgemoe.numerics`, the golden LAYERNORM
constants and :mod:`edgemoe.rtl.regmap`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import shutil
from pathlib import Path

from .. import isa, numerics
from ..codegen.env import banner, make_environment
from ..golden.vector_ops import LN_RSTD_FRAC, LN_SQ_FRAC, ln_types
from ..params.accel import FORMAT_ROLES
from ..params.fixed import OVERFLOW_MODES, QUANT_MODES
from ..resources import default_build_root, resource_dir
from .regmap import REGISTERS

__all__ = [
    "RTL_TEMPLATE_DIR",
    "SOURCES",
    "TOP",
    "RtlError",
    "design_key",
    "render_rtl",
    "rtl_context",
    "sources_digest",
]

log = logging.getLogger(__name__)

#: Folder of the SystemVerilog sources and the package template (repository or wheel copy).
RTL_TEMPLATE_DIR = resource_dir("rtl_templates")
#: Name of the top module (same as the HLS top function).
TOP = "edgemoe_top"
#: Template -> generated file, then the static modules, in compile order.
PACKAGE = ("edgemoe_pkg.sv.j2", "edgemoe_pkg.sv")
SOURCES = ("edgemoe_fifo.sv", "edgemoe_rd_dma.sv", "edgemoe_wr_dma.sv", "edgemoe_axil_regs.sv",
           "edgemoe_lin.sv", "edgemoe_lin_loader.sv", "edgemoe_router.sv", "edgemoe_attn.sv",
           "edgemoe_ln.sv", "edgemoe_eltwise.sv", "edgemoe_upsample.sv", "edgemoe_check.sv",
           "edgemoe_ctrl.sv", "edgemoe_top.sv")


class RtlError(ValueError):
    """A design point the RTL generator cannot build; names the setting and what works."""


def _lg(nbytes: int) -> int:
    return int(nbytes).bit_length() - 1


def _fmt(role: str, ft) -> dict:
    nbytes = ft.storage_dtype.itemsize
    return {"name": role.upper(), "width": ft.width, "frac": ft.frac_bits,
            "signed": int(ft.signed), "lg": _lg(nbytes), "bits": 8 * nbytes,
            "raw_max": ft.raw_max, "raw_min": ft.raw_min}


def _check(accel) -> None:
    f = accel.formats
    act = f.act
    if not act.signed or act.width > 32:
        raise RtlError(f"{accel.name}: formats.act={act} is not supported by the RTL "
                       "generator: use a signed ap_fixed of at most 32 bits")
    if act.frac_bits < 5 or act.frac_bits > 40:
        raise RtlError(f"{accel.name}: formats.act={act} needs 5..40 fraction bits for the "
                       "GELU and softmax units")
    for role in FORMAT_ROLES:
        ft = getattr(f, role)
        if ft.storage_dtype.itemsize > 4:
            raise RtlError(f"{accel.name}: formats.{role}={ft} is stored in more than 4 bytes; "
                           "the RTL engines take formats of at most 32 bits")
    if accel.axi_bits < 64:
        raise RtlError(f"{accel.name}: axi_bits={accel.axi_bits} is too narrow for the RTL "
                       "top; use 64 or more")


def rtl_context(accel) -> dict:
    """Everything ``edgemoe_pkg.sv.j2`` prints, for design point ``accel``.

    Raises:
        RtlError: A format or size the RTL engines do not support.
    """
    _check(accel)
    f = accel.formats
    act = f.act
    fmts = [_fmt(role, getattr(f, role)) for role in FORMAT_ROLES]
    pi, po = accel.linear_p_in, accel.linear_p_out
    weight_lg = max(_lg(getattr(f, r).storage_dtype.itemsize)
                    for r in ("linear_weight", "conv_weight", "patch_weight"))
    bias_lg = max(_lg(f.bias.storage_dtype.itemsize), _lg(f.attn_bias.storage_dtype.itemsize))
    act_lg = _lg(act.storage_dtype.itemsize)
    pix_lg = _lg(f.pixel.storage_dtype.itemsize)
    axi_bytes = accel.axi_bits // 8
    # widest word any engine asks the DMA for (bytes)
    words = [po * pi << weight_lg, po << bias_lg, pi << max(act_lg, pix_lg), po << act_lg,
             accel.vector_lanes << act_lg, accel.vector_lanes << _lg(f.norm.storage_dtype.itemsize),
             axi_bytes, 8]
    word_max = max(words)
    sq = min(act.frac_bits, LN_SQ_FRAC)
    _, rstd_t = ln_types(act)
    ops_mask = 0
    for op in isa.Op:
        if op == isa.Op.NOP or op.name.lower() in accel.ops:
            ops_mask |= 1 << int(op)
    tables = []
    for name, values in numerics.numerics_tables().items():
        bits = max(1, int(values.max()).bit_length())
        tables.append({"name": name.lower(), "bits": bits, "size": int(values.size),
                       "index_bits": max(1, (int(values.size) - 1).bit_length()),
                       "entries": [int(v) for v in values]})
    consts = numerics.numerics_constants()
    attn_chunk = axi_bytes >> act_lg
    ctx = {
        "banner": banner("edgemoe_pkg.sv.j2", accel),
        "design": accel.name,
        "config_id": accel.config_id_int,
        "engine": [
            ("AXI_BITS", accel.axi_bits), ("AXI_BYTES", axi_bytes), ("AXI_LG", _lg(axi_bytes)),
            ("P_IN", pi), ("P_OUT", po), ("P_IN_LG", _lg(pi)), ("P_OUT_LG", _lg(po)),
            ("LANES", accel.attn_lanes), ("VEC", accel.vector_lanes),
            ("VEC_LG", _lg(accel.vector_lanes)),
            ("MAX_TOKENS", accel.max_tokens), ("MAX_IN", accel.max_in_features),
            ("MAX_OUT", accel.max_out_features), ("MAX_HEADS", accel.max_heads),
            ("MAX_HEAD_DIM", accel.max_head_dim), ("MAX_EXPERTS", accel.max_experts),
            ("MAX_TOP_K", accel.max_top_k), ("WEIGHT_BUFFER_WORDS", accel.weight_buffer_words),
            ("WBUF_TILES", accel.weight_buffer_words // (pi * po)),
            ("WORD_MAX", word_max), ("WORD_MAX_LG", _lg(word_max)),
            ("WEIGHT_BITS", 8 << weight_lg), ("BIAS_BITS", 8 << bias_lg),
            ("ATTN_E", attn_chunk), ("ATTN_C_MAX", math.ceil(accel.max_head_dim / attn_chunk)),
            ("ADD_CHUNK", 64 * accel.vector_lanes),
        ],
        "formats": fmts,
        "act_quant": QUANT_MODES.index(act.quant),
        "act_overflow": OVERFLOW_MODES.index(act.overflow),
        "act_sat_min": act.raw_min + 1 if act.overflow == "SAT_SYM" and act.width > 1
        else act.raw_min,
        "quant_modes": list(enumerate(QUANT_MODES)),
        "overflow_modes": list(enumerate(OVERFLOW_MODES)),
        "ops_mask": ops_mask,
        "opcodes": [(op.name, int(op)) for op in isa.Op],
        "flags": [(fl.name, int(fl)) for fl in isa.Flag if fl],
        "op_flags": [(op.name, int(isa.OP_FLAGS[op])) for op in isa.Op],
        "errs": [(e.name, int(e)) for e in isa.Err],
        "regs": [(r.sv_name, r.offset) for r in REGISTERS],
        "consts": sorted(consts.items()),
        "tables": tables,
        "derived": [
            ("LN_SQ_SHIFT", act.frac_bits - sq), ("LN_VAR_FRAC", 2 * sq),
            ("LN_RSTD_FRAC", LN_RSTD_FRAC), ("EXP_CAP_SHIFT", max(min(act.frac_bits + 5, 62), 0)),
            ("GELU_SH", act.frac_bits - consts["GELU_STEP_BITS"]),
            ("GELU_G", max(act.frac_bits, consts["GELU_TABLE_FRAC"])),
        ],
        "rstd_raw_max": rstd_t.raw_max,
        "act_raw_max": act.raw_max,
        "act_raw_min": act.raw_min,
        "config_id_hex": f"{accel.config_id_int:08x}",
    }
    return ctx


def design_key(accel) -> str:
    """Folder name of a design point's build products: ``<name>-<config_id>``."""
    return f"{accel.name}-{accel.config_id}"


def render_rtl(accel, out_dir: str | Path | None = None) -> list[Path]:
    """Write the SystemVerilog sources of ``accel`` and return them in compile order.

    Args:
        accel: The design point.
        out_dir: Destination (default ``build/<name>-<config_id>/rtl`` of the current folder).

    Returns:
        Paths of the package and every module, package first.

    Raises:
        RtlError: The design point uses a format or size the RTL engines do not support.
    """
    out = Path(out_dir) if out_dir is not None else \
        default_build_root() / design_key(accel) / "rtl"
    out.mkdir(parents=True, exist_ok=True)
    env = make_environment(RTL_TEMPLATE_DIR)
    text = env.get_template(PACKAGE[0]).render(**rtl_context(accel))
    paths = [out / PACKAGE[1]]
    _write_if_changed(paths[0], text)
    for name in SOURCES:
        src = RTL_TEMPLATE_DIR / name
        dst = out / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
        paths.append(dst)
    log.debug("rendered %d RTL sources for %s into %s", len(paths), accel.name, out)
    return paths


def sources_digest(paths: list[Path]) -> str:
    """16 hex digits of SHA-256 over the sources' names and contents (build cache key)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
