"""The SystemVerilog compute unit: rendering, Verilator simulation and Yosys estimates.

``render_rtl(accel)`` writes the sources of a design point; :class:`RtlsimExecutor` runs
programs on them under Verilator + cocotb (the ``rtlsim`` executor); ``synth`` (in
:mod:`edgemoe.rtl.synth`) estimates resources with Yosys.  Needs the ``sim`` extra.
"""

from .regmap import REGISTERS, Register, offset
from .render import TOP, RtlError, design_key, render_rtl
from .rtlsim import RtlJob, RtlResult, RtlsimExecutor
from .simulator import SimulatorError

__all__ = ["REGISTERS", "TOP", "Register", "RtlError", "RtlJob", "RtlResult", "RtlsimExecutor",
           "SimulatorError", "design_key", "offset", "render_rtl"]
