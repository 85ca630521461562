"""The SystemVerilog numerics kernels (exp, reciprocal, rsqrt, GELU, softmax update and
probabilities, and the act quantizer) equal edgemoe.numerics bit for bit, for the default
format and for act formats with other quantization and overflow modes."""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.rtl import render_rtl
from edgemoe.rtl.simulator import SIM_DIR, build, run

pytestmark = pytest.mark.sim

VARIANTS = {
    "default_trn_wrap": (),
    "rnd_conv_sat": ("formats.act=ap_fixed<32,10,AP_RND_CONV,AP_SAT>",),
    "narrow_rnd_zero_sat_sym": ("formats.act=ap_fixed<24,8,AP_RND_ZERO,AP_SAT_SYM>",),
    "rnd_inf_sat_zero": ("formats.act=ap_fixed<32,12,AP_RND_INF,AP_SAT_ZERO>",),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_numerics_kernels_bit_exact(tmp_path, variant):
    overrides = VARIANTS[variant]
    accel = load_accel("tiny", overrides)
    pkg = render_rtl(accel, tmp_path / "rtl")[0]
    sim = build([pkg, SIM_DIR / "hdl" / "numerics_probe.sv"], "numerics_probe")
    run(sim, "tb_numerics", tmp_path / "run",
        env={"EDGEMOE_ACCEL": "tiny", "EDGEMOE_OVERRIDES": ";".join(overrides),
             "NUMERICS_N": "300"})
