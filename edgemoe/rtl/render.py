"""Render the SystemVerilog compute unit of a design point into ``build/<design>/rtl/``.

``rtl_templates/edgemoe_pkg.sv.j2`` becomes the parameter package (design point, formats,
ISA, register map, numerics constants and ROMs); the static ``*.sv`` modules beside it are
copied unchanged.  The top has one AXI master (``m_axi_mem``) or, rendered with
``masters=2``, a second read-only one (``m_axi_wgt``) that carries the weight prefetch alone,
as the HLS kernel's weight bundle on a PS port of its own, or with ``masters=3`` a third
(``m_axi_wgt1``): the prefetch's bursts alternate over the two weight masters
(edgemoe_rd_stripe.sv); each master count goes to a folder of its own.
Every number the package prints is computed here (templates do no arithmetic), from
:mod:`edgemoe.isa`, :mod:`edgemoe.numerics`, the golden LAYERNORM constants and
:mod:`edgemoe.rtl.regmap`.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from .. import isa, numerics
from ..codegen.check_table import check_context
from ..codegen.constants import design_constants
from ..codegen.context import isa_context as isa_field_words
from ..codegen.env import banner, make_environment
from ..codegen.opspec import (
    engine_jobs_context,
    macs_context,
    opspec_context,
    prefetch_context,
)
from ..golden.vector_ops import ln_types
from ..ops import ENGINES, engines_built
from ..params.accel import FORMAT_ROLES
from ..params.fixed import OVERFLOW_MODES, QUANT_MODES
from ..resources import default_build_root, resource_dir
from .regmap import REGISTERS

__all__ = [
    "MASTERS",
    "RENDERED",
    "RTL_TEMPLATE_DIR",
    "SOURCES",
    "STRIPE_SOURCES",
    "TOP",
    "WEIGHT_MASTERS",
    "RtlError",
    "design_key",
    "masters_for",
    "render_rtl",
    "rtl_context",
    "rtl_dir_name",
    "sources_digest",
    "weight_masters",
]

log = logging.getLogger(__name__)

#: Folder of the SystemVerilog sources and the package template (repository or wheel copy).
RTL_TEMPLATE_DIR = resource_dir("rtl_templates")
#: Name of the top module (same as the HLS top function).
TOP = "edgemoe_top"
#: Template -> generated file, then the static modules, in compile order.
PACKAGE = ("edgemoe_pkg.sv.j2", "edgemoe_pkg.sv")
#: Templates rendered from the op spec (engines, DMA slots), in compile order after SOURCES.
RENDERED = (("edgemoe_check.sv.j2", "edgemoe_check.sv"),
            ("edgemoe_ctrl_decode.sv.j2", "edgemoe_ctrl_decode.sv"),
            ("edgemoe_ctrl_jobs.sv.j2", "edgemoe_ctrl_jobs.sv"),
            ("edgemoe_ctrl_prof.sv.j2", "edgemoe_ctrl_prof.sv"),
            ("edgemoe_top.sv.j2", "edgemoe_top.sv"))
SOURCES = ("edgemoe_fifo.sv", "edgemoe_rd_dma.sv", "edgemoe_wr_dma.sv", "edgemoe_axil_regs.sv",
           "edgemoe_lin_prefetch.sv", "edgemoe_lin_writer.sv", "edgemoe_lin_epilogue.sv",
           "edgemoe_lin_q8.sv", "edgemoe_mac8x2.sv", "edgemoe_lin_dot.sv", "edgemoe_lin_skip.sv",
           "edgemoe_lin_wbuf.sv", "edgemoe_lin_place.sv", "edgemoe_lin_pair.sv", "edgemoe_lin_fmt.sv",
           "edgemoe_lin_q4.sv", "edgemoe_lin_bbuf.sv", "edgemoe_lin_index.sv", "edgemoe_lin_line.sv",
           "edgemoe_lin_rows.sv",
           "edgemoe_lin_loader.sv", "edgemoe_lin.sv", "edgemoe_router.sv", "edgemoe_attn_topk.sv",
           "edgemoe_attn_recip.sv", "edgemoe_attn_gen.sv", "edgemoe_attn_q8_load.sv",
           "edgemoe_attn_q8_lane.sv", "edgemoe_attn_qload.sv", "edgemoe_attn_writer.sv",
           "edgemoe_attn.sv",
           "edgemoe_ln.sv", "edgemoe_eltwise.sv", "edgemoe_upsample.sv", "edgemoe_pool.sv",
           "edgemoe_lif.sv", "edgemoe_moe_q4.sv",
           "edgemoe_ctrl.sv")


#: AXI masters the SV top renders with: ``m_axi_mem`` alone (the default, what the Yosys
#: estimate counts: edgemoe.params.fit.RTL_AXI_MASTERS), ``m_axi_wgt`` beside it, or
#: ``m_axi_wgt`` and ``m_axi_wgt1`` (the prefetch striped over both).
MASTERS = (1, 2, 3)
#: The weight prefetch's read-only masters, in striping order (burst k: k mod their count).
WEIGHT_MASTERS = ("m_axi_wgt", "m_axi_wgt1")
#: Modules only a top with more than two masters instantiates (after SOURCES' DMAs).
STRIPE_SOURCES = ("edgemoe_rd_stripe.sv",)


def masters_for(ports: int) -> int:
    """AXI masters of the top that runs as a design on ``ports`` PS ports: with two the
    weight prefetch has its own, with three or more it stripes over two
    (edgemoe.perf.memory.MemoryTiming.prefetch_masters; a fourth port adds nothing)."""
    return min(max(ports, 1), max(MASTERS))


def weight_masters(masters: int) -> tuple[str, ...]:
    """Names of the weight prefetch's masters of a top with ``masters`` AXI masters."""
    return WEIGHT_MASTERS[:masters - 1]


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
    isa_ctx = isa_field_words(accel)
    ctx = {
        "banner": banner("edgemoe_pkg.sv.j2", accel),
        "design": accel.name,
        "config_id": accel.config_id_int,
        "engine": design_constants(accel),
        "ops": opspec_context("sv"),
        "jobs": engine_jobs_context(),
        "macs": macs_context(),
        "check": check_context(accel.ops),
        "prefetch": prefetch_context(),
        "engines": [{"name": e, "NAME": e.upper(), "code": k} for k, e in enumerate(ENGINES)],
        "owner_bits": max(1, (len(ENGINES) - 1).bit_length()),
        "engines_built": sum(1 << k for k, e in enumerate(ENGINES)
                             if e in engines_built(accel.ops)),
        "formats": fmts,
        "act_quant": QUANT_MODES.index(act.quant),
        "act_overflow": OVERFLOW_MODES.index(act.overflow),
        "act_sat_min": act.raw_min + 1 if act.overflow == "SAT_SYM" and act.width > 1
        else act.raw_min,
        "quant_modes": list(enumerate(QUANT_MODES)),
        "overflow_modes": list(enumerate(OVERFLOW_MODES)),
        "ops_mask": ops_mask,
        "opcodes_known": sum(1 << int(op) for op in isa.Op),
        "opcodes": [(op.name, int(op)) for op in isa.Op],
        "flags": [(fl.name, int(fl)) for fl in isa.Flag if fl],
        "flag_bits": [(fl.name, int(fl).bit_length() - 1) for fl in isa.Flag if fl],
        "pool_modes": [(m.name, int(m)) for m in isa.PoolMode],
        "header": [("OPCODE_SHIFT", isa.OPCODE_SHIFT), ("FLAGS_SHIFT", isa.FLAGS_SHIFT),
                   ("TASK_MASK_SHIFT", isa.TASK_MASK_SHIFT)],
        "field_words": [(f["name"], f["word"]) for f in
                        (*isa_ctx["generic_fields"], *isa_ctx["fields"])],
        "op_flags": [(op.name, int(isa.hw_flags(op, "sv", accel))) for op in isa.Op],
        "op_required_flags": [(op.name, int(isa.required_flags(op, accel))) for op in isa.Op
                              if isa.required_flags(op, accel)],
        "errs": [(e.name, int(e)) for e in isa.Err],
        "regs": [(r.sv_name, r.offset) for r in REGISTERS],
        "consts": sorted(consts.items()),
        "tables": tables,
        "rstd_raw_max": ln_types(act)[1].raw_max,
        "act_raw_max": act.raw_max,
        "act_raw_min": act.raw_min,
        "config_id_hex": f"{accel.config_id_int:08x}",
    }
    return ctx


