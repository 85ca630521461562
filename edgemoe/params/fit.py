"""Resource estimate of a design point and the fit check against its board.

The estimate is a transparent, deliberately simple model (no synthesis): it counts the
multipliers and memories each engine instantiates and maps them onto DSP slices and
block RAMs. Assumptions, all visible in :func:`estimate`:

* DSP per multiplier from operand widths: DSP48E2 has a 27x18 signed multiplier
  (DSP48E1: 25x18); wider operands are split into (port-1)-bit unsigned limbs, so
  W16A32 costs 2 DSP and A32xA32 costs 4 (:func:`dsp_per_multiplier`). The linear
  multipliers' W8A8 mode packs two int8 products into one of those DSPs (two int8 MACs
  per multiplier, no extra DSP: edgemoe_lin_dot.sv, perf.report's int8 roofline); no LUT
  multipliers.
* Linear engine: ``linear_p_in*linear_p_out`` act x weight multipliers, plus per epilogue
  lane (``linear_epilogue_lanes``: the output lanes it quantizes per cycle) one GELU
  interpolation DSP, the W8A8 channel multiplier (int32 sum x int32, every design builds
  W8A8) and (with ``moe_experts``) one act x act score scale.
* Attention: QK^T and AV are separate datapaths of ``attn_lanes`` lanes, each lane a dot
  of ``act_per_beat`` act x act products (8 for Edge-MoE), plus exp and reciprocal
  multipliers per lane; an on-chip score buffer of ``max_tokens`` rows per lane (two banks)
  and the K and V memories of one head (``max_tokens`` x ``max_head_dim`` each); each
  lane's Q row and AV accumulators (two banks each) are a few words: LUT RAM, which the
  calibrated LUT count carries; with ``attn_q8`` the int8 attention's products, rescales
  and quantizers (fit_attn_q8); without ``attn_act`` no act products (int8 only).
* Vector unit (LayerNorm): per lane x*x, x*rstd (act x act) and *gamma (act x norm).
* Memories: BRAM36 count is the best aspect ratio 512x72 ... 32Kx1 of each array; the
  ping+pong weight buffers (``linear_p_in*linear_p_out`` weights wide) go to URAM
  (4Kx72) when the board has URAM and they stay within its closure limit.
* LUT: per product, a limb-combining adder plus half an accumulator-wide adder; fixed
  costs per op (``OpSpec.lut``: logic beyond its engine), dispatcher and DMAs; FF = 1.3 x LUT.
* An engine is counted when a built op runs on it or starts it (``ops.engines_built``).

``rtl=True`` calibrates LUT/FF/DSP per component to Yosys counts of the SystemVerilog
modules (edgemoe.params.fit_calibration): the SV top is 2-3x the physical model.
Closure limits are FINN's: LUT <= 70 %, FF <= 50 %, BRAM36/URAM/DSP <= 80 %. An RTL
flow may pass yosys or Vivado counts as ``measured`` to replace the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..isa import LIF_LEAK_FRAC
from ..ops import OP_SPECS, engines_built
from .errors import ConfigError
from .fit_attn_q8 import add_attn_q8

if TYPE_CHECKING:
    from .accel import AccelConfig

__all__ = [
    "LIMIT_PERCENT",
    "RESOURCES",
    "RTL_AXI_MASTERS",
    "Estimate",
    "FitReport",
    "ResourceUse",
    "bram36_blocks",
    "dsp_per_multiplier",
    "estimate",
    "fit_report",
    "physical_items",
    "uram_blocks",
]

#: Resource names, in report order.
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "URAM")
#: FINN's closure limits, percent of the board.
LIMIT_PERCENT = {"LUT": 70, "FF": 50, "DSP": 80, "BRAM36": 80, "URAM": 80}
_BOARD_FIELD = {"LUT": "lut", "FF": "ff", "DSP": "dsp", "BRAM36": "bram36", "URAM": "uram"}
_DSP_PORTS = {"zynquplus": (27, 18), "zynq7": (25, 18)}
_BRAM_SHAPES = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2),
                (32768, 1))
_FF_PER_LUT = 1.3


def _limbs(bits: int, port: int) -> int:
    return 1 if bits <= port else 1 + math.ceil((bits - port) / (port - 1))


def dsp_per_multiplier(a_bits: int, b_bits: int, family: str = "zynquplus") -> int:
    """DSP slices for one signed ``a_bits x b_bits`` multiplier.

    Examples (DSP48E2): 16x16 -> 1, 32x16 -> 2, 32x32 -> 4.
    """
    big, small = _DSP_PORTS[family]
    return min(_limbs(a_bits, big) * _limbs(b_bits, small),
               _limbs(b_bits, big) * _limbs(a_bits, small))


def bram36_blocks(depth: int, width: int) -> int:
    """BRAM36 blocks for a ``depth x width`` memory at its best aspect ratio."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in _BRAM_SHAPES)


