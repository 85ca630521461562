"""The attention lanes' shared 1/sum unit (edgemoe_attn_recip.sv) alone: bit-exact with
edgemoe.numerics.reciprocal per lane and bank; the dense schedule's staggered lane ends
never hold the phase hand-over, the top-k schedule's simultaneous ends hold it LANES - 1
cycles (sim/tb_attn_recip.py).  The whole engine's outputs are checked against golden in
test_rtl_engines.py, test_rtl_attention_axi.py and test_attn_topk_rtl.py."""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.rtl import render_rtl
from edgemoe.rtl.render import RTL_TEMPLATE_DIR
from edgemoe.rtl.simulator import build, run

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("lanes", [2, 4])
def test_shared_reciprocal_unit(tmp_path, lanes):
    overrides = (f"attn_lanes={lanes}",)
    pkg = render_rtl(load_accel("tiny", overrides), tmp_path / "rtl")[0]
    sim = build([pkg, RTL_TEMPLATE_DIR / "edgemoe_attn_recip.sv"], "edgemoe_attn_recip")
    run(sim, "tb_attn_recip", tmp_path / "run",
        env={"EDGEMOE_ACCEL": "tiny", "EDGEMOE_OVERRIDES": ";".join(overrides)})
