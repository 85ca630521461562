"""W8A8 LINEAR, MOE_EXPERTS and CONV (Flag.WFMT_Q8) on the SystemVerilog engine: == golden.

Single ops (several weight strips, epilogue flags, clamped inputs, act overflows, counted
in the profile, odd output-tile counts and one input tile for the paired MAC array) and a
small mixed W8A8 / W16 program, at two linear tile shapes.
"""

from __future__ import annotations

import pytest
import rtlutil as ru
from q8conv import q8_conv
from q8moe import q8_experts
from q8util import q8_linear, q8_program
from rtldesigns import (
    SETTINGS,
    assert_program_rtl_equals_golden,
    design,
    outcomes_per_setting,
)

from edgemoe.isa import Flag

pytestmark = pytest.mark.sim



def _cases(accel) -> list[ru.Case]:
    kin, kout = accel.max_in_features, accel.max_out_features
    singles = [
        ("q8_plain", 1, 5, 7, 9, 0, 2.0, None, 1.0),
        ("q8_gelu_attnbias", 2, 3, 8, 8, Flag.GELU | Flag.BFMT_ATTN, 2.0, None, 1.0),
        ("q8_strips", 3, 3, kout, kin, 0, 2.0, None, 1.0),
        ("q8_clamped_inputs", 4, 4, 8, 16, Flag.RELU, 3.0, 2.0, 1.0),
        ("q8_act_overflow", 5, 4, 8, 64, 0, 8.0, None, 200.0),
        # one input tile (the pair's two epilogue beats hold the issue), an odd tile count
        ("q8_one_input_tile", 6, 3, 9, 4, Flag.GELU, 2.0, None, 1.0),
    ]
    cases = []
    for name, seed, t, n, k, flags, x_range, calib, gain in singles:
        c = q8_linear(accel, seed, t, n, k, flags, x_range, calib, gain)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    s, prog = q8_program(accel, seed=9)
    cases.append(ru.Case("q8_mixed_program", s, prog))
    experts = [  # W8A8 MOE_EXPERTS: (name, seed, t, d, h, e, top_k, x_range, calib, h_calib, gain)
        ("q8_experts", 11, 7, 12, 20, 4, 2, 2.0, None, None, 1.0),
        ("q8_experts_strips", 13, 5, 32, kout, 3, 2, 2.0, None, None, 1.0),
        ("q8_experts_clamped", 14, 6, 8, 12, 3, 2, 3.0, 1.5, 0.5, 1.0),
        ("q8_experts_act_overflow", 15, 5, 8, 16, 3, 1, 4.0, None, None, 300.0),
    ]
    for name, seed, t, d, h, e, top_k, x_range, calib, h_calib, gain in experts:
        c = q8_experts(accel, seed, t, d, h, e, top_k, x_range, calib, h_calib, gain)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    convs = [  # W8A8 CONV: (name, seed, h, w, ci, co, kernel, stride, pad, flags, x_range, calib)
        ("q8_conv_line", 21, 4, 8, 8, 12, 3, 1, 1, Flag.RELU, 2.0, None),  # ci % P_IN == 0
        ("q8_conv_taps", 22, 5, 7, 3, 5, 3, 2, 0, 0, 2.0, None),  # a read per tap, strided
        ("q8_conv_strips_residual", 23, 3, 4, 8, kout, 3, 1, 1, Flag.RELU | Flag.RESIDUAL,
         2.0, None),
        ("q8_conv_clamped", 24, 4, 4, 4, 8, 1, 1, 0, 0, 3.0, 2.0),
    ]
    for name, seed, h, w, ci, co, k, st, pad, flags, x_range, calib in convs:
        c = q8_conv(accel, seed, h, w, ci, co, k, st, pad, flags, x_range, calib)
        cases.append(ru.Case(name, c.scratch, [c.ins]))
    return cases


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return outcomes_per_setting(_cases)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_q8_rtl_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"


def test_mac8x2_split_matches_numerics(tmp_path):
    """The packed two-products-per-DSP primitive equals numerics.int8.packed_products."""
    from edgemoe.rtl import render_rtl
    from edgemoe.rtl.simulator import build, run

    accel = design("tiny")
    files = render_rtl(accel, tmp_path / "rtl")
    pkg = files[0]
    mac = next(f for f in files if f.name == "edgemoe_mac8x2.sv")
    sim = build([pkg, mac], "edgemoe_mac8x2")
    run(sim, "tb_mac8x2", tmp_path / "run", env={"MAC8X2_N": "3000"})


@pytest.mark.slow
def test_q8_m3vit_micro_all_int8_backbone_rtl_equals_golden():
    """m3vit-micro's backbone with every attention, MLP and expert layer in W8A8 (the
    router, patch-embed CONV and LayerNorms stay W16A32): RTL == golden on task 1
    (tests/test_compiler_q8.py runs the same program on C-sim)."""
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import linear_input_ranges
    from edgemoe.isa import Op
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model

    accel, model = design("tiny"), load_model("m3vit-micro")
    weights = random_weights(model, 1)
    pixels = load_default_image(model)
    c = compile_model(model, accel, weights, heads=False,
                      int8=linear_input_ranges(model, weights, [pixels]))
    assert any(ins.op == Op.MOE_EXPERTS and ins.has(Flag.WFMT_Q8) for ins in c.instrs)
    assert_program_rtl_equals_golden(c, pixels, 1, "m3vit-micro all-int8 RTL vs golden",
                                     1_000_000)


@pytest.mark.long
def test_w8a8_heads_program_rtl_equals_golden():
    """m3vit-micro with only its heads' convs in W8A8 (every other layer W16A32), both
    tasks' heads on the SV == golden over the whole image (task seg's run; the C-sim twin:
    tests/test_compiler_q8_heads.py)."""
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import head_conv_layers, linear_input_ranges
    from edgemoe.isa import Op
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model

    accel, model = design("tiny"), load_model("m3vit-micro")
    weights = random_weights(model, 1)
    pixels = load_default_image(model)
    c = compile_model(model, accel, weights, int8=linear_input_ranges(
        model, weights, [pixels], head_conv_layers(model)))
    assert sum(ins.op == Op.CONV and ins.has(Flag.WFMT_Q8) for ins in c.instrs) == \
        len(head_conv_layers(model))
    assert_program_rtl_equals_golden(c, pixels, 0, "m3vit-micro W8A8 heads RTL vs golden",
                                     20_000_000)