def design_key(accel) -> str:
    """Folder name of a design point's build products: ``<name>-<config_id>``."""
    return f"{accel.name}-{accel.config_id}"


def rtl_dir_name(masters: int = 1) -> str:
    """Folder of the rendered RTL under ``build/<design_key>/``: ``rtl``, or ``rtl-<n>m`` for
    the top with n masters (they coexist, so none overwrites another's sources)."""
    return "rtl" if masters == 1 else f"rtl-{masters}m"


def render_rtl(accel, out_dir: str | Path | None = None, masters: int = 1) -> list[Path]:
    """Write the SystemVerilog sources of ``accel`` and return them in compile order.

    Args:
        accel: The design point.
        out_dir: Destination (default ``build/<name>-<config_id>/`` + :func:`rtl_dir_name`
            of the current folder).
        masters: AXI masters of the top (:data:`MASTERS`): 2 adds ``m_axi_wgt``, the
            weight prefetch's own read master; 3 also ``m_axi_wgt1``, the prefetch's
            bursts alternating over the two.

    Returns:
        Paths of the package and every module, package first.

    Raises:
        RtlError: The design point uses a format or size the RTL engines do not support,
            or ``masters`` is not one of :data:`MASTERS`.
    """
    if masters not in MASTERS:
        raise RtlError(f"masters={masters}: the RTL top has 1 AXI master (m_axi_mem), 2 "
                       "(m_axi_wgt for the weight prefetch) or 3 (the prefetch striped over "
                       "m_axi_wgt and m_axi_wgt1); pass 1, 2 or 3")
    out = Path(out_dir) if out_dir is not None else \
        default_build_root() / design_key(accel) / rtl_dir_name(masters)
    out.mkdir(parents=True, exist_ok=True)
    env = make_environment(RTL_TEMPLATE_DIR)
    ctx = rtl_context(accel)
    text = env.get_template(PACKAGE[0]).render(**ctx)
    paths = [out / PACKAGE[1]]
    _write_if_changed(paths[0], text)
    for name in SOURCES + (STRIPE_SOURCES if masters > 2 else ()):
        src = RTL_TEMPLATE_DIR / name
        dst = out / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
        paths.append(dst)
    for template, name in RENDERED:
        paths.append(out / name)
        _write_if_changed(paths[-1], env.get_template(template).render(
            **{**ctx, "banner": banner(template, accel), "masters": masters,
               "weight_masters": weight_masters(masters)}))
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
