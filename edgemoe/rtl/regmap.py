"""The s_axilite register map of the RTL top (``edgemoe_top``): ap_ctrl_hs + arguments.

The SystemVerilog register file is rendered from this table, which is the host's
(:mod:`edgemoe.host.registers`, numpy-free) so both sides share one definition.  It follows the
Vitis HLS offset rules (UG1399) for the HLS top's signature::

    edgemoe_top(mem, mem_bytes, program_offset, n_instructions, task, status_offset,
                &config_id, &status)

so the RTL top is a drop-in for the Vitis-exported IP: CTRL/GIER/IP_IER/IP_ISR at
0x00-0x0C, then per argument a data word (64-bit items: lo, hi, reserved word; 32-bit
inputs: data, reserved word; outputs: data, ``<name>_ctrl`` with ``ap_vld``, reserved).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..host.registers import ARGUMENTS, CTRL_FIELDS, default_layout

__all__ = ["ARGUMENTS", "CTRL_BITS", "REGISTERS", "Register", "offset", "register_table"]

#: CTRL register bits (ap_ctrl_hs), from the host's field table.
CTRL_BITS = {name: bit for name, bit, _, _ in CTRL_FIELDS if not name.startswith("RESERVED")}


@dataclass(frozen=True)
class Register:
    """One 32-bit word of the register map.

    Attributes:
        name: Register name (``mem_1``/``mem_2`` are the low/high halves of ``mem``).
        offset: Byte offset from the IP base.
        access: ``read-write``, ``write-only`` (readable back) or ``read-only``.
        description: One line.
    """

    name: str
    offset: int
    access: str
    description: str

    @property
    def sv_name(self) -> str:
        """SystemVerilog localparam name, e.g. ``REG_MEM_1``."""
        return "REG_" + self.name.upper()


def register_table() -> tuple[Register, ...]:
    """Every register word in address order: the layout the host drives (one definition,
    :func:`edgemoe.host.registers.default_layout`), as SystemVerilog needs it."""
    # one m_axi master: the HLS top's extra port registers (wmem, xmem, ymem) do not exist
    return tuple(Register(r.name, r.offset, r.access, r.description)
                 for r in default_layout(ports=False))


#: The register map, in address order.
REGISTERS: tuple[Register, ...] = register_table()


def offset(name: str) -> int:
    """Byte offset of register ``name`` (e.g. ``"status"``, ``"mem_1"``).

    Raises:
        KeyError: ``name`` is not a register; the message lists the registers.
    """
    for reg in REGISTERS:
        if reg.name == name:
            return reg.offset
    raise KeyError(f"no register {name!r}; registers: {', '.join(r.name for r in REGISTERS)}")
