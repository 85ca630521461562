"""Resource estimate, the fit check against every board, and the design-point report."""

from __future__ import annotations

import math

import pytest

from edgemoe.params import ConfigError, FitReport, fit_report, list_boards, load_accel
from edgemoe.params.fit import bram36_blocks, dsp_per_multiplier, estimate, uram_blocks
from edgemoe.params.fit_calibration import calibration
from edgemoe.params.report import describe_all

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("a,b,family,expected", [
    (16, 16, "zynquplus", 1),   # W16A16: one DSP48E2
    (32, 16, "zynquplus", 2),   # W16A32 (Edge-MoE): two DSP48 each
    (32, 16, "zynq7", 2),
    (32, 32, "zynquplus", 4),   # A32 x A32 (attention)
    (27, 18, "zynquplus", 1),   # exactly the DSP48E2 27x18 multiplier
    (18, 27, "zynquplus", 1),
    (28, 18, "zynquplus", 2),
    (25, 18, "zynq7", 1),       # DSP48E1 is 25x18
    (26, 18, "zynq7", 2),
    (8, 8, "zynq7", 1),
])
def test_dsp_per_multiplier(a: int, b: int, family: str, expected: int) -> None:
    assert dsp_per_multiplier(a, b, family) == expected


@pytest.mark.parametrize("depth,width,expected", [
    (512, 72, 1), (1024, 36, 1), (2048, 18, 1), (32768, 1, 1),
    (513, 72, 2), (1024, 37, 2), (1, 1, 1), (0, 16, 0),
    (576, 4096, 114),   # Edge-MoE ping (or pong) buffer: 576 x 4096 bit = 2.36 Mbit
])
def test_bram36_blocks(depth: int, width: int, expected: int) -> None:
    assert bram36_blocks(depth, width) == expected


def test_uram_blocks() -> None:
    assert (uram_blocks(4096, 72), uram_blocks(4097, 72), uram_blocks(100, 73)) == (1, 2, 2)


def test_edge_moe_estimate_is_sane() -> None:
    a = load_accel("edge-moe-zcu102")
    report = a.fit_report()
    assert isinstance(report, FitReport) and report.fits
    # At least the 256 W16A32 linear MACs (2 DSP each) and the QK^T + AV lanes
    # (2 passes x 4 lanes x 8-element dots x 4 DSP).
    assert a.dsp_estimate >= 256 * 2 + 2 * 4 * 8 * 4
    # Two 576 x 4096-bit weight buffers (114 BRAM36 each) at least.
    assert a.bram36_estimate >= 2 * 114
    assert report["dsp"].used == a.dsp_estimate and report["DSP"].available == 2520
    assert report.estimate.weight_buffer_impl == "bram"
    assert "fits" in report.message


def test_edge_moe_does_not_fit_pynq_z2() -> None:
    accel = load_accel("edge-moe-zcu102").retarget("pynq-z2")
    report = fit_report(accel)
    assert not report.fits
    assert not report["DSP"].ok and not report["BRAM36"].ok
    msg = report.message
    assert "pynq-z2" in msg and "does not fit" in msg
    assert f"DSP {report['DSP'].used} > 80% of 220 (176): reduce linear_p_in*linear_p_out " \
           "(now 16x16) or attn_lanes (now 4)" in msg
    assert "BRAM36" in msg and "buffers.weight_buffer_words" in msg
    with pytest.raises(ConfigError, match="DSP .* > 80% of 220"):
        accel.check_fit()


def test_limits_are_finn_closure_limits() -> None:
    report = load_accel("tiny").fit_report()
    limits = {u.name: u.limit_percent for u in report.resources}
    assert limits == {"LUT": 70, "FF": 50, "DSP": 80, "BRAM36": 80, "URAM": 80}


def test_measured_counts_override_the_estimate() -> None:
    accel = load_accel("edge-moe-zcu102")
    at_limit = accel.fit_report(measured={"dsp": 2016})   # exactly 80 % of 2520
    assert at_limit.fits and at_limit["DSP"].measured and at_limit["DSP"].used == 2016
    assert not at_limit["LUT"].measured
    over = fit_report(accel, {"DSP": 2017, "lut": 10})
    assert not over.fits and over["LUT"].used == 10
    assert "DSP 2017 > 80% of 2520 (2016)" in over.message
    no_uram = accel.fit_report(measured={"uram": 1})     # the ZCU102 has no URAM
    assert not no_uram.fits and "URAM 1 > 80% of 0 (0)" in no_uram.message
    with pytest.raises(ConfigError, match="'dsps' is unknown; allowed: lut, ff, dsp"):
        accel.fit_report(measured={"dsps": 1})
    with pytest.raises(ConfigError, match="not a count"):
        accel.fit_report(measured={"dsp": -1})


