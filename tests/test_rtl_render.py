"""Rendering of the SystemVerilog package and the register map (no simulator needed)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edgemoe import isa, numerics
from edgemoe.params import ConfigError, list_accels, load_accel
from edgemoe.rtl import REGISTERS, RtlError, offset, render_rtl
from edgemoe.rtl.regmap import ARGUMENTS
from edgemoe.rtl.render import RENDERED, SOURCES, rtl_context

pytestmark = [pytest.mark.codegen, pytest.mark.unit]


def test_register_map_follows_vitis_offset_rules():
    # UG1399 (ecosystem.md): control words, first argument at 0x10, a 64-bit pointer takes
    # lo/hi/reserved (stride 12), a 32-bit scalar data/reserved (stride 8)
    assert [(r.name, r.offset) for r in REGISTERS[:4]] == [
        ("CTRL", 0x00), ("GIER", 0x04), ("IP_IER", 0x08), ("IP_ISR", 0x0C)]
    assert offset("mem_1") == 0x10 and offset("mem_2") == 0x14
    assert offset("mem_bytes_1") == 0x10 + 12
    assert offset("program_offset") == 0x10 + 24
    assert offset("n_instructions") - offset("program_offset") == 8
    assert [r.offset for r in REGISTERS] == sorted(r.offset for r in REGISTERS)
    with pytest.raises(KeyError, match="no register 'nope'"):
        offset("nope")


def test_register_map_follows_the_vitis_offset_rules():
    """UG1399: args from 0x10; 64-bit items take lo, hi and a reserved word (stride 12),
    32-bit inputs data + reserved (stride 8), outputs data, ap_vld control, reserved."""
    want = {"mem_1": 0x10, "mem_2": 0x14, "mem_bytes_1": 0x1C, "mem_bytes_2": 0x20,
            "program_offset": 0x28, "n_instructions": 0x30, "task": 0x38,
            "status_offset": 0x40, "config_id": 0x48, "config_id_ctrl": 0x4C, "status": 0x54,
            "status_ctrl": 0x58}
    assert {r.name: r.offset for r in REGISTERS if r.offset >= 0x10} == want
    assert [a[0] for a in ARGUMENTS][:2] == ["mem", "mem_bytes"]


def _sv_table(text: str, name: str) -> list[int]:
    body = re.search(rf"function automatic logic signed \[63:0\] {name}\(.*?endfunction",
                     text, re.DOTALL).group(0)
    return [int(v) for v in re.findall(r"'d\d+: \w+ = 64'sd(\d+);", body)]


@pytest.mark.parametrize("name", list_accels())
def test_package_renders_design_point(tmp_path, name):
    accel = load_accel(name)
    paths = render_rtl(accel, tmp_path)
    assert [p.name for p in paths] == ["edgemoe_pkg.sv", *SOURCES, *(n for _, n in RENDERED)]
    text = paths[0].read_text()
    assert text.startswith(f"// generated from {accel.name} {accel.config_id}")
    assert f"CONFIG_ID = 32'h{accel.config_id}" in text
    for key, value in (("P_IN", accel.linear_p_in), ("P_OUT", accel.linear_p_out),
                       ("ATTN_LANES", accel.attn_lanes), ("AXI_BITS", accel.axi_bits),
                       ("MAX_TOKENS", accel.max_tokens)):
        assert re.search(rf"localparam int {key} = {value};", text)
    for op in isa.Op:
        assert f"OP_{op.name} = 8'd{int(op)};" in text
        assert f"OP_{op.name}: op_flags = 16'd{int(isa.hw_flags(op, 'sv', accel))};" in text
    # top-k ATTENTION (edgemoe_attn_topk.sv) and int8 ATTENTION (edgemoe_attn_q8_*.sv) are
    # built, and their flags accepted, only where the design point sets attn_topk / attn_q8
    # (tiny; the board design points leave them out)
    topk = int(isa.Flag.ATTN_TOPK) if accel.attn_topk else 0
    q8 = int(isa.Flag.WFMT_Q8) if accel.attn_q8 else 0
    assert f"OP_ATTENTION: op_flags = 16'd{topk | q8};" in text
    assert f"localparam int ATTN_TOPK_BUILT = {int(accel.attn_topk)};" in text
    assert f"localparam int ATTN_Q8_BUILT = {int(accel.attn_q8)};" in text
    assert accel.attn_topk == (name == "tiny")
    assert accel.attn_q8 == (name in ("tiny", "edge-moe-zcu102-w8a8"))
    for tname, values in numerics.numerics_tables().items():
        np.testing.assert_array_equal(_sv_table(text, tname.lower()), values)
    for reg in REGISTERS:
        assert f"{reg.sv_name} = 8'h{reg.offset:02x};" in text


def test_ops_mask_leaves_engines_out():
    ctx = rtl_context(load_accel("tiny", ["ops=[linear, add]"]))
    built = {name for name, value in ctx["opcodes"] if ctx["ops_mask"] >> value & 1}
    assert built == {"NOP", "LINEAR", "ADD"}


@pytest.mark.parametrize("key,fmt,match", [("act", "ap_fixed<32,29>", "fraction bits")])
def test_unsupported_format_is_refused(key, fmt, match):
    with pytest.raises(RtlError, match=match):
        rtl_context(load_accel("tiny", [f"formats.{key}={fmt}"]))


def test_too_wide_weights_are_refused_before_rendering():
    """The loader now refuses weights wider than 32 bits (every executor, not only RTL)."""
    with pytest.raises(ConfigError, match=r"formats.linear_weight.*at most 32 bits"):
        load_accel("tiny", ["formats.linear_weight=ap_fixed<40,2>"])
