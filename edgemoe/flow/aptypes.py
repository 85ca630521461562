"""Locate the Xilinx ``ap_types`` headers (``ap_fixed.h``) for C simulation with g++.

``$XILINX_HLS/include`` wins when Vitis HLS is installed; otherwise the Apache-2.0 copy
that the ``hls4ml`` wheel ships (``pip install 'edgemoe[csim]'``) is used. hls4ml is
located with :func:`importlib.util.find_spec`, never imported.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

__all__ = ["ToolNotFoundError", "ap_types_include_dir", "cxx_flags"]

log = logging.getLogger(__name__)

_HLS4ML_SUBDIR = ("templates", "vivado", "ap_types")


class ToolNotFoundError(RuntimeError):
    """An external tool or header set needed by a flow step is not installed."""


def _hls4ml_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root).joinpath(*_HLS4ML_SUBDIR)
        if (candidate / "ap_fixed.h").is_file():
            return candidate
    return None


def ap_types_include_dir() -> Path:
    """Directory holding ``ap_fixed.h`` / ``ap_int.h``.

    Returns:
        ``$XILINX_HLS/include`` when that variable is set and holds ``ap_fixed.h``,
        else the ``hls4ml/templates/vivado/ap_types`` folder of the installed wheel.

    Raises:
        ToolNotFoundError: Neither location has the headers.
    """
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        include = Path(xilinx) / "include"
        if (include / "ap_fixed.h").is_file():
            log.debug("ap_types from XILINX_HLS: %s", include)
            return include
        log.warning("XILINX_HLS=%s has no include/ap_fixed.h; trying hls4ml", xilinx)
    found = _hls4ml_dir()
    if found is not None:
        log.debug("ap_types from hls4ml: %s", found)
        return found
    raise ToolNotFoundError(
        "ap_fixed.h not found: neither $XILINX_HLS/include nor the hls4ml wheel provides the "
        "ap_types headers; install them with: pip install 'edgemoe[csim]' "
        "(or set XILINX_HLS to a Vitis HLS installation)"
    )


def cxx_flags() -> list[str]:
    """g++ flags for sources that include the ap_types headers.

    Returns:
        ``["-std=c++14", "-isystem", <dir>, "-Wno-unknown-pragmas"]``.

    Raises:
        ToolNotFoundError: The headers are not installed.
    """
    return ["-std=c++14", "-isystem", str(ap_types_include_dir()), "-Wno-unknown-pragmas"]
