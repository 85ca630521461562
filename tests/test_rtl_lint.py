"""The generated SystemVerilog is clean under `verilator --lint-only -Wall` for every design
point (and for op subsets, which leave engines out)."""

from __future__ import annotations

import subprocess

import pytest

from edgemoe.params import list_accels, load_accel
from edgemoe.rtl import TOP, render_rtl
from edgemoe.rtl.simulator import ensure_verilator

pytestmark = pytest.mark.sim

POINTS = [(name, ()) for name in list_accels()] + [
    ("tiny", ("ops=[linear, add]",)),
    ("tiny", ("attn_lanes=8", "linear_p_in=8", "linear_p_out=2", "vector_lanes=4",
              "axi_bits=64")),
    ("tiny", ("weight_formats=[w16, q8]",)),  # the int4 units left out
]
#: Linted in `make test`: the test designs, the SNN point and the widest point (32x16 tile, 8
#: lanes, int8 side); the other board points lint in the long tier (`make bench`).
QUICK = {"tiny", "snn-tiny", "edge-moe-zcu102-w8a8"}


@pytest.mark.parametrize("name,overrides", [
    pytest.param(n, o, id=f"{n}{'+' if o else ''}{len(o)}",
                 marks=() if n in QUICK else pytest.mark.long) for n, o in POINTS])
def test_verilator_lint_wall_is_clean(tmp_path, name, overrides):
    accel = load_accel(name, overrides)
    paths = render_rtl(accel, tmp_path)
    exe = ensure_verilator()
    proc = subprocess.run([str(exe), "--lint-only", "-Wall", "--top-module", TOP,
                           *map(str, paths)], check=False, capture_output=True, text=True,
                          timeout=120)
    messages = [line for line in proc.stderr.splitlines() if line.startswith("%")]
    assert proc.returncode == 0 and not messages, "\n".join(messages[:20])
