"""The same top-level bench on the Vitis-exported RTL of the HLS top (needs Vitis HLS).

`RtlsimExecutor(accel, sources=..., toplevel="edgemoe_top")` runs any RTL with the HLS
top's ports and register map; here: the Verilog that `export_design` writes for the
design point, found under build/<design>/hls/.
"""

from __future__ import annotations

import shutil

import pytest

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.golden import execute
from edgemoe.params import load_accel, load_model
from edgemoe.resources import default_build_root
from edgemoe.rtl import RtlJob, RtlsimExecutor

pytestmark = [pytest.mark.hls, pytest.mark.sim]


@pytest.mark.skipif(not (shutil.which("vitis-run") or shutil.which("vitis_hls")),
                    reason="Vitis HLS is not installed (it exports the HLS top's RTL)")
def test_vitis_exported_rtl_runs_m3vit_micro():
    accel = load_accel("tiny")
    roots = sorted(default_build_root().glob(f"{accel.name}*/hls/**/impl/verilog"))
    assert roots, "no exported RTL under build/<design>/hls: run `edgemoe hls --accel tiny`"
    sources = sorted(roots[0].glob("*.v"))
    c = compile_model(load_model("m3vit-micro"), accel)
    gold = c.fresh_image()
    execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset)
    img = c.fresh_image()
    ex = RtlsimExecutor(accel, sources=sources, toplevel="edgemoe_top")
    res = ex.run_jobs([RtlJob(img, c.program_offset, c.n_instructions, 0, c.status_offset)])[0]
    assert res.error == 0 and not res.timed_out
    assert_images_equal(img, gold, c.manifest, "Vitis RTL vs golden")
