"""Flow steps (generate, csim, rtlsim, synth, hls, bitstream, package) and tool lookup."""

from .aptypes import ToolNotFoundError, ap_types_include_dir, cxx_flags

__all__ = ["ToolNotFoundError", "ap_types_include_dir", "cxx_flags"]
