"""One derived-constants export: the HLS params header and the SV package print the same
names with the same values, for every design point in configs/accel."""

from __future__ import annotations

import re

import pytest

from edgemoe.codegen.constants import design_constants
from edgemoe.codegen.context import hls_context
from edgemoe.codegen.env import HLS_TEMPLATE_DIR, make_environment
from edgemoe.codegen.outputs import OUTPUTS, render_one
from edgemoe.params import list_accels, load_accel
from edgemoe.rtl.render import RTL_TEMPLATE_DIR, render_rtl

pytestmark = pytest.mark.codegen


def _cpp_cfg(text: str) -> dict[str, int]:
    body = re.search(r"struct cfg \{(.*?)\n\};", text, re.DOTALL).group(1)
    return {m[0]: int(m[1]) for m in re.findall(r"static const int (\w+) = (-?\d+);", body)}


def _sv_params(text: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"localparam int (\w+) = (-?\d+);", text)}


@pytest.mark.parametrize("name", list_accels())
def test_every_shared_constant_has_one_value(tmp_path, name):
    accel = load_accel(name)
    env = make_environment(HLS_TEMPLATE_DIR)
    params = next(o for o in OUTPUTS if o.template == "edgemoe_params.hpp.j2")
    cpp = _cpp_cfg(render_one(env, params, hls_context(accel)))
    sv = _sv_params(render_rtl(accel, tmp_path / "rtl")[0].read_text())
    exported = dict(design_constants(accel))
    assert set(exported) <= set(cpp) and set(exported) <= set(sv)
    shared = set(cpp) & set(sv)
    assert {k: cpp[k] for k in shared} == {k: sv[k] for k in shared}
    # the names the issue found spelled two ways exist once, under the C++ spelling
    for old in ("MAX_IN", "MAX_OUT", "LANES", "VEC", "VEC_LG", "LN_SQ_SHIFT"):
        assert old not in sv and old not in cpp
    assert exported["MAX_IN_FEATURES"] == accel.max_in_features
    assert exported["ATTN_LANES"] == accel.attn_lanes
    assert exported["ADD_CHUNK"] == 64 * accel.vector_lanes


def test_index_ring_is_sized_once(tmp_path):
    """The GATHER index ring's size lives in codegen.constants only: the SV package prints it,
    the row loader and the ring take it from there (no number of their own), the cycle model
    imports it."""
    from edgemoe.codegen import constants
    from edgemoe.perf import engines

    sv = _sv_params(render_rtl(load_accel("tiny"), tmp_path / "rtl")[0].read_text())
    assert (sv["INDEX_RING"], sv["INDEX_CHUNK"]) == (constants.INDEX_RING, constants.INDEX_CHUNK)
    assert (engines.INDEX_RING, engines.INDEX_CHUNK) == (constants.INDEX_RING, constants.INDEX_CHUNK)
    for name in ("edgemoe_lin_loader.sv", "edgemoe_lin_index.sv"):
        text = (RTL_TEMPLATE_DIR / name).read_text()
        assert "edgemoe_pkg::INDEX_RING" in text, name
        assert not re.search(r"(RING|CHUNK)\w*\s*=\s*\d+\s*[;,)/]", text), name
