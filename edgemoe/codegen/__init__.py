"""Code generation: the Jinja2 environment, its filters, the OUTPUTS table and renderers.

``render_hls(accel, out_dir)`` writes the Vitis HLS project of a design point: the params
and ISA headers, the top function, the C-sim bridge, the testbench, ``run_hls.tcl``,
``hls_config.cfg``, the Vivado block-design Tcl and copies of the static kernels.
"""

from .context import KERNEL_HEADERS, TOP_NAME, hls_context
from .env import (
    HLS_TEMPLATE_DIR,
    TemplateError,
    banner,
    cpp_type,
    hex_literal,
    make_environment,
    sv_literal,
)
from .lint import scan_kernel_source, scan_kernel_sources, unlabeled_loops
from .outputs import OUTPUTS, Output, project_name, render_hls, source_files

__all__ = [
    "HLS_TEMPLATE_DIR",
    "KERNEL_HEADERS",
    "OUTPUTS",
    "TOP_NAME",
    "Output",
    "TemplateError",
    "banner",
    "cpp_type",
    "hex_literal",
    "hls_context",
    "make_environment",
    "project_name",
    "render_hls",
    "scan_kernel_source",
    "scan_kernel_sources",
    "source_files",
    "sv_literal",
    "unlabeled_loops",
]
