"""edgemoe_rd_stripe (the weight prefetch over two read masters) returns every burst's beats
in AR order, whole, under back-pressure, with ports of different rate and latency."""

from __future__ import annotations

import pytest

from edgemoe.rtl.render import RTL_TEMPLATE_DIR
from edgemoe.rtl.simulator import SIM_DIR, build, run

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("case", [0, 1, 2])
def test_stripe_returns_bursts_in_order(tmp_path, case):
    sources = [RTL_TEMPLATE_DIR / f for f in ("edgemoe_fifo.sv", "edgemoe_rd_stripe.sv")]
    sim = build([*sources, SIM_DIR / "hdl" / "stripe_harness.sv"], "stripe_harness",
                parameters={"B": 16})
    run(sim, "tb_stripe", tmp_path, env={"STRIPE_CASE": str(case),
                                         "STRIPE_SEED": str(case + 1)})