def test_estimate_grows_with_engines() -> None:
    base = load_accel("edge-moe-zcu102")
    wider = load_accel("edge-moe-zcu102", ["linear_p_out=32", "buffers.max_out_features=768"])
    assert wider.dsp_estimate > base.dsp_estimate
    more_lanes = load_accel("edge-moe-zcu102", ["attn_lanes=8"])
    assert more_lanes.dsp_estimate > base.dsp_estimate
    bigger = load_accel("edge-moe-zcu102", ["buffers.weight_buffer_words=294912"])
    assert bigger.bram36_estimate > base.bram36_estimate
    narrow = load_accel("edge-moe-zcu102", ["formats.act=ap_fixed<18,6>"])
    assert narrow.dsp_estimate < base.dsp_estimate
    fewer_ops = load_accel("edge-moe-zcu102", ["ops=[linear, add]"])
    assert fewer_ops.dsp_estimate < base.dsp_estimate
    assert fewer_ops.fit_report()["LUT"].used < base.fit_report()["LUT"].used


def test_uram_holds_weight_buffers_when_the_board_has_it() -> None:
    kv = load_accel("kv260")
    report = kv.fit_report()
    assert report.estimate.weight_buffer_impl == "uram" and report["URAM"].used > 0
    on_zcu102 = kv.retarget("zcu102").fit_report()
    assert on_zcu102.estimate.weight_buffer_impl == "bram" and on_zcu102["URAM"].used == 0
    assert on_zcu102["BRAM36"].used > report["BRAM36"].used


def test_describe_all_covers_every_design_and_board() -> None:
    text = describe_all()
    for name in ("edge-moe-zcu102", "tiny", "zcu104", "kv260", "pynq-z2", "ultra96-v2"):
        accel = load_accel(name)
        assert accel.config_id in text
    for board in list_boards():
        assert board in text
    fit_table = text.split("Fit on every board")[1]
    row = next(line for line in fit_table.splitlines() if line.startswith("edge-moe-zcu102"))
    cells = row.split()
    assert cells[1] == "ok" and cells[3].endswith("%*")   # own board (zcu102) fits
    assert "NO LUT,FF,DSP,BRAM36" in row                   # pynq-z2 / ultra96-v2 do not
    tiny_row = next(line for line in text.splitlines() if line.startswith("tiny "))
    assert "m3vit-micro" in tiny_row and "m3vit-tiny" not in tiny_row


def test_an_engine_an_op_only_starts_is_estimated():
    """MOE_EXPERTS starts element-wise jobs (dst = residual copy or zeros): building it
    builds that engine, and the fit check counts it even without ADD."""
    moe = estimate(load_accel("tiny", ["ops=[linear, moe_gate, moe_experts]"]))
    plain = estimate(load_accel("tiny", ["ops=[linear]"]))
    assert "vector" in moe.by_component("LUT")
    assert "vector" not in plain.by_component("LUT")


def test_rtl_estimate_counts_the_sv_tops_one_axi_master(tmp_path) -> None:
    """The HLS kernel has one m_axi master per bundle; the SV top (what ``rtl=True``
    describes) has the masters its default render declares, each costing what one HLS
    master does (the two-master render, m_axi_wgt for the prefetch, is for the benches)."""
    import re

    from edgemoe.params.fit import RTL_AXI_MASTERS
    from edgemoe.rtl.render import render_rtl

    def masters(n: int) -> set[str]:
        paths = render_rtl(load_accel("tiny"), tmp_path / f"m{n}", masters=n)
        top = next(p for p in paths if p.name == "edgemoe_top.sv").read_text()
        return set(re.findall(r"output\s+logic\b[^;,]*?\b(m_axi_\w+)_araddr", top))

    assert masters(1) == {"m_axi_mem"} and len(masters(1)) == RTL_AXI_MASTERS
    assert masters(2) == {"m_axi_mem", "m_axi_wgt"}
    accel = load_accel("edge-moe-zcu102")
    assert accel.m_axi_bundles == 4
    hls = estimate(accel).by_component("LUT")["platform"]
    sv = estimate(accel, rtl=True).by_component("LUT")["platform"]
    assert sv * accel.m_axi_bundles == hls
    # explore models a candidate's latency on its ports, so it is charged their masters
    assert estimate(accel, rtl=True, masters=2).by_component("LUT")["platform"] == 2 * sv


