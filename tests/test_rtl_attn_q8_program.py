"""m3vit-micro's backbone with int8 attention (and every W8A8 layer) on the SV: == golden.

The C-sim twin is tests/test_compiler_q8_attn.py; the single-op cases are in
tests/test_rtl_attn_q8.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from rtldesigns import design, executor

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
from edgemoe.compiler.io import write_pixels
from edgemoe.golden import execute
from edgemoe.isa import Flag, Op
from edgemoe.models import load_default_image, random_weights
from edgemoe.params import load_model
from edgemoe.rtl import RtlJob

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
    gold, img = c.fresh_image(), c.fresh_image()
    for image in (gold, img):
        write_pixels(image, c.manifest, pixels)
    assert execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    res = executor("tiny").run_jobs([RtlJob(img, c.program_offset, c.n_instructions, 0,
                                            c.status_offset, max_cycles=1_000_000)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(img, gold, c.manifest, "m3vit-micro int8 attention RTL vs golden")
    assert np.any(img != c.fresh_image())
