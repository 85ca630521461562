"""The linear MAC array (edgemoe_lin_dot.sv) alone: exact dot products at the format extremes.

Its sums are as wide as the formats need (not 64 bits throughout), so the bench drives every
lane to its extremes, where a sum one bit too narrow would wrap, at three designs: 4x4 and
8x2 tiles with 32-bit input lanes (split across two DSP operands) and 16-bit lanes.
"""

from __future__ import annotations

import pytest
from rtldesigns import design

from edgemoe.codegen.constants import design_constants

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("setting", ["tiny", "alt", "narrow"])
def test_dot_products_exact_at_extremes(tmp_path, setting):
    from edgemoe.rtl import render_rtl
    from edgemoe.rtl.simulator import build, run

    accel = design(setting)
    consts = dict(design_constants(accel))
    # the input lane of edgemoe_lin: stored act, or stored pixel codes plus a sign bit
    f = accel.formats
    xbits = max(8 * f.act.storage_dtype.itemsize, 8 * f.pixel.storage_dtype.itemsize + 1)
    files = render_rtl(accel, tmp_path / "rtl")
    dot = next(f for f in files if f.name == "edgemoe_lin_dot.sv")
    sim = build([files[0], dot], "edgemoe_lin_dot", parameters={"XBITS": xbits})
    run(sim, "tb_lin_dot", tmp_path / "run", env={
        "LIN_DOT_P_IN": str(consts["P_IN"]), "LIN_DOT_P_OUT": str(consts["P_OUT"]),
        "LIN_DOT_XBITS": str(xbits), "LIN_DOT_WBITS": str(consts["WEIGHT_BITS"])})
