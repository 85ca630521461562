"""Formats at the edge of what the loader accepts run bit-exactly (issue 9 item 6).

The refused side is tests/test_params_format_holes.py; here the narrowest activation,
a non-default one-byte pixel format and 32-bit weights run m3vit-micro on golden and
C-sim with byte-identical images.
"""

from __future__ import annotations

import pytest

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.compiler.io import write_pixels
from edgemoe.golden import execute
from edgemoe.models import load_default_image
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.csim


#: every limit in one design point: one C-sim build
LIMITS = ("formats.act=ap_fixed<9,4>",                       # narrowest activation accepted
          "formats.pixel=ap_ufixed<8,2>",                    # pixels read as [0, 4)
          "formats.linear_weight=ap_fixed<32,2>",            # widest weights accepted
          "formats.conv_weight=ap_fixed<32,2>")


def test_limit_formats_are_bit_exact_on_csim():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", LIMITS)
    model = load_model("m3vit-micro")
    compiled = compile_model(model, accel)
    gold = compiled.fresh_image()
    write_pixels(gold, compiled.manifest, load_default_image(model))
    sim = gold.copy()
    args = (compiled.program_offset, compiled.n_instructions, 0, compiled.status_offset)
    assert execute(gold, accel, *args) == 0
    assert CsimExecutor(accel).execute(sim, *args) == 0
    assert_images_equal(gold, sim, compiled.manifest, f"m3vit-micro with {LIMITS}")
