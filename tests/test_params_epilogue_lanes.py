"""``linear_epilogue_lanes``: the linear engine's epilogue lanes as a design-point key.

Absent, the lanes stay derived from the tile (a quarter of ``linear_p_out``, at least 4),
so every design point without the key keeps its render and config_id; set, it must be a
power of two dividing ``linear_p_out`` and it reaches the SV package (EPI_LANES,
EPI_STEPS), the cycle model's tile pace and the fit check's epilogue terms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemoe.codegen.constants import design_constants
from edgemoe.host.package import accel_mapping
from edgemoe.params import ConfigError, list_accels, load_accel
from edgemoe.params.accel import accel_from_mapping
from edgemoe.params.accel_rules import default_epilogue_lanes
from edgemoe.params.fit import dsp_per_multiplier, estimate
from edgemoe.perf.traffic import lin_geometry

pytestmark = pytest.mark.unit

W8A8 = "edge-moe-zcu102-w8a8"


def test_absent_key_is_the_derived_lanes_and_keeps_the_config_id():
    for name in list_accels():
        accel = load_accel(name)
        derived = default_epilogue_lanes(accel.linear_p_out)
        if accel.linear_epilogue_lanes == derived:  # (a design point may set its own)
            same = load_accel(name, [f"linear_epilogue_lanes={derived}"])
            assert same.config_id == accel.config_id and same == accel, name
    assert [default_epilogue_lanes(p) for p in (1, 2, 4, 8, 16, 32, 64)] == [1, 2, 4, 4, 4, 8, 16]
    tiny = load_accel("tiny")
    assert "linear_epilogue_lanes" not in tiny.to_dict()
    other = load_accel("tiny", ["linear_epilogue_lanes=2"])
    assert other.config_id != tiny.config_id and other.to_dict()["linear_epilogue_lanes"] == 2


def test_the_key_sets_lanes_and_steps_in_the_sv_package():
    for lanes, steps in ((1, 16), (4, 4), (8, 2), (16, 1)):
        accel = load_accel(W8A8, [f"linear_epilogue_lanes={lanes}"])
        assert (accel.linear_epilogue_lanes, accel.linear_epilogue_steps) == (lanes, steps)
        consts = dict(design_constants(accel))
        assert (consts["EPI_LANES"], consts["EPI_STEPS"]) == (lanes, steps)


def test_a_package_round_trip_keeps_the_key():
    accel = load_accel(W8A8, ["linear_epilogue_lanes=8"])
    again = accel_from_mapping(accel_mapping(accel), accel.name, "<package>")
    assert again == accel and again.config_id == accel.config_id


@pytest.mark.parametrize("value,shown", [("3", "3"), ("0", "0"), ("32", "32"), ("-4", "-4")])
def test_a_bad_lane_count_is_one_line_naming_key_value_and_fix(value, shown):
    with pytest.raises(ConfigError) as err:
        load_accel(W8A8, [f"linear_epilogue_lanes={value}"])
    text = str(err.value)
    assert "\n" not in text
    assert f"linear_epilogue_lanes = {shown} is not a power of two that divides " \
           "linear_p_out=16" in text
    assert "allowed: one of 1, 2, 4, 8, 16 (absent: 4)" in text


def test_a_non_integer_lane_count_is_refused():
    for value in ("true", "8.0", "'8'"):
        with pytest.raises(ConfigError, match="linear_epilogue_lanes"):
            load_accel(W8A8, [f"linear_epilogue_lanes={value}"])


def test_a_narrower_tile_refuses_lanes_it_cannot_divide(tmp_path: Path):
    # the key written in a file, then the tile narrowed by an override
    doc = (Path(load_accel("tiny").source)).read_text() + "linear_epilogue_lanes: 4\n"
    cfg = tmp_path / "t.yaml"
    cfg.write_text(doc)
    assert load_accel(str(cfg)).linear_epilogue_lanes == 4
    with pytest.raises(ConfigError, match="divides linear_p_out=2"):
        load_accel(str(cfg), ["linear_p_out=2"])


def test_the_model_paces_tiles_and_pairs_by_the_steps():
    """K = 192 on the 32 x 16 tile: 6 input tiles; a W8A8 pair takes 2 x steps at least."""
    for lanes, tile, pair in ((4, 6, 8), (8, 6, 6), (16, 6, 6), (2, 8, 16)):
        accel = load_accel(W8A8, [f"linear_epilogue_lanes={lanes}"])
        geo = lin_geometry(accel, 768, 192, 1)
        assert (geo.tile_cycles, geo.pair_cycles) == (tile, pair), lanes


#: Yosys estimate of edgemoe_lin_epilogue alone on edge-moe-zcu102-w8a8 (``edgemoe synth
#: --accel edge-moe-zcu102-w8a8 [--set linear_epilogue_lanes=8] --top edgemoe_lin_epilogue
#: --fast``, 2026-12-07): lanes -> (LUT, DSP).  9 DSP a lane: GELU 1, a32 x m32 4, score 4.
EPILOGUE_YOSYS = {4: (13707, 36), 8: (24713, 72)}


def test_the_fit_check_counts_each_lane():
    """Per lane: one GELU DSP, the W8A8 channel multiplier (int32 x int32), one act x act
    score product (moe_experts) and 400 LUT; the group pick (64 LUT a bit of each sum)
    only while the epilogue takes several steps."""
    base = load_accel(W8A8)
    f, fam = base.formats, base.board.family
    d_aa = dsp_per_multiplier(f.act.width, f.act.width, fam)
    d_q8 = dsp_per_multiplier(32, 32, fam)

    def linear(lanes, rtl=False):
        e = estimate(load_accel(W8A8, [f"linear_epilogue_lanes={lanes}"]), rtl=rtl)
        return e.by_component("DSP")["linear"], e.by_component("LUT")["linear"]

    (d4, l4), (d8, l8), (d16, l16) = linear(4), linear(8), linear(16)
    assert d8 - d4 == 4 * (1 + d_q8 + d_aa) and d16 - d8 == 8 * (1 + d_q8 + d_aa)
    assert 1 + d_q8 + d_aa == EPILOGUE_YOSYS[8][1] // 8  # Yosys's DSP per lane
    assert l8 - l4 == 4 * 400
    assert l16 - l8 == 8 * 400 - 16 * 64  # one step: no group pick
    # the RTL estimate (calibrated per component) grows with them; its DSP step follows
    # Yosys's (its LUT step, about 4.5k, stays below Yosys's 11k: the linear curve scales
    # the model's 400 LUT a lane by its slope, ~2.8, fitted at 4 lanes only)
    (r4, rl4), (r8, rl8) = linear(4, rtl=True), linear(8, rtl=True)
    measured = EPILOGUE_YOSYS[8][1] - EPILOGUE_YOSYS[4][1]
    assert abs((r8 - r4) - measured) <= 0.15 * measured, (r8 - r4, measured)
    assert rl8 > rl4


def test_no_hls_source_reads_the_epilogue_lanes():
    """The HLS kernel quantizes a tile in one loop (em_linear_job.hpp): its numerics and
    C-sim do not depend on the SV epilogue's lanes."""
    root = Path(__file__).resolve().parents[1] / "hls_templates"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    assert not [p.name for p in files if "EPI_" in p.read_text(errors="replace")]


def test_the_engines_space_explores_the_lanes():
    """Each engines candidate is a valid design point; both lane counts appear with every
    tile (4 and 8 divide every linear_p_out of the space)."""
    from edgemoe.perf.explore import SPACES, candidates

    space = SPACES["engines"]
    assert space["linear_epilogue_lanes"] == (4, 8)
    seen = set()
    for c in candidates(W8A8, space):
        accel = load_accel(c.base, c.overrides)
        seen.add((accel.linear_p_out, accel.linear_epilogue_lanes))
    assert seen == {(po, lanes) for po in space["linear_p_out"] for lanes in (4, 8)}
