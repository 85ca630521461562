"""The s_axilite register map of the ``edgemoe_top`` HLS IP (ap_ctrl_hs).

The host reads register offsets from the ``.hwh`` through pynq's ``register_map``; the
layout computed here follows the Vitis HLS offset rules (UG1399) and is used to write the
test ``.hwh`` fixture (:mod:`edgemoe.host.hwh`) and as a fallback when an IP description
carries no registers.

Top-level arguments, in order (``hls_templates/edgemoe_top.cpp.j2``): ``mem`` (m_axi
pointer with ``offset=slave``, 64-bit), ``mem_bytes`` (64-bit size of the memory image),
``program_offset``, ``n_instructions``, ``task``, ``status_offset`` (inputs) and
``config_id``, ``status`` (outputs with ``ap_vld``; written by every run, so they read 0
until the first run after programming the bitstream), then the HLS top's other m_axi
ports ``wmem``, ``xmem``, ``ymem`` (weights, activations in, activations out; 64-bit
pointers the driver sets to the same image as ``mem``).  The RTL top has one master and
no port registers (:mod:`edgemoe.rtl.regmap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..params.ports import PORTS

#: VLNV of the HLS IP (``config_export -vendor edgemoe -library hls``; top ``edgemoe_top``).
VLNV = "edgemoe:hls:edgemoe_top:1.0"
#: Name of the HLS top function.
TOP_NAME = "edgemoe_top"
#: Instance name of the IP in the Vivado block design (``edgemoe_top_0``).
INSTANCE_NAME = f"{TOP_NAME}_0"

# ap_ctrl_hs CTRL bits
AP_START = 1 << 0
AP_DONE = 1 << 1
AP_IDLE = 1 << 2
AP_READY = 1 << 3
AUTO_RESTART = 1 << 7

#: (name, bit offset, bit width, access) of the CTRL fields.
CTRL_FIELDS = (("AP_START", 0, 1, "read-write"), ("AP_DONE", 1, 1, "read-only"),
               ("AP_IDLE", 2, 1, "read-only"), ("AP_READY", 3, 1, "read-only"),
               ("RESERVED_1", 4, 3, "read-only"), ("AUTO_RESTART", 7, 1, "read-write"),
               ("RESERVED_2", 8, 24, "read-only"))

#: (name, bits, direction) of the top-level arguments, in signature order.
ARGUMENTS = (("mem", 64, "in"), ("mem_bytes", 64, "in"), ("program_offset", 32, "in"), ("n_instructions", 32, "in"),
             ("task", 32, "in"), ("status_offset", 32, "in"), ("config_id", 32, "out"),
             ("status", 32, "out"))
#: The HLS top's m_axi pointers besides ``mem``, appended after ``status`` (one memory
#: image: the driver writes the image's base into each; absent on the RTL top).
PORT_ARGUMENTS = tuple((port, 64, "in") for port in PORTS if port != "mem")
#: Names of :data:`PORT_ARGUMENTS`.
PORT_INPUTS = tuple(name for name, _, _ in PORT_ARGUMENTS)
#: 32-bit scalar inputs the driver writes before each start.
SCALAR_INPUTS = ("program_offset", "n_instructions", "task", "status_offset")
#: 64-bit inputs: a single register ``<name>`` or the halves ``<name>_1``/``<name>_2``.
WIDE_INPUTS = ("mem", "mem_bytes")


@dataclass(frozen=True)
class RegisterSpec:
    """One 32-bit register of the s_axilite map.

    Attributes:
        name: Register name as it appears in the ``.hwh`` and pynq's ``register_map``.
        offset: Byte offset from the IP base address.
        access: ``read-write``, ``read-only`` or ``write-only``.
        description: One-line description.
        fields: (name, bit offset, bit width, access) per field; empty for plain data.
    """

    name: str
    offset: int
    access: str
    description: str = ""
    fields: tuple[tuple[str, int, int, str], ...] = field(default_factory=tuple)
    size: int = 32


def default_layout(first_arg: int = 0x10, ports: bool = True) -> tuple[RegisterSpec, ...]:
    """The register map Vitis HLS generates for :data:`ARGUMENTS` (+ :data:`PORT_ARGUMENTS`).

    Args:
        first_arg: Offset of the first argument (0x10; later Vitis versions may reserve
            more words before it, which is why the host reads the ``.hwh``).
        ports: Append the m_axi port registers of the HLS top (False: the RTL top's map).

    Returns:
        Registers in address order: CTRL, GIER, IP_IER, IP_ISR, then per argument its
        data word(s) (``<name>_1``/``<name>_2`` for the two halves of a 64-bit pointer)
        and, for outputs, a ``<name>_ctrl`` word holding ``ap_vld``.
    """
    regs = [
        RegisterSpec("CTRL", 0x00, "read-write", "Control signals", CTRL_FIELDS),
        RegisterSpec("GIER", 0x04, "read-write", "Global Interrupt Enable Register",
                     (("Enable", 0, 1, "read-write"), ("RESERVED", 1, 31, "read-only"))),
        RegisterSpec("IP_IER", 0x08, "read-write", "IP Interrupt Enable Register",
                     (("CHAN0_INT_EN", 0, 1, "read-write"), ("CHAN1_INT_EN", 1, 1, "read-write"),
                      ("RESERVED_0", 2, 30, "read-only"))),
        RegisterSpec("IP_ISR", 0x0C, "read-write", "IP Interrupt Status Register",
                     (("CHAN0_INT_ST", 0, 1, "read-write"), ("CHAN1_INT_ST", 1, 1, "read-write"),
                      ("RESERVED_0", 2, 30, "read-only"))),
    ]
    off = first_arg
    for name, bits, direction in ARGUMENTS + (PORT_ARGUMENTS if ports else ()):
        if bits == 64:
            regs.append(RegisterSpec(f"{name}_1", off, "write-only",
                                     f"Data signal of {name} [31:0]"))
            regs.append(RegisterSpec(f"{name}_2", off + 4, "write-only",
                                     f"Data signal of {name} [63:32]"))
            off += 12
        elif direction == "in":
            regs.append(RegisterSpec(name, off, "write-only", f"Data signal of {name}"))
            off += 8
        else:
            regs.append(RegisterSpec(name, off, "read-only", f"Data signal of {name}"))
            regs.append(RegisterSpec(f"{name}_ctrl", off + 4, "read-only",
                                     f"Control signal of {name}",
                                     ((f"{name}_ap_vld", 0, 1, "read-only"),
                                      ("RESERVED", 1, 31, "read-only"))))
            off += 12
    return tuple(regs)


def address_range(layout: tuple[RegisterSpec, ...]) -> int:
    """Size of the s_axilite address window (power of two >= 4 KiB) covering ``layout``."""
    top = max(r.offset + r.size // 8 for r in layout)
    size = 0x1000
    while size < top:
        size *= 2
    return size


def offsets_from_registers(registers: dict) -> dict[str, int]:
    """Register name -> byte offset from a pynq ``ip_dict[...]["registers"]`` entry."""
    return {name: int(r["address_offset"]) for name, r in registers.items()}


def layout_as_ip_registers(layout: tuple[RegisterSpec, ...]) -> dict[str, dict]:
    """``layout`` in the form of pynq's ``ip_dict[...]["registers"]`` (for fallbacks)."""
    return {r.name: {"address_offset": r.offset, "size": r.size, "access": r.access,
                     "description": r.description,
                     "fields": {f: {"bit_offset": o, "bit_width": w, "description": r.description,
                                    "access": a} for f, o, w, a in r.fields}}
            for r in layout}


def missing_registers(names: set[str]) -> list[str]:
    """Registers the driver needs that ``names`` lacks (empty when complete)."""
    missing = [n for n in ("CTRL", *SCALAR_INPUTS, "config_id", "status") if n not in names]
    missing += [w for w in WIDE_INPUTS if w not in names and not {f"{w}_1", f"{w}_2"} <= names]
    return missing
