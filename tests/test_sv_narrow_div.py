"""Narrow SV dividers: a CeilDiv of a 32-bit value by a byte-wide value that is not a
constant renders to the package's ceil_div_narrow (long division by a byte, div_by_byte).

Yosys sizes a cast of a wider expression, ``n'(x)``, at ``x``'s width, so the in-place
``64'({(33'(a) + 33'(b) - 33'd1) / 33'(b)})`` over 64-bit field expressions became a 64-bit
divider in synthesis (POOL's two output sizes cost the checker about 8k LUTs).  The values
are the same; RTL against golden: tests/test_rtl_check_sizes.py (POOL windows).
"""

from __future__ import annotations

import pytest

from edgemoe import ops
from edgemoe.isa import Op
from edgemoe.opexpr import CeilDiv, Const, Derived, Field
from edgemoe.params import load_accel
from edgemoe.rtl import render_rtl

pytestmark = [pytest.mark.codegen, pytest.mark.unit]


def test_byte_wide_divisor_renders_to_the_narrow_function():
    by_byte = CeilDiv(Field("in_h"), Derived("stride", 8))
    assert by_byte.sv().startswith("edgemoe_pkg::ceil_div_narrow(32'(")
    # a constant divisor (a shift in synthesis) and a wide one keep their forms
    assert "ceil_div_narrow" not in CeilDiv(Field("in_h"), Const(8)).sv()
    assert "ceil_div_narrow" not in CeilDiv(Field("in_h"), Field("in_w")).sv()


def test_pool_sizes_in_the_checker_use_narrow_dividers(tmp_path):
    spec = ops.OP_SPECS[Op.POOL]
    divs = [n for _, e in spec.derived for n in e.nodes()
            if isinstance(n, CeilDiv) and not isinstance(n.b, Const)]
    assert divs, "POOL's windows divide by the stride"
    assert all("ceil_div_narrow" in d.sv() for d in divs)
    paths = render_rtl(load_accel("tiny"), tmp_path)
    check = next(p for p in paths if p.name == "edgemoe_check.sv").read_text()
    assert "edgemoe_pkg::ceil_div_narrow(" in check
    assert "/ 33'(" not in check.split("OP_POOL:")[1].split("OP_LIF:")[0]
