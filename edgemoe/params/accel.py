"""Accelerator design points (``configs/accel/<name>.yaml``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .accel_rules import (
    DEFAULT_ROW_SLOTS,
    FORMAT_ROLES,
    KNOWN_OPS,
    MAX_FORMAT_BITS,
    REQUIRED_WEIGHT_FORMATS,
    WEIGHT_FORMATS,
    check_attn_act,
    check_epilogue_lanes,
    check_formats,
    check_ops,
    check_row_slots,
    check_weight_formats,
    default_epilogue_lanes,
)
from .board import Board, load_boards
from .errors import ConfigError, fail
from .files import apply_overrides, list_configs, read_yaml, resolve_config, source_label
from .fixed import FixedType
from .ports import AXI_PORT_CHOICES
from .schema import Reader, require, require_int_range, require_pow2

if TYPE_CHECKING:
    from .fit import FitReport
    from .model import ModelConfig

__all__ = [
    "BUFFER_KEYS",
    "FORMAT_ROLES",
    "KNOWN_OPS",
    "OVERRIDE_KEYS",
    "REQUIRED_WEIGHT_FORMATS",
    "WEIGHT_FORMATS",
    "AccelConfig",
    "Formats",
    "accel_from_mapping",
    "list_accels",
    "load_accel",
]

#: Keys of the ``buffers:`` section.
BUFFER_KEYS = ("max_tokens", "max_in_features", "max_out_features", "max_heads",
               "max_head_dim", "max_experts", "max_top_k", "weight_buffer_words")
#: Optional keys of ``buffers:`` (the op that uses them, their default): part of the design's
#: identity when that op is built or the value is not the default (so design points
#: without them keep their config_id); an op of None: only when not the default.
OPTIONAL_BUFFER_KEYS = {"max_timesteps": ("lif", 1), "conv_line_words": (None, 0)}

_ENGINE_KEYS = ("clock_mhz", "linear_p_in", "linear_p_out", "attn_lanes", "vector_lanes",
                "axi_bits")
_TOP_KEYS = ("board", *_ENGINE_KEYS, "formats", "buffers", "ops")
#: Build switches (default no, attn_act yes; in the identity when not the default, attn_topk
#: always: older config_ids).
_BOOL_KEYS = ("attn_topk", "attn_q8", "attn_act")
_OPTIONAL_KEYS = ("axi_ports", *_BOOL_KEYS, "weight_formats", "linear_epilogue_lanes",
                  "linear_row_slots")
#: The override that builds every weight format (a mixed int4/int8 program's need).
ALL_WEIGHT_FORMATS = f"weight_formats=[{', '.join(WEIGHT_FORMATS)}]"
#: m_axi bundles when a design point does not say (one per traffic class).
DEFAULT_AXI_PORTS = 4
#: Every dotted key ``--set`` accepts.
OVERRIDE_KEYS = ("board", *_ENGINE_KEYS, *_OPTIONAL_KEYS, *(f"formats.{r}" for r in FORMAT_ROLES),
                 *(f"buffers.{k}" for k in (*BUFFER_KEYS, *OPTIONAL_BUFFER_KEYS)), "ops")
_AXI_BITS = (64, 128, 256, 512)
_BUFFER_LIMITS = {"max_tokens": 8192, "max_in_features": 65536, "max_out_features": 65536,
                  "max_heads": 64, "max_head_dim": 1024, "max_experts": 256,
                  "max_top_k": 256, "weight_buffer_words": 1 << 26, "max_timesteps": 256,
                  "conv_line_words": 1 << 24}
_BUFFER_MIN = {"conv_line_words": 0}  # 0: no line buffer


@dataclass(frozen=True)
class Formats:
    """Fixed-point format of every tensor role.

    Attributes:
        act: Activations and accumulated outputs.
        linear_weight: Linear, expert and router weights.
        attn_bias: Q/K/V/projection biases.
        bias: Other biases.
        norm: LayerNorm gamma and beta.
        patch_weight: Patch-embedding weights.
        conv_weight: Convolution (task head) weights.
        pixel: Input pixels.
    """

    act: FixedType
    linear_weight: FixedType
    attn_bias: FixedType
    bias: FixedType
    norm: FixedType
    patch_weight: FixedType
    conv_weight: FixedType
    pixel: FixedType

    def to_dict(self) -> dict[str, str]:
        """Role -> C++ spelling."""
        return {role: getattr(self, role).cpp() for role in FORMAT_ROLES}


@dataclass(frozen=True)
class AccelConfig:
    """A fully resolved, validated accelerator design point.

    Attributes:
        name: Design point name (file stem); not part of ``config_id``.
        board: Target board.
        clock_mhz: Kernel clock.
        linear_p_in: Input-feature parallelism of the linear engine tile.
        linear_p_out: Output-feature parallelism of the linear engine tile.
        attn_lanes: Query rows processed together by the attention engine (p).
        vector_lanes: Elements per cycle of LayerNorm / add.
        axi_bits: Width of the kernel's m_axi data ports.
        formats: Fixed-point formats per tensor role.
        max_tokens: Largest token count (rows) a layer may have.
        max_in_features: Largest linear input row (also conv k*k*C_in lowered rows).
        max_out_features: Largest linear output row.
        max_heads: Most attention heads.
        max_head_dim: Widest attention head.
        max_experts: Most experts per MoE block.
        max_top_k: Most experts per token.
        weight_buffer_words: Weights (``linear_weight`` elements, 16-bit words in the W16
            default) held by ONE of the ping/pong weight buffers.
        ops: Operations built into the hardware, in :data:`KNOWN_OPS` order.
        axi_ports: m_axi masters (bundles) the kernel's four traffic classes spread over,
            each on its own PS high-performance port (edgemoe/params/ports.py); the board
            may offer fewer (see :attr:`m_axi_bundles`).
        attn_topk: Build the top-k attention mode (``Flag.ATTN_TOPK``, docs/attn_topk.md);
            off by default: its per-lane K/V ports and selection unit cost a lot of LUTs.
        attn_q8: Build int8 attention (``Flag.WFMT_Q8`` on ATTENTION, edgemoe.numerics.attn_q8).
        attn_act: Build the act (dense) attention's products and score rescale (default
            yes); false (needs ``attn_q8``): every ATTENTION must be int8 (isa.required_flags)
            and the lanes hold only the int8 products.
        weight_formats: Weight formats built in, in :data:`WEIGHT_FORMATS` order (optional
            key, default all; w16 and q8 always): without ``q4`` the executors refuse
            ``Flag.WFMT_Q4`` (Err.BAD_FLAGS) and the SV top leaves out the int4 strip loader.
        source: Where the config came from (messages only; not part of equality).
        max_timesteps: Most LIF timesteps T; 1 builds the LIF engine without membrane
            state (optional key, default 1).
        conv_line_words: Activation elements of the CONV line buffer, which holds kernel
            rows of an HWC input so each input pixel is read once per strip, not once per
            tap (optional key, default 0: no line buffer; see edgemoe.layout.conv_uses_line).
        linear_epilogue_lanes: Output values the linear engine's epilogue
            (edgemoe_lin_epilogue.sv) finishes per cycle, a power of two dividing
            ``linear_p_out`` (optional key; absent: ``accel_rules.default_epilogue_lanes``).
        linear_row_slots: Input rows the linear engine's loader holds (edgemoe_lin_rows.sv):
            the MAC array works on one while the others fill, so a row's read latency
            spreads over that many tokens (optional key, 2 or 4; absent: 2).
    """

    name: str
    board: Board
    clock_mhz: float
    linear_p_in: int
    linear_p_out: int
    attn_lanes: int
    vector_lanes: int
    axi_bits: int
    formats: Formats
    max_tokens: int
    max_in_features: int
    max_out_features: int
    max_heads: int
    max_head_dim: int
    max_experts: int
    max_top_k: int
    weight_buffer_words: int
    ops: tuple[str, ...]
    axi_ports: int = DEFAULT_AXI_PORTS
    attn_topk: bool = False
    attn_q8: bool = False
    attn_act: bool = True
    weight_formats: tuple[str, ...] = WEIGHT_FORMATS
    source: str = field(default="<AccelConfig>", compare=False, repr=False)
    max_timesteps: int = 1
    conv_line_words: int = 0
    linear_epilogue_lanes: int | None = None  # None: derived (dataclasses.replace keeps it)
    linear_row_slots: int = DEFAULT_ROW_SLOTS

    def __post_init__(self) -> None:
        src = self.source
        require(0.0 < self.clock_mhz <= 1000.0, src, "clock_mhz", self.clock_mhz,
                "is out of range", "a number in (0, 1000]")
        require_pow2(src, "linear_p_in", self.linear_p_in, 1, 64)
        require_pow2(src, "linear_p_out", self.linear_p_out, 1, 64)
        require_int_range(src, "attn_lanes", self.attn_lanes, 1, 32)
        require_pow2(src, "vector_lanes", self.vector_lanes, 1, 64)
        require(self.axi_bits in _AXI_BITS, src, "axi_bits", self.axi_bits,
                "is not a supported m_axi width", ", ".join(map(str, _AXI_BITS)))
        require(self.axi_ports in AXI_PORT_CHOICES, src, "axi_ports", self.axi_ports,
                "is not a number of m_axi bundles", ", ".join(map(str, AXI_PORT_CHOICES)))
        for key in _BOOL_KEYS:
            require(isinstance(getattr(self, key), bool), src, key, getattr(self, key),
                    "is not a boolean", "true or false")
        check_attn_act(self.attn_act, self.attn_q8, self.attn_topk, src)
        check_formats(self.formats, src)
        check_weight_formats(self.weight_formats, src)
        for key in (*BUFFER_KEYS, *OPTIONAL_BUFFER_KEYS):
            require_int_range(src, f"buffers.{key}", getattr(self, key), _BUFFER_MIN.get(key, 1),
                              _BUFFER_LIMITS[key])
        require(self.max_in_features % self.linear_p_in == 0, src, "buffers.max_in_features",
                self.max_in_features, f"is not a multiple of linear_p_in={self.linear_p_in}",
                f"a multiple of {self.linear_p_in}")
        require(self.max_out_features % self.linear_p_out == 0, src, "buffers.max_out_features",
                self.max_out_features, f"is not a multiple of linear_p_out={self.linear_p_out}",
                f"a multiple of {self.linear_p_out}")
        require(self.conv_line_words % self.linear_p_in == 0, src, "buffers.conv_line_words",
                self.conv_line_words, f"is not a multiple of linear_p_in={self.linear_p_in}",
                f"0 or a multiple of {self.linear_p_in}")
        require(self.max_top_k <= self.max_experts, src, "buffers.max_top_k", self.max_top_k,
                f"exceeds buffers.max_experts={self.max_experts}",
                f"an integer in 1..{self.max_experts}")
        tile = self.linear_macs_per_cycle
        strip = self.max_in_features * self.linear_p_out
        require(
            self.weight_buffer_words % tile == 0 and self.weight_buffer_words >= strip,
            src, "buffers.weight_buffer_words", self.weight_buffer_words,
            "cannot hold one output-tile strip of the widest row in whole tiles",
            f"a multiple of linear_p_in*linear_p_out={tile} that is at least "
            f"max_in_features*linear_p_out={strip}",
        )
        check_ops(self.ops, src)
        if self.linear_epilogue_lanes is None:  # absent: derived from the tile
            object.__setattr__(self, "linear_epilogue_lanes",
                               default_epilogue_lanes(self.linear_p_out))
        check_epilogue_lanes(self.linear_epilogue_lanes, self.linear_p_out, src)
        check_row_slots(self.linear_row_slots, src)

    # ----------------------------------------------------------------- derived sizes
    @property
    def linear_macs_per_cycle(self) -> int:
        """Multiply-accumulates per cycle of the linear engine (P_IN x P_OUT)."""
        return self.linear_p_in * self.linear_p_out

    @property
    def linear_epilogue_steps(self) -> int:
        """Cycles the epilogue spends on one output tile; hidden behind the tile's
        ``ceil(K / P_IN)`` MAC cycles while those are at least as many."""
        return self.linear_p_out // self.linear_epilogue_lanes

    @property
    def axi_bytes(self) -> int:
        """Bytes per m_axi beat."""
        return self.axi_bits // 8

    @property
    def m_axi_bundles(self) -> int:
        """m_axi masters the kernel gets: ``axi_ports``, or fewer when the board's PS has
        fewer high-performance slave ports (classes then share bundles)."""
        return min(self.axi_ports, self.board.ps_hp_ports)

    @property
    def act_container_bits(self) -> int:
        """Bits one activation occupies in memory (next power of two >= width, >= 8)."""
        return max(8, 1 << (self.formats.act.width - 1).bit_length())

    @property
    def act_per_beat(self) -> int:
        """Activations per m_axi beat; also the dot width of one attention lane."""
        return self.axi_bits // self.act_container_bits

    @property
    def dsp_estimate(self) -> int:
        """Estimated DSP slices (see :func:`edgemoe.params.fit.estimate`)."""
        return self._estimate().dsp

    @property
    def bram36_estimate(self) -> int:
        """Estimated 36 Kbit block RAMs (see :func:`edgemoe.params.fit.estimate`)."""
        return self._estimate().bram36

    @property
    def weight_buffer_impl(self) -> str:
        """Memory of the ping/pong weight buffers: ``"uram"`` or ``"bram"``: URAM when the
        board has it and both buffers stay within its closure limit."""
        return self._estimate().weight_buffer_impl

    def _estimate(self):
        from .fit import estimate  # (fit imports this module)

        return estimate(self)

    # ----------------------------------------------------------------- identity
    def to_dict(self) -> dict[str, Any]:
        """The resolved design point as nested JSON-ready data (YAML layout + board)."""
        out: dict[str, Any] = {"name": self.name, "board": self.board.to_dict()}
        for key in _ENGINE_KEYS:
            out[key] = getattr(self, key)
        out["formats"] = self.formats.to_dict()
        out["buffers"] = {key: getattr(self, key) for key in BUFFER_KEYS}
        for key, (op, default) in OPTIONAL_BUFFER_KEYS.items():
            if (op is not None and op in self.ops) or getattr(self, key) != default:
                out["buffers"][key] = getattr(self, key)
        out["ops"] = list(self.ops)
        out["axi_ports"] = self.axi_ports
        out["attn_topk"] = self.attn_topk
        if self.attn_q8:  # (design points without it keep their id)
            out["attn_q8"] = True
        if not self.attn_act:  # (as above)
            out["attn_act"] = False
        if self.weight_formats != WEIGHT_FORMATS:  # (design points building all keep their id)
            out["weight_formats"] = list(self.weight_formats)
        if self.linear_epilogue_lanes != default_epilogue_lanes(self.linear_p_out):  # (as above)
            out["linear_epilogue_lanes"] = self.linear_epilogue_lanes
        if self.linear_row_slots != DEFAULT_ROW_SLOTS:  # (as above)
            out["linear_row_slots"] = self.linear_row_slots
        return out

    def canonical_json(self) -> str:
        """Sorted, compact JSON of everything that defines the hardware.

        The name is left out: two files describing the same hardware share an id.
        """
        data = self.to_dict()
        del data["name"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @property
    def config_id(self) -> str:
        """8 hex digits: the first 32 bits of sha256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()[:8]

    @property
    def config_id_int(self) -> int:
        """:attr:`config_id` as an unsigned 32-bit integer (the register value)."""
        return int(self.config_id, 16)

    # ----------------------------------------------------------------- checks
    def retarget(self, board: Board | str) -> AccelConfig:
        """The same design point on another board (key or :class:`Board`)."""
        if isinstance(board, str):
            boards = load_boards()
            if board not in boards:
                raise ConfigError(f"board {board!r} is unknown; allowed: {', '.join(boards)}")
            board = boards[board]
        return dataclasses.replace(self, board=board)

    def fit_report(self, measured: dict[str, int] | None = None) -> FitReport:
        """Resource estimate against the board (see :func:`edgemoe.params.fit.fit_report`)."""
        from .fit import fit_report

        return fit_report(self, measured)

    def check_fit(self, measured: dict[str, int] | None = None) -> FitReport:
        """Like :meth:`fit_report` but raise ConfigError when a resource exceeds the closure
        limit (the message names it and what to shrink)."""
        report = self.fit_report(measured)
        if not report.fits:
            raise ConfigError(f"{self.source}: {report.message}")
        return report

    def model_problems(self, model: ModelConfig) -> tuple[str, ...]:
        """Reasons why ``model`` cannot run on this design point (empty when it can)."""
        from .model_fit import model_problems  # (model_fit imports this module)
        return model_problems(self, model)

    def check_model(self, model: ModelConfig) -> None:
        """Raise :class:`ConfigError` listing every reason ``model`` cannot run here."""
        problems = self.model_problems(model)
        if problems:
            raise ConfigError(f"{self.source}: model {model.name} does not run on design "
                              f"point {self.name}: " + "; ".join(problems))