def test_int8_attention_costs_nothing_where_it_is_not_built() -> None:
    """edge-moe-zcu102 does not build attn_q8: its estimate and config_id are those of the
    same point with the switch off, and building it adds the attention_q8 component only."""
    base = load_accel("edge-moe-zcu102")
    off, on = (load_accel("edge-moe-zcu102", [f"attn_q8={v}"]) for v in ("false", "true"))
    assert not base.attn_q8 and base.config_id == off.config_id != on.config_id
    assert estimate(base) == estimate(off)
    assert all(comp != "attention_q8" for comp, _, _ in estimate(base).breakdown)
    extra = [item for item in estimate(on).breakdown if item[0] == "attention_q8"]
    rest = [item for item in estimate(on).breakdown if item[0] != "attention_q8"]
    assert {res for _, res, _ in extra} == {"DSP", "LUT"}
    assert rest[:-1] == list(estimate(base).breakdown[:-1])  # (the last item: FF of all)


def test_int8_attention_estimate_follows_its_arithmetic() -> None:
    """edge-moe-zcu102-w8a8 (9 lanes, 256-bit words, ap_fixed<32,10>, head_dim 64): each
    lane's 32 int8 x int8 and 32 p x int8 products take a slice each, plus the rescales
    (21 x 32: 2 slices, 31 x 32: 4) per lane and 16 quantizers' 32 x 32 (4 each): the
    loader's 8 and the writer's 8 (codes out)."""
    w8 = load_accel("edge-moe-zcu102-w8a8")
    assert w8.attn_q8 and w8.attn_lanes == 9 and w8.fit_report().fits
    est = estimate(w8)
    assert est.by_component("DSP")["attention_q8"] == 9 * (32 + 32 + 2 + 4) + 16 * 4
    routing, trees = (32 * 16 + 32 * 32) / 2, 32 * 21 / 2 + 32 * 31
    assert est.by_component("LUT")["attention_q8"] == 9 * (routing + trees + 2 * 300) + 16 * 80
    # the RTL estimate calibrates that count by Yosys counts of edgemoe_attn with and
    # without it (fit_calibration: the residual over the act engine)
    q8_dsp = calibration()[("attention_q8", "DSP")]
    assert estimate(w8, rtl=True).by_component("DSP")["attention_q8"] == \
        math.ceil(q8_dsp(9 * 70 + 64))
    # one lane more, or the act products back beside the int8 ones (5 lanes were what
    # they left), no longer fits the DSP limit
    for over in (["attn_lanes=10"], ["attn_act=true"], ["attn_act=true", "attn_lanes=6"]):
        assert not load_accel("edge-moe-zcu102-w8a8", over).fit_report().fits, over
    assert load_accel("edge-moe-zcu102-w8a8", ["attn_act=true", "attn_lanes=5"]).fit_report().fits


def test_int8_only_attention_leaves_out_the_act_products() -> None:
    """attn_act: false drops the act QK^T and AV products (2 x lanes x act_per_beat act x
    act, 4 slices each at 32 bits, and their LUTs) and keeps the per-lane softmax's two
    act x act multipliers and the control; attention_q8 and the rest stay the same."""
    on, off = (load_accel("edge-moe-zcu102-w8a8", [f"attn_act={v}"]) for v in ("true", "false"))
    assert off.config_id != on.config_id and not off.attn_act
    lanes, dot, d_aa = off.attn_lanes, off.act_per_beat, 4
    dsp_on, dsp_off = (estimate(a).by_component("DSP") for a in (on, off))
    assert dsp_off["attention"] == 2 * lanes * d_aa
    assert dsp_on["attention"] - dsp_off["attention"] == 2 * lanes * dot * d_aa
    lut_on, lut_off = (estimate(a).by_component("LUT") for a in (on, off))
    assert lut_off["attention"] == lanes * 1500 + 3000 < lut_on["attention"]
    for comp in ("attention_q8", "linear", "layernorm"):
        assert dsp_on[comp] == dsp_off[comp] and lut_on[comp] == lut_off[comp]


def test_int8_attention_estimate_grows_with_lanes_and_words() -> None:
    def q8(over):
        est = estimate(load_accel("edge-moe-zcu102-w8a8", over))
        return est.by_component("DSP")["attention_q8"], est.by_component("LUT")["attention_q8"]

    base, lanes, narrow = q8([]), q8(["attn_lanes=16"]), q8(["axi_bits=128"])
    assert all(a > b for a, b in zip(lanes, base)) and all(a < b for a, b in zip(narrow, base))
    # the int8 lanes' products do not depend on the act width (a word of one-byte codes);
    # a 16-bit act (10 fraction bits) narrows each lane's output rescale from a 31- to a
    # 19-bit accumulator times 32 bits: 4 slices -> 2 (its 2 x 4 quantizers: 4 x 32x32 -> 8
    # x 16x32, 16 slices either way, twice)
    def dsp(over):
        return estimate(load_accel("tiny", over)).by_component("DSP")["attention_q8"]

    assert dsp([]) - dsp(["formats.act=ap_fixed<16,6>"]) == 2 * (4 - 2)