def uram_blocks(depth: int, width: int) -> int:
    """URAM288 blocks (4096 x 72) for a ``depth x width`` memory."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(width / 72) * math.ceil(depth / 4096)


@dataclass(frozen=True)
class Estimate:
    """Estimated resources of a design point.

    Attributes:
        lut, ff, dsp, bram36, uram: Totals.
        breakdown: ``(component, resource, amount)`` for every non-zero contribution.
        weight_buffer_impl: ``"uram"`` or ``"bram"``: where the weight buffers live.
    """

    lut: int
    ff: int
    dsp: int
    bram36: int
    uram: int
    breakdown: tuple[tuple[str, str, int], ...]
    weight_buffer_impl: str

    def total(self, resource: str) -> int:
        """Total of one resource name of :data:`RESOURCES`."""
        return int(getattr(self, _BOARD_FIELD[resource]))

    def by_component(self, resource: str) -> dict[str, int]:
        """Component -> amount of one resource, largest first."""
        parts: dict[str, int] = {}
        for comp, res, amount in self.breakdown:
            if res == resource:
                parts[comp] = parts.get(comp, 0) + amount
        return dict(sorted(parts.items(), key=lambda kv: -kv[1]))


def physical_items(accel: AccelConfig, masters: int | None = None
                   ) -> tuple[list[tuple[str, str, int]], str]:
    """The physical model's ``(component, resource, amount)`` items and where the weight
    buffers live (see the module docstring), with ``masters`` AXI masters (default: the
    HLS kernel's ``m_axi_bundles``)."""
    fam = accel.board.family
    f = accel.formats
    act, cont = f.act.width, accel.act_container_bits
    d_aw = dsp_per_multiplier(act, f.linear_weight.width, fam)
    d_aa = dsp_per_multiplier(act, act, fam)
    ops = set(accel.ops)
    engines = set(engines_built(ops))
    items: list[tuple[str, str, int]] = []

    def add(comp: str, res: str, amount: float) -> None:
        if amount > 0:
            items.append((comp, res, math.ceil(amount)))

    # Linear engine (always built: every op that multiplies weights lowers onto it).
    macs, p_out = accel.linear_macs_per_cycle, accel.linear_p_out
    epi = accel.linear_epilogue_lanes
    acc = act + f.linear_weight.width + max(1, (accel.max_in_features - 1).bit_length())
    d_q8 = dsp_per_multiplier(32, 32, fam)  # edgemoe_lin_epilogue's a32 * m32 (numerics.int8)
    add("linear", "DSP", macs * d_aw + epi * (1 + d_q8)
        + (epi * d_aa if "moe_experts" in ops else 0))
    lut_aw = (d_aw - 1) * (act + f.linear_weight.width) + acc // 2  # limb combine + tree
    # a serial epilogue also picks each lane's 64-bit sum from its group (one LUT a bit)
    pick = p_out * 64 if accel.linear_epilogue_steps > 1 else 0
    add("linear", "LUT", macs * lut_aw + epi * 400 + pick + 2000)
    depth = accel.weight_buffer_words // macs
    width = macs * f.linear_weight.width
    wb_bram, wb_uram = 2 * bram36_blocks(depth, width), 2 * uram_blocks(depth, width)
    impl = "bram"
    if accel.board.uram > 0 and wb_uram <= accel.board.uram * LIMIT_PERCENT["URAM"] / 100:
        impl = "uram"
        add("weight_buffers", "URAM", wb_uram)
    else:
        add("weight_buffers", "BRAM36", wb_bram)
    # one input row a row slot (edgemoe_lin_rows.sv), P_IN activations a word
    add("input_row", "BRAM36", accel.linear_row_slots * bram36_blocks(
        accel.max_in_features // accel.linear_p_in, accel.linear_p_in * cont))
    if accel.conv_line_words:  # kernel rows of a CONV input, P_IN activations a word
        add("conv_line", "BRAM36", bram36_blocks(accel.conv_line_words // accel.linear_p_in,
                                                 accel.linear_p_in * cont))
    bias_bits = max(f.bias.width, f.attn_bias.width)
    add("linear", "BRAM36", bram36_blocks(accel.max_out_features // p_out, p_out * bias_bits))
    # WFMT_Q4's strip loader (edgemoe_lin_q4.sv, every SV top; RTL_ONLY): counters and read
    # addresses, the channel -> part row table, a lane's write (a 2:1 select per weight bit
    # and the byte enables), (u - z) * e and three narrow products; the group parameters
    rows = accel.max_out_features + p_out
    if "q4" in accel.weight_formats:  # (a design point may leave it out: weight_formats)
        add("linear_q4", "LUT", 1800 + macs * f.linear_weight.width * 5 // 8
            + rows * rows.bit_length() // 8)
        add("linear_q4", "DSP", 5)
        add("linear_q4", "BRAM36", bram36_blocks(accel.max_in_features + accel.linear_p_in, 16))

    if "attn" in engines:
        lanes, dot = accel.attn_lanes, accel.act_per_beat
        acc_a = 2 * act + max(1, (accel.max_head_dim - 1).bit_length())
        lut_aa = (d_aa - 1) * 2 * act + acc_a // 2
        # the act QK^T and AV products only where the act mode is built (attn_act); the
        # per-lane softmax (exp, reciprocal) and control serve the int8 mode too
        products = 2 * lanes * dot if accel.attn_act else 0
        add("attention", "DSP", products * d_aa + 2 * lanes * d_aa)
        add("attention", "LUT", products * lut_aa + lanes * 1500 + 3000)
        row_depth = math.ceil(accel.max_heads * accel.max_head_dim / dot)
        add("attention", "BRAM36", (lanes + 1) * bram36_blocks(row_depth, dot * cont))
        add("attention", "BRAM36", bram36_blocks(accel.max_tokens, lanes * accel.max_heads * cont))
        add("attention", "BRAM36", bram36_blocks(accel.max_tokens * accel.max_heads, 2 * cont))
        # fused attention (edgemoe_attn.sv): K and V of one head on chip, a beat wide, and
        # the second bank of the lanes' scores (QK^T of a block beside AV of the last)
        kv_depth = accel.max_tokens * math.ceil(accel.max_head_dim / dot)
        add("attention", "BRAM36", 2 * bram36_blocks(kv_depth, dot * cont))
        add("attention", "BRAM36", bram36_blocks(accel.max_tokens, lanes * cont))

        add_attn_q8(accel, lambda a, b: dsp_per_multiplier(a, b, fam), add)  # (fit_attn_q8)

    vl = accel.vector_lanes
    if "ln" in engines:
        add("layernorm", "DSP",
            vl * (2 * d_aa + dsp_per_multiplier(act, f.norm.width, fam)) + 2 * d_aa)
        add("layernorm", "BRAM36", bram36_blocks(math.ceil(accel.max_out_features / vl),
                                                 vl * (2 * f.norm.width + cont)))
        add("layernorm", "LUT", vl * cont * 12 + 1500)
    if "eltwise" in engines:  # per lane bit: the sum, its overflow check and the chunk
        # buffer in LUT RAM (Yosys: about 700 LUT a lane)
        add("vector", "LUT", vl * cont * 22)
    if "upsample" in engines:  # per lane: the vertical blend, the near / far select, 3 V + V
        blend, words = vl * (act + 2), math.ceil(accel.max_in_features / vl)
        add("upsample", "LUT", blend * 6)
        add("upsample", "BRAM36", bram36_blocks(words, blend) + 2 * bram36_blocks(2 * words, blend))

    if "pool" in engines:  # per lane: max / sum row (64-bit), gate row, two multipliers
        add("pool", "DSP", vl * (dsp_per_multiplier(act, act, fam)
                                 + dsp_per_multiplier(64, 32, fam)))
        add("pool", "BRAM36", bram36_blocks(math.ceil(accel.max_in_features / vl),
                                            vl * (64 + act)))
        # per lane: the 64-bit max / sum update, the mean's 96-bit product rounded by a
        # variable shift with its sticky bit, the SCALE product's quantization (Yosys:
        # about 3k LUT a lane)
        add("pool", "LUT", vl * 64 * 24)

    if "router" in engines:
        idx_bits = max(1, accel.max_tokens.bit_length())
        add("moe_gate", "DSP", 2 * d_aa)
        add("moe_gate", "LUT", 3000 + accel.max_experts * 40)
        add("moe_gate", "BRAM36", bram36_blocks(accel.max_experts * accel.max_tokens,
                                                idx_bits + cont))
    if "lif" in engines:
        # add-only lanes: P_OUT x P_IN weight muxes into adder trees and P_OUT quantize /
        # compare lanes, no multiplier; the leak multiplier only when T > 1 is built
        add("lif", "LUT", macs * (f.linear_weight.width + 8) + p_out * 400)
        if accel.max_timesteps > 1:
            add("lif", "DSP", p_out * dsp_per_multiplier(act, LIF_LEAK_FRAC + 2, fam))
    for spec in OP_SPECS.values():  # an op's own logic sits in its engine's module
        if spec.lut and spec.op.name.lower() in ops:
            add(_ENGINE_COMPONENT.get(spec.engine, spec.op.name.lower()), "LUT", spec.lut)

    # Shared numerics tables (exp, reciprocal, rsqrt, GELU).
    add("tables", "BRAM36", 4)
    add("tables", "LUT", 2000)
    # dispatcher + checker (per-expert counts, per-token seen bits), DMAs (two readers:
    # activations, weight prefetch; one writer), m_axi FIFOs
    add("control", "LUT", 6000 + 32 * accel.max_experts + accel.max_tokens)
    # (bus byte shifters; the writer's word-to-beat select; the reader's word register
    # loads and clears a beat slot at a time through flip-flop enable / reset pins)
    from ..codegen.constants import design_constants  # (codegen imports this module)
    shift = accel.axi_bits * 3 * (accel.axi_bytes.bit_length() - 1)
    word_max = dict(design_constants(accel))["WORD_MAX"]
    add("read_dma", "LUT", 2 * shift)
    add("write_dma", "LUT", shift + 2 * word_max)
    masters = accel.m_axi_bundles if masters is None else masters
    add("platform", "LUT", masters * accel.axi_bits * 6)  # per master
    add("platform", "BRAM36", masters * bram36_blocks(256, accel.axi_bits))
    return items, impl


#: Engine (edgemoe.ops) -> the component that holds its ops' own logic.
_ENGINE_COMPONENT = {"lin": "linear", "attn": "attention", "ln": "layernorm",
                     "eltwise": "vector", "router": "moe_gate"}


#: AXI masters of the SV top (edgemoe_top's one m_axi_mem; the HLS kernel has one per bundle).
RTL_AXI_MASTERS = 1

#: Components counted only in the SV top's estimate: WFMT_Q4's strip loader is measured
#: there (edgemoe_lin_q4.sv, Yosys); the HLS kernel's (lin_load_q4) is not (no Vitis here).
RTL_ONLY = ("linear_q4",)


def estimate(accel: AccelConfig, rtl: bool = False, masters: int | None = None) -> Estimate:
    """Estimate LUT, FF, DSP, BRAM36 and URAM of a design point (see module docstring).

    Args:
        accel: The design point.
        rtl: Estimate the SV top instead: LUT/FF/DSP of each component with Yosys counts
            of its module calibrated to them (edgemoe.params.fit_calibration); the others
            and memories keep the physical model.
        masters: AXI masters counted (default: the HLS kernel's ``m_axi_bundles``, and
            with ``rtl`` the SV top's :data:`RTL_AXI_MASTERS`); ``edgemoe explore`` passes
            the ports its latency is modelled on.
    """
    if masters is None and rtl:
        masters = RTL_AXI_MASTERS
    raw, impl = physical_items(accel, masters)
    if not rtl:
        raw = [item for item in raw if item[0] not in RTL_ONLY]
        totals = {r: sum(a for _, res, a in raw if res == r) for r in RESOURCES}
        totals["FF"] = math.ceil(totals["LUT"] * _FF_PER_LUT)
        return Estimate(lut=totals["LUT"], ff=totals["FF"], dsp=totals["DSP"],
                        bram36=totals["BRAM36"], uram=totals["URAM"],
                        breakdown=tuple(raw) + (("all", "FF", totals["FF"]),),
                        weight_buffer_impl=impl)
    from .fit_calibration import CALIBRATED, calibration, physical_counts

    lines = calibration()
    phys = physical_counts(raw)
    items = [(c, r, a) for c, r, a in raw if (c, r) not in lines]
    for comp, counts in phys.items():
        for res in CALIBRATED:
            line = lines.get((comp, res))
            if line is not None:
                amount = math.ceil(line(counts.get("LUT" if res == "FF" else res, 0)))
                if amount > 0:
                    items.append((comp, res, amount))
            elif res == "FF" and counts.get("LUT"):
                items.append((comp, "FF", math.ceil(counts["LUT"] * _FF_PER_LUT)))
    totals = {r: sum(a for _, res, a in items if res == r) for r in RESOURCES}
    return Estimate(lut=totals["LUT"], ff=totals["FF"], dsp=totals["DSP"],
                    bram36=totals["BRAM36"], uram=totals["URAM"], breakdown=tuple(items),
                    weight_buffer_impl=impl)


@dataclass(frozen=True)
class ResourceUse:
    """Use of one resource against the board.

    Attributes:
        name: One of :data:`RESOURCES`.
        used: Estimated or measured count.
        available: Count on the board.
        limit_percent: Closure limit in percent of ``available``.
        measured: True when ``used`` came from a tool report, not the estimate.
    """

    name: str
    used: int
    available: int
    limit_percent: int
    measured: bool = False

    @property
    def percent(self) -> float:
        """``used`` in percent of ``available`` (inf when the board has none but some is used)."""
        if self.available == 0:
            return 0.0 if self.used == 0 else math.inf
        return 100.0 * self.used / self.available

    @property
    def limit(self) -> int:
        """Largest count within the closure limit."""
        return self.available * self.limit_percent // 100

    @property
    def ok(self) -> bool:
        """True when ``used`` is within the closure limit."""
        return self.used * 100 <= self.available * self.limit_percent


_ADVICE = {
    "linear": "linear_p_in*linear_p_out (now {p_in}x{p_out})",
    "linear_q4": "linear_p_in*linear_p_out (now {p_in}x{p_out})",
    "weight_buffers": "buffers.weight_buffer_words (now {wbw}) or linear_p_in*linear_p_out",
    "input_row": "buffers.max_in_features (now {max_in}), linear_p_in or linear_row_slots "
                 "(now {slots})",
    "conv_line": "buffers.conv_line_words (now {line})",
    "attention": "attn_lanes (now {lanes})",
    "attention_q8": "attn_lanes (now {lanes}) or attn_q8",
    "vector": "vector_lanes (now {vl})",
    "layernorm": "vector_lanes (now {vl})",
    "pool": "vector_lanes (now {vl})",
    "upsample": "vector_lanes (now {vl})",
    "control": "buffers.max_experts*max_tokens (now {experts}x{tokens})",
    "read_dma": "axi_bits (now {axi})", "write_dma": "axi_bits (now {axi})",
    "moe_gate": "buffers.max_experts*max_tokens (now {experts}x{tokens})",
    "platform": "axi_bits (now {axi})",
    "tables": "the ops list",
    "all": "linear_p_in*linear_p_out (now {p_in}x{p_out}) or attn_lanes (now {lanes})",
}


@dataclass(frozen=True)
class FitReport:
    """Resource use of a design point on its board.

    Attributes:
        design: Design point name.
        board: Board key.
        resources: One :class:`ResourceUse` per name in :data:`RESOURCES`.
        fits: True when every resource is within its closure limit.
        message: One line; when it does not fit, names each resource over its limit
            and what to shrink.
        estimate: The underlying estimate (with its per-component breakdown).
    """

    design: str
    board: str
    resources: tuple[ResourceUse, ...]
    fits: bool
    message: str
    estimate: Estimate

    def __getitem__(self, name: str) -> ResourceUse:
        for use in self.resources:
            if use.name == name.upper():
                return use
        raise KeyError(f"{name!r} is not a resource; allowed: {', '.join(RESOURCES)}")

    @property
    def worst(self) -> ResourceUse:
        """The resource closest to (or furthest over) its limit."""
        return max(self.resources, key=lambda u: u.percent / u.limit_percent)


def _normalise_measured(measured: Mapping[str, int] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in (measured or {}).items():
        name = str(key).upper()
        if name not in RESOURCES:
            raise ConfigError(f"measured resource {key!r} is unknown; allowed: "
                              + ", ".join(r.lower() for r in RESOURCES))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"measured {key} = {value!r} is not a count; "
                              "allowed: a non-negative integer")
        out[name] = value
    return out


def fit_report(accel: AccelConfig, measured: Mapping[str, int] | None = None,
               rtl: bool = False, masters: int | None = None) -> FitReport:
    """Compare a design point's resources with its board's closure limits.

    Args:
        accel: The design point (its ``board`` is the target).
        measured: Optional tool counts (keys ``lut``, ``ff``, ``dsp``, ``bram36``,
            ``uram``, any case) that replace the estimate for those resources.
        rtl: Use the Yosys-calibrated estimate of the SystemVerilog top
            (:func:`estimate` ``rtl=True``).
        masters: AXI masters counted (:func:`estimate`).

    Returns:
        The report; ``message`` says what to shrink when it does not fit.

    Raises:
        ConfigError: ``measured`` has an unknown key or a value that is not a count.
    """
    est = estimate(accel, rtl, masters)
    meas = _normalise_measured(measured)
    uses = tuple(
        ResourceUse(name=r, used=meas.get(r, est.total(r)),
                    available=getattr(accel.board, _BOARD_FIELD[r]),
                    limit_percent=LIMIT_PERCENT[r], measured=r in meas)
        for r in RESOURCES
    )
    bad = [u for u in uses if not u.ok]
    knobs = {"p_in": accel.linear_p_in, "p_out": accel.linear_p_out,
             "wbw": accel.weight_buffer_words, "line": accel.conv_line_words, "max_in": accel.max_in_features,
             "lanes": accel.attn_lanes, "vl": accel.vector_lanes, "axi": accel.axi_bits,
             "experts": accel.max_experts, "tokens": accel.max_tokens,
             "slots": accel.linear_row_slots}
    where = f"design {accel.name} on {accel.board.key}"
    if not bad:
        shown = ", ".join(f"{u.name} {u.percent:.0f}%" for u in uses)
        return FitReport(accel.name, accel.board.key, uses, True, f"{where} fits: {shown}", est)
    parts = []
    for u in bad:
        comps = list(est.by_component("LUT" if u.name == "FF" else u.name)) or ["all"]
        advice = " or ".join(dict.fromkeys(_ADVICE.get(c, _ADVICE["all"]).format(**knobs)
                                           for c in comps[:2]))
        parts.append(f"{u.name} {u.used} > {u.limit_percent}% of {u.available} ({u.limit}): "
                     f"reduce {advice}")
    return FitReport(accel.name, accel.board.key, uses, False,
                     f"{where} does not fit: " + "; ".join(parts), est)
