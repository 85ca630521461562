"""Write a minimal Vivado hardware handoff (``.hwh``) describing our IP.

Vivado writes the real ``.hwh`` next to the bitstream; this file only produces the subset
pynq's HWH parser reads (a processing system whose memory map places ``edgemoe_top_0``, and
the IP's s_axilite registers with their fields), so the pynq backend can be tested on x86
with pynq's own parser, ``Overlay`` and ``register_map``.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from .registers import INSTANCE_NAME, VLNV, RegisterSpec, address_range, default_layout

#: Processing-system module per family: (MODTYPE, VLNV, master interface, clock parameter
#: format strings for divisor and enable).
_PS = {
    "zynq_ultra_ps_e": ("xilinx.com:ip:zynq_ultra_ps_e:3.5", "M_AXI_HPM0_FPD",
                        "PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR{j}", "PSU__FPGA_PL{i}_ENABLE",
                        "PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL", "IOPLL",
                        "PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ"),
    "processing_system7": ("xilinx.com:ip:processing_system7:5.5", "M_AXI_GP0",
                           "PCW_FCLK{i}_PERIPHERAL_DIVISOR{j}", "PCW_FPGA_FCLK{i}_ENABLE",
                           "PCW_FCLK{i}_PERIPHERAL_CLKSRC", "IO PLL",
                           "PCW_FPGA{i}_PERIPHERAL_FREQMHZ"),
}
#: Default base address of the IP's s_axilite window (HPM0_FPD on Zynq UltraScale+).
DEFAULT_BASE = 0xA000_0000


def _prop(parent: ET.Element, name: str, value: object) -> None:
    ET.SubElement(parent, "PROPERTY", NAME=name, VALUE=str(value))


def _register(parent: ET.Element, reg: RegisterSpec) -> None:
    node = ET.SubElement(parent, "REGISTER", NAME=reg.name)
    _prop(node, "DESCRIPTION", reg.description)
    _prop(node, "ADDRESS_OFFSET", hex(reg.offset))
    _prop(node, "SIZE", reg.size)
    _prop(node, "ACCESS", reg.access)
    _prop(node, "IS_ENABLED", "true")
    _prop(node, "RESET_VALUE", "0x0")
    fields = ET.SubElement(node, "FIELDS")
    for fname, bit, width, access in reg.fields:
        f = ET.SubElement(fields, "FIELD", NAME=fname)
        _prop(f, "DESCRIPTION", fname)
        _prop(f, "ADDRESS_OFFSET", "0")
        _prop(f, "ACCESS", access)
        _prop(f, "BIT_OFFSET", bit)
        _prop(f, "BIT_WIDTH", width)


def hwh_xml(layout: tuple[RegisterSpec, ...] | None = None, *, base: int = DEFAULT_BASE,
            ps: str = "zynq_ultra_ps_e", vlnv: str = VLNV, instance: str = INSTANCE_NAME,
            clock_mhz: float = 100.0) -> str:
    """The ``.hwh`` XML text.

    Args:
        layout: Registers of the IP (default :func:`edgemoe.host.registers.default_layout`).
        base: Base address of the IP's s_axilite window.
        ps: ``zynq_ultra_ps_e`` (ZynqMP) or ``processing_system7`` (Zynq-7000).
        vlnv: VLNV of the IP module.
        instance: Instance name of the IP.
        clock_mhz: Recorded PL clock 0 frequency (informational).

    Raises:
        ValueError: Unknown ``ps``.
    """
    if ps not in _PS:
        raise ValueError(f"unknown processing system {ps!r}: use one of {', '.join(_PS)}")
    layout = default_layout() if layout is None else layout
    ps_vlnv, master, divisor, enable, srcsel, pll, freq = _PS[ps]
    ps_inst = f"{ps}_0"
    high = base + address_range(layout) - 1
    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", TIMESTAMP="0", VIVADOVERSION="2023.2")
    ET.SubElement(root, "SYSTEMINFO", ARCH=ps.split("_")[0], NAME="design_1")
    ET.SubElement(root, "EXTERNALPORTS")
    modules = ET.SubElement(root, "MODULES")

    psm = ET.SubElement(modules, "MODULE", FULLNAME=f"/{ps_inst}", INSTANCE=ps_inst,
                        MODTYPE=ps, VLNV=ps_vlnv, BDTYPE="")
    params = ET.SubElement(psm, "PARAMETERS")
    for i in range(4):
        ET.SubElement(params, "PARAMETER", NAME=enable.format(i=i), VALUE="1" if i == 0 else "0")
        for j in range(2):
            ET.SubElement(params, "PARAMETER", NAME=divisor.format(i=i, j=j),
                          VALUE="15" if j == 0 else "1")
        ET.SubElement(params, "PARAMETER", NAME=srcsel.format(i=i), VALUE=pll)
        ET.SubElement(params, "PARAMETER", NAME=freq.format(i=i), VALUE=f"{clock_mhz:g}")
    mmap = ET.SubElement(psm, "MEMORYMAP")
    ET.SubElement(mmap, "MEMRANGE", ADDRESSBLOCK="Reg", BASENAME="C_S_AXI_CONTROL_BASEADDR",
                  BASEVALUE=hex(base), HIGHNAME="C_S_AXI_CONTROL_HIGHADDR", HIGHVALUE=hex(high),
                  INSTANCE=instance, IS_DATA="TRUE", IS_INSTRUCTION="TRUE",
                  MASTERBUSINTERFACE=master, MEMTYPE="REGISTER",
                  SLAVEBUSINTERFACE="s_axi_control")
    ET.SubElement(psm, "PORTS")
    ET.SubElement(ET.SubElement(psm, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME="ps_axi_periph",
                  NAME=master, TYPE="MASTER", VLNV="xilinx.com:interface:aximm:1.0")

    ipm = ET.SubElement(modules, "MODULE", FULLNAME=f"/{instance}", INSTANCE=instance,
                        MODTYPE=vlnv.split(":")[2], VLNV=vlnv, BDTYPE="", IPTYPE="PERIPHERAL")
    ET.SubElement(ipm, "DOCUMENTS")
    ET.SubElement(ET.SubElement(ipm, "PARAMETERS"), "PARAMETER",
                  NAME="C_S_AXI_CONTROL_BASEADDR", VALUE=hex(base))
    regs = ET.SubElement(ET.SubElement(ET.SubElement(
        ET.SubElement(ipm, "ADDRESSBLOCKS"), "ADDRESSBLOCK", ACCESS="read-write", NAME="Reg",
        INTERFACE="s_axi_control", RANGE=str(address_range(layout)), USAGE="register"),
        "REGISTERS"), "REGISTERS")
    for reg in layout:
        _register(regs, reg)
    ET.SubElement(ipm, "PORTS")
    ET.SubElement(ET.SubElement(ipm, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME="ps_axi_periph",
                  NAME="s_axi_control", TYPE="SLAVE", VLNV="xilinx.com:interface:aximm:1.0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_hwh(path: str | Path, layout: tuple[RegisterSpec, ...] | None = None,
              **kwargs) -> Path:
    """Write :func:`hwh_xml` to ``path`` (keyword arguments as for :func:`hwh_xml`)."""
    out = Path(path)
    out.write_text(hwh_xml(layout, **kwargs), encoding="utf-8")
    return out
