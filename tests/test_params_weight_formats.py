"""``weight_formats``: a design point lists the weight formats it builds (w16 and q8 always).

Without q4 every executor refuses Flag.WFMT_Q4 (validation and golden with BAD_FLAGS, the
checkers of the C++ and the SV by their flag masks), the SV top leaves the int4 strip loader
out (edgemoe_lin_q4) and the RTL estimate stops counting it.
"""

from __future__ import annotations

import pytest
from progutil import Scratch

from edgemoe.isa import Err, Flag, Instr, Op, design_flags, hw_flags
from edgemoe.params import ConfigError, load_accel
from edgemoe.params.fit import estimate
from edgemoe.validate import check_instr

pytestmark = pytest.mark.unit

NO_Q4 = ("weight_formats=[w16, q8]",)


def _q4_linear() -> Instr:
    return Instr.make(Op.LINEAR, Flag.WFMT_Q4, tokens=2, out_features=4, in_features=4,
                      src=4096, dst=8192, weights=12288, bias=16384)


def test_edge_moe_zcu102_leaves_the_int4_loader_out_and_tiny_builds_it():
    zcu, tiny = load_accel("edge-moe-zcu102"), load_accel("tiny")
    assert zcu.weight_formats == ("w16", "q8") and tiny.weight_formats == ("w16", "q8", "q4")
    for op in (Op.LINEAR, Op.MOE_EXPERTS):
        assert not design_flags(op, zcu) & Flag.WFMT_Q4
        assert not hw_flags(op, "hls", zcu) & Flag.WFMT_Q4
        assert not hw_flags(op, "sv", zcu) & Flag.WFMT_Q4
        assert design_flags(op, tiny) & Flag.WFMT_Q4
    assert design_flags(Op.LINEAR, zcu) & Flag.WFMT_Q8  # W8A8 stays


def test_without_q4_a_q4_linear_is_refused_with_the_key_that_builds_it():
    accel = load_accel("tiny", NO_Q4)
    problems = check_instr(_q4_linear(), accel, 1 << 20)
    assert problems[0].code == Err.BAD_FLAGS
    assert "add q4 to its weight_formats" in problems[0].message
    built = check_instr(_q4_linear(), load_accel("tiny"), 1 << 20)  # (its shape is incomplete)
    assert all(p.code != Err.BAD_FLAGS for p in built)
    s = Scratch(accel)
    assert s.run([Instr(op=0), _q4_linear()]) == Err.BAD_FLAGS
    assert s.status()["index"] == 1


def test_the_rtl_estimate_counts_the_loader_only_where_it_is_built():
    with_q4 = estimate(load_accel("edge-moe-zcu102", ("weight_formats=[w16, q8, q4]",)), rtl=True)
    without = estimate(load_accel("edge-moe-zcu102"), rtl=True)
    assert "linear_q4" in with_q4.by_component("LUT")
    assert "linear_q4" not in without.by_component("LUT")
    assert with_q4.lut - without.lut == with_q4.by_component("LUT")["linear_q4"]


def test_the_sv_package_says_whether_the_loader_is_built(tmp_path):
    from edgemoe.rtl import render_rtl

    for overrides, built in (((), 1), (NO_Q4, 0)):
        files = render_rtl(load_accel("tiny", overrides), tmp_path / str(built))
        assert f"localparam int WFMT_Q4_BUILT = {built};" in files[0].read_text()


def test_listing_every_format_keeps_the_config_id():
    base = load_accel("tiny")
    assert load_accel("tiny", ("weight_formats=[q4, w16, q8]",)).config_id == base.config_id
    assert load_accel("tiny", NO_Q4).config_id != base.config_id


@pytest.mark.parametrize("value,text", [
    ("[w16]", "leaves out 'q8'"),
    ("[q8, q4]", "leaves out 'w16'"),
    ("[w16, q8, q5]", "'q5' is not a weight format"),
    ("[w16, q8, q8]", "repeats a format"),
    ("q4", "weight_formats"),
])
def test_bad_weight_formats_name_the_key_and_what_is_allowed(value, text):
    with pytest.raises(ConfigError) as info:
        load_accel("tiny", (f"weight_formats={value}",))
    message = str(info.value)
    assert text in message and "weight_formats" in message and "\n" not in message


def test_compiling_int4_layers_for_a_design_without_q4_is_refused_naming_the_fix():
    from edgemoe.compiler import compile_model
    from edgemoe.params import load_model

    with pytest.raises(ValueError, match=r"does not build int4 weights: add q4 to its weight_formats"):
        compile_model(load_model("m3vit-micro"), load_accel("tiny", NO_Q4),
                      mixed={"blocks.0.mlp.fc1": None}, heads=False)
