"""The OUTPUTS table (template -> generated file) and the HLS project renderer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .context import KERNEL_HEADERS, TOP_NAME, hls_context
from .env import HLS_TEMPLATE_DIR, TemplateError, banner, make_environment

__all__ = ["OUTPUTS", "Output", "project_name", "render_hls", "render_one", "source_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    """One generated file.

    Attributes:
        template: template name under ``hls_templates/``.
        filename: output file name (``{top}`` is replaced by the top function's name).
        comment: line-comment marker of the output language (for the banner).
        kernel: True when the file is synthesized (scanned for unsynthesizable C++).
    """

    template: str
    filename: str
    comment: str = "//"
    kernel: bool = False


#: Every generated file of the HLS project, in render order.
OUTPUTS: tuple[Output, ...] = (
    Output("edgemoe_isa.hpp.j2", "edgemoe_isa.hpp", kernel=True),
    Output("edgemoe_ops.hpp.j2", "edgemoe_ops.hpp", kernel=True),
    Output("edgemoe_dispatch.hpp.j2", "edgemoe_dispatch.hpp", kernel=True),
    Output("edgemoe_params.hpp.j2", "edgemoe_params.hpp", kernel=True),
    Output("edgemoe_top.hpp.j2", "{top}.hpp", kernel=True),
    Output("edgemoe_top.cpp.j2", "{top}.cpp", kernel=True),
    Output("csim_bridge.cpp.j2", "csim_bridge.cpp"),
    Output("tb_edgemoe.cpp.j2", "tb_edgemoe.cpp"),
    Output("run_hls.tcl.j2", "run_hls.tcl", comment="#"),
    Output("hls_config.cfg.j2", "hls_config.cfg", comment="#"),
    Output("bd.tcl.j2", "bd.tcl", comment="#"),
)


def project_name(accel) -> str:
    """Name of the Vitis HLS project folder of a design point."""
    return f"edgemoe_{accel.name.replace('-', '_')}"


def source_files() -> list[str]:
    """Synthesized sources in the order the Tcl/cfg scripts add them."""
    names = [o.filename.format(top=TOP_NAME) for o in OUTPUTS if o.kernel]
    return [n for n in names if n.endswith(".cpp")] + \
        [n for n in names if n.endswith(".hpp")] + list(KERNEL_HEADERS)


def _context(accel, tb: dict | None, out: Path) -> dict:
    image = out / "tb_data" / "image.bin"
    if tb is None and image.is_file():  # keep the co-simulation depth of existing test data
        tb = {"image_bytes": image.stat().st_size}
    ctx = hls_context(accel, tb)
    ctx["project"] = project_name(accel)
    ctx["sources"] = source_files()
    return ctx


def render_one(env: jinja2.Environment, out: Output, ctx: dict) -> str:
    """Render one OUTPUTS entry with the banner for its language."""
    try:
        template = env.get_template(out.template)
        return template.render(**ctx, banner=banner(out.template, ctx["accel"], out.comment))
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name} is missing from {HLS_TEMPLATE_DIR}; "
                            "restore it from the repository") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{out.template}: {exc}; add the value to "
                            "edgemoe.codegen.context.hls_context") from None


def render_hls(accel, out_dir: Path | str, tb: dict | None = None) -> list[Path]:
    """Render every OUTPUTS entry and copy the static kernel headers into ``out_dir``.

    Copied headers get a banner line too. Files whose content is unchanged are not
    rewritten (keeps timestamps, so builds that cache on content stay cached).

    Args:
        accel: AccelConfig.
        out_dir: destination folder (created).
        tb: testbench description for the context (see :func:`hls_context`); by default
            taken from ``out_dir/tb_data/image.bin`` when it exists.

    Returns:
        Paths of all written or up-to-date files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = make_environment(HLS_TEMPLATE_DIR)
    ctx = _context(accel, tb, out)
    files: dict[str, str] = {}
    for o in OUTPUTS:
        files[o.filename.format(top=TOP_NAME)] = render_one(env, o, ctx)
    for name in KERNEL_HEADERS:
        src = HLS_TEMPLATE_DIR / name
        if not src.is_file():
            raise TemplateError(f"kernel header {src} is missing; restore it from the repository")
        files[name] = banner(f"copy of hls_templates/{name}", accel) + "\n" + src.read_text()
    written = []
    for name, text in files.items():
        path = out / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    log.info("rendered %d files for %s (config_id %s) into %s", len(written), accel.name,
             accel.config_id, out)
    return written
