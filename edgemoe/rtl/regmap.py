"""The s_axilite register map of the RTL top (``edgemoe_top``): ap_ctrl_hs + arguments.

This is the one table the SystemVerilog register file is rendered from.  It follows the
Vitis HLS offset rules (UG1399) for the HLS top's signature::

    edgemoe_top(mem, mem_bytes, program_offset, n_instructions, task, status_offset,
                &config_id, &status)

so the RTL top is a drop-in for the Vitis-exported IP: CTRL/GIER/IP_IER/IP_ISR at
0x00-0x0C, then per argument a data word (64-bit items: lo, hi, reserved word; 32-bit
inputs: data, reserved word; outputs: data, ``<name>_ctrl`` with ``ap_vld``, reserved).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARGUMENTS", "CTRL_BITS", "REGISTERS", "Register", "offset", "register_table"]

#: (name, bits, direction) of the top-level arguments, in signature order.
ARGUMENTS: tuple[tuple[str, int, str], ...] = (
    ("mem", 64, "in"),
    ("mem_bytes", 64, "in"),
    ("program_offset", 32, "in"),
    ("n_instructions", 32, "in"),
    ("task", 32, "in"),
    ("status_offset", 32, "in"),
    ("config_id", 32, "out"),
    ("status", 32, "out"),
)

#: CTRL register bits (ap_ctrl_hs).
CTRL_BITS = {"AP_START": 0, "AP_DONE": 1, "AP_IDLE": 2, "AP_READY": 3, "AUTO_RESTART": 7}

_FIRST_ARG = 0x10


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
    """Every register word in address order (see the module docstring for the rules)."""
    regs = [
        Register("CTRL", 0x00, "read-write", "ap_start, ap_done (clear on read), ap_idle, "
                 "ap_ready (clear on read), auto_restart"),
        Register("GIER", 0x04, "read-write", "global interrupt enable"),
        Register("IP_IER", 0x08, "read-write", "interrupt enable: bit 0 ap_done, bit 1 ap_ready"),
        Register("IP_ISR", 0x0C, "read-write", "interrupt status (toggle on write)"),
    ]
    off = _FIRST_ARG
    for name, bits, direction in ARGUMENTS:
        if bits == 64:
            regs.append(Register(f"{name}_1", off, "write-only", f"{name} [31:0]"))
            regs.append(Register(f"{name}_2", off + 4, "write-only", f"{name} [63:32]"))
            off += 12
        elif direction == "in":
            regs.append(Register(name, off, "write-only", f"{name}"))
            off += 8
        else:
            regs.append(Register(name, off, "read-only", f"{name} (output)"))
            regs.append(Register(f"{name}_ctrl", off + 4, "read-only",
                                 f"bit 0: {name}_ap_vld (clear on read)"))
            off += 12
    return tuple(regs)


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
