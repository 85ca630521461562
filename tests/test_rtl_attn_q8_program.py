"""m3vit-micro's backbone with int8 attention (and every W8A8 layer) on the SV: == golden.
Each attention reads the qkv LINEAR's int8 codes of q, k, v (q8_codes' codes in) and writes
its output rows as proj's int8 input codes (codes out).

The C-sim twin is tests/test_compiler_q8_attn.py; the single-op cases are in
tests/test_rtl_attn_q8.py.
"""

from __future__ import annotations

import pytest
from rtldesigns import assert_program_rtl_equals_golden, design

from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
from edgemoe.isa import Flag, Op
from edgemoe.models import load_default_image, random_weights
from edgemoe.numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT
from edgemoe.params import load_model

pytestmark = pytest.mark.sim


@pytest.mark.slow
def test_int8_attention_backbone_rtl_equals_golden():
    accel, model = design("tiny"), load_model("m3vit-micro")
    weights = random_weights(model, 1)
    pixels = load_default_image(model)
    ranges = linear_input_ranges(model, weights, [pixels], int8_layers(model, attn=True))
    c = compile_model(model, accel, weights, heads=False, int8=ranges)
    attn = [ins for ins in c.instrs if ins.op == Op.ATTENTION]
    assert attn and all(ins.has(Flag.WFMT_Q8) for ins in attn)
    # each reads the qkv LINEAR's codes (compiler.qkv_codes) and writes proj's input codes
    # (compiler.attn_q8.attn_codes_out_mul)
    assert all(ins.get("q8_codes") == Q8_CODES_IN | Q8_CODES_OUT for ins in attn)
    assert_program_rtl_equals_golden(c, pixels, 0, "m3vit-micro int8 attention RTL vs golden",
                                     1_000_000)
