"""Boards: the FPGA parts edgemoe targets (``configs/boards.yaml``)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import ConfigError
from .files import config_dir, read_yaml
from .schema import Reader, require, require_int_range

__all__ = ["FAMILIES", "Board", "list_boards", "load_board", "load_boards"]

#: Device families and their DSP slice: ``zynquplus`` has DSP48E2, ``zynq7`` DSP48E1.
FAMILIES: dict[str, str] = {"zynquplus": "DSP48E2", "zynq7": "DSP48E1"}
#: family -> PS high-performance slave ports the PL can master (S_AXI_HP0..3[_FPD]).
HP_PORTS: dict[str, int] = {"zynquplus": 4, "zynq7": 4}

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_BOARD_PART_RE = re.compile(r"^[\w.-]+:[\w.-]+:[\w.-]+:[\w.]+$")
_PS_PORT_BITS = (32, 64, 128)


@dataclass(frozen=True)
class Board:
    """One FPGA board (all figures from ``configs/boards.yaml``).

    Attributes:
        key: Short name used in configs and on the command line (``zcu102``).
        name: Human-readable board name.
        part: Vivado part number.
        board_part: Vivado board part (VLNV).
        family: ``zynquplus`` (Zynq UltraScale+, DSP48E2) or ``zynq7`` (Zynq-7000, DSP48E1).
        lut: Look-up tables.
        ff: Flip-flops.
        dsp: DSP slices.
        bram36: 36 Kbit block RAMs.
        uram: 288 Kbit UltraRAMs.
        ps_port_bits: Width of one PS high-performance slave port.
        ddr_gbps: Nominal peak PS DDR bandwidth, GB/s.
        default_clock_mhz: Default PL clock, MHz.
        board_connections: Vivado ``board_connections`` of a SOM on its carrier (KV260:
            ``som240_1_connector <carrier VLNV>``); empty for boards without a carrier.
    """

    key: str
    name: str
    part: str
    board_part: str
    family: str
    lut: int
    ff: int
    dsp: int
    bram36: int
    uram: int
    ps_port_bits: int
    ddr_gbps: float
    default_clock_mhz: float
    board_connections: str = ""
    source: str = field(default="boards.yaml", compare=False, repr=False)

    def __post_init__(self) -> None:
        src, k = self.source, self.key
        require(bool(_KEY_RE.match(k)), src, "<board key>", k, "is not a valid board key",
                "lower-case letters, digits, '-' and '_'")
        require(bool(self.name.strip()), src, f"{k}.name", self.name, "is empty",
                "a non-empty string")
        require(bool(self.part.strip()) and " " not in self.part, src, f"{k}.part", self.part,
                "is not a part number", "a Vivado part such as xczu9eg-ffvb1156-2-e")
        require(bool(_BOARD_PART_RE.match(self.board_part)), src, f"{k}.board_part",
                self.board_part, "is not a board part", "vendor:board:part0:version")
        require(self.family in FAMILIES, src, f"{k}.family", self.family,
                "is not a known family", ", ".join(FAMILIES))
        for res in ("lut", "ff", "dsp", "bram36"):
            require_int_range(src, f"{k}.{res}", getattr(self, res), 1, 10**8)
        require_int_range(src, f"{k}.uram", self.uram, 0, 10**6)
        require(self.ps_port_bits in _PS_PORT_BITS, src, f"{k}.ps_port_bits", self.ps_port_bits,
                "is not a PS port width", ", ".join(map(str, _PS_PORT_BITS)))
        require(0.0 < self.ddr_gbps <= 1000.0, src, f"{k}.ddr_gbps", self.ddr_gbps,
                "is out of range", "a number in (0, 1000]")
        require(0.0 < self.default_clock_mhz <= 1000.0, src, f"{k}.default_clock_mhz",
                self.default_clock_mhz, "is out of range", "a number in (0, 1000]")

    @property
    def ps_hp_ports(self) -> int:
        """PS high-performance slave ports of the family (one m_axi bundle each)."""
        return HP_PORTS[self.family]

    @property
    def dsp_slice(self) -> str:
        """DSP primitive of the family: ``DSP48E2`` or ``DSP48E1``."""
        return FAMILIES[self.family]

    def to_dict(self) -> dict[str, Any]:
        """All fields except ``source``, JSON-ready."""
        out = asdict(self)
        del out["source"]
        if not self.board_connections:  # keeps the config_id of boards without a carrier
            del out["board_connections"]
        return out


_OPTIONAL_FIELDS = ("board_connections",)
_FIELDS = tuple(f.name for f in fields(Board)
                if f.name not in ("key", "source", *_OPTIONAL_FIELDS))
_INT_FIELDS = ("lut", "ff", "dsp", "bram36", "uram", "ps_port_bits")
_NUM_FIELDS = ("ddr_gbps", "default_clock_mhz")


def _parse_board(key: str, node: object, reader: Reader) -> Board:
    data = reader.mapping(node, key, _FIELDS, _OPTIONAL_FIELDS)
    values: dict[str, Any] = {}
    if "board_connections" in data:
        values["board_connections"] = reader.string(data["board_connections"],
                                                    f"{key}.board_connections")
    for name in _FIELDS:
        path = f"{key}.{name}"
        if name in _INT_FIELDS:
            values[name] = reader.integer(data[name], path)
        elif name in _NUM_FIELDS:
            values[name] = reader.number(data[name], path)
        else:
            values[name] = reader.string(data[name], path)
    return Board(key=key, source=reader.source, **values)


def load_boards() -> dict[str, Board]:
    """Load every board of ``configs/boards.yaml``.

    Returns:
        Board key -> :class:`Board`, in file order.

    Raises:
        ConfigError: The file is missing, malformed or has an invalid entry.
    """
    path = config_dir() / "boards.yaml"
    reader = Reader(str(path))
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not doc:
        raise ConfigError(
            f"{path}: document is a {type(doc).__name__}, not a mapping of boards; "
            "allowed: a mapping board key -> {name, part, ...}"
        )
    boards: dict[str, Board] = {}
    for key, node in doc.items():
        if not isinstance(key, str):
            raise ConfigError(f"{path}: board key {key!r} is not a string; allowed: a string key")
        boards[key] = _parse_board(key, node, reader)
    return boards


def list_boards() -> tuple[str, ...]:
    """Keys of every board in ``configs/boards.yaml`` (file order)."""
    return tuple(load_boards())


def load_board(name: str) -> Board:
    """Load one board by key.

    Args:
        name: Board key such as ``zcu102``.

    Raises:
        ConfigError: The key is unknown (the message lists the known keys).
    """
    boards = load_boards()
    if not isinstance(name, str) or name not in boards:
        raise ConfigError(
            f"board {name!r} is not in {config_dir() / 'boards.yaml'}; "
            f"allowed: {', '.join(boards)}"
        )
    return boards[name]
