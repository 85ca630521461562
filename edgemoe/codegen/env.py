"""The Jinja2 environment shared by every code generator (HLS C++, Tcl, cfg, SystemVerilog).

StrictUndefined (a missing context value is an error, never an empty string), block
trimming, kept trailing newlines, and three literal filters:

* ``cpp_type``: a FixedType -> its full ap_fixed spelling; a numpy dtype / bit width ->
  the C integer type (``int16_t``).
* ``sv_literal``: an int -> a sized SystemVerilog literal (``32'sd-5`` style: ``-32'sd5``).
* ``hex``: an int -> ``0x...`` (optionally zero padded to a digit count).

Templates do no arithmetic: every number arrives computed in the context.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from ..params.fixed import FixedType
from ..resources import resource_dir

__all__ = [
    "HLS_TEMPLATE_DIR",
    "TemplateError",
    "banner",
    "cpp_type",
    "hex_literal",
    "make_environment",
    "sv_literal",
]


#: Static kernels and ``*.j2`` glue of the HLS generator (repository or wheel copy).
HLS_TEMPLATE_DIR = resource_dir("hls_templates")


class TemplateError(RuntimeError):
    """A template is missing or fails to render (names the template and the cause)."""


def cpp_type(value) -> str:
    """C++ spelling of a FixedType, a numpy integer dtype, or a signed bit width (int)."""
    if isinstance(value, FixedType):
        return value.cpp()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"int{int(value)}_t"
    dt = np.dtype(value)
    if dt.kind not in "iu":
        raise TemplateError(f"cpp_type: {dt} is not an integer dtype; pass an int dtype")
    return f"{'u' if dt.kind == 'u' else ''}int{dt.itemsize * 8}_t"


def sv_literal(value: int, width: int = 32) -> str:
    """Sized SystemVerilog literal of an integer, e.g. ``32'd7`` or ``-32'sd5``."""
    v = int(value)
    if v < 0:
        return f"-{width}'sd{-v}"
    return f"{width}'d{v}"


def hex_literal(value: int, digits: int = 0) -> str:
    """``0x`` literal of a non-negative integer, zero padded to ``digits`` hex digits."""
    v = int(value)
    if v < 0:
        raise TemplateError(f"hex: {v} is negative; format negative values as decimals")
    return f"0x{v:0{digits}x}" if digits else f"0x{v:x}"


def banner(template: str, accel, comment: str = "//") -> str:
    """The first line of every generated file."""
    return (f"{comment} generated from {accel.name} {accel.config_id} by edgemoe "
            f"({template}), do not edit")


def make_environment(search_path: Path | str | list = HLS_TEMPLATE_DIR) -> jinja2.Environment:
    """A Jinja2 environment over ``search_path`` with the project's settings and filters.

    Args:
        search_path: folder(s) holding the ``*.j2`` templates.

    Returns:
        The configured environment.
    """
    paths = [str(p) for p in search_path] if isinstance(search_path, list) else [str(search_path)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["cpp_type"] = cpp_type
    env.filters["sv_literal"] = sv_literal
    env.filters["hex"] = hex_literal
    return env