def _parse_format(value: object, key: str, reader: Reader) -> FixedType:
    text = reader.string(value, key)
    try:
        return FixedType.parse(text)
    except ValueError as exc:
        raise fail(reader.source, key, text, f"is not a valid fixed-point type ({exc})",
                   f"ap_fixed<W,I> (W 1..{MAX_FORMAT_BITS}) or ap_ufixed<W,I> with optional "
                   "quantization and overflow modes, e.g. ap_fixed<16,2,AP_RND,AP_SAT>") from None


def accel_from_mapping(doc: object, name: str, source: str) -> AccelConfig:
    """Build an :class:`AccelConfig` from a parsed YAML document.

    Raises:
        ConfigError: A key is unknown, missing, of the wrong type or out of range, or the
            board is unknown.
    """
    reader = Reader(source)
    data = reader.mapping(doc, "", _TOP_KEYS, _OPTIONAL_KEYS)
    board_key = reader.string(data["board"], "board")
    boards = load_boards()
    if board_key not in boards:
        raise fail(source, "board", board_key, "is not a known board",
                   ", ".join(boards) + " (configs/boards.yaml)")
    values: dict[str, Any] = {"clock_mhz": reader.number(data["clock_mhz"], "clock_mhz")}
    for key in _ENGINE_KEYS[1:]:
        values[key] = reader.integer(data[key], key)
    fmt_node = reader.mapping(data["formats"], "formats", FORMAT_ROLES)
    formats = Formats(**{r: _parse_format(fmt_node[r], f"formats.{r}", reader)
                         for r in FORMAT_ROLES})
    buf_node = reader.mapping(data["buffers"], "buffers", BUFFER_KEYS, OPTIONAL_BUFFER_KEYS)
    for key in BUFFER_KEYS:
        values[key] = reader.integer(buf_node[key], f"buffers.{key}")
    for key, (_, default) in OPTIONAL_BUFFER_KEYS.items():
        values[key] = reader.integer(buf_node.get(key, default), f"buffers.{key}")
    ops = [reader.string(v, f"ops[{i}]") for i, v in enumerate(reader.seq(data["ops"], "ops"))]
    require(bool(ops), source, "ops", ops, "is empty", "a list of " + ", ".join(KNOWN_OPS))
    for op in ops:
        require(op in KNOWN_OPS, source, "ops", op, "is not an op with an opcode",
                ", ".join(KNOWN_OPS))
    if len(set(ops)) == len(ops):
        ops = sorted(ops, key=KNOWN_OPS.index)
    for key in ("axi_ports", "linear_epilogue_lanes", "linear_row_slots"):
        if key in data:
            values[key] = reader.integer(data[key], key)
    for key in _BOOL_KEYS:
        if key in data:
            values[key] = data[key]  # type-checked in __post_init__
    if "weight_formats" in data:
        wf = [reader.string(v, f"weight_formats[{i}]")
              for i, v in enumerate(reader.seq(data["weight_formats"], "weight_formats"))]
        if len(set(wf)) == len(wf) and set(wf) <= set(WEIGHT_FORMATS):
            wf = sorted(wf, key=WEIGHT_FORMATS.index)
        values["weight_formats"] = tuple(wf)
    return AccelConfig(name=name, board=boards[board_key], formats=formats, ops=tuple(ops),
                       source=source, **values)


def load_accel(name_or_path: str, overrides: Sequence[str] = ()) -> AccelConfig:
    """Load an accelerator design point.

    Args:
        name_or_path: A name in ``configs/accel/`` (``edge-moe-zcu102``) or a YAML path.
        overrides: ``"key=value"`` strings applied on top of the file, e.g.
            ``"linear_p_in=8"``, ``"formats.act=ap_fixed<24,8>"``, ``"buffers.max_tokens=64"``,
            ``"board=kv260"``. Values are parsed as YAML and validated like the file.

    Returns:
        The validated, frozen design point (fit is not checked: call ``check_fit()``).

    Raises:
        ConfigError: The file or an override is invalid.
    """
    name, path = resolve_config("accel", name_or_path)
    source = source_label(path, overrides)
    doc = read_yaml(path, source)
    doc = apply_overrides(doc, overrides, OVERRIDE_KEYS, source)
    return accel_from_mapping(doc, name, source)


def list_accels() -> tuple[str, ...]:
    """Names of the design points in ``configs/accel/``."""
    return list_configs("accel")
