"""The fit check against the committed Yosys counts of single RTL modules.

The expected figures are the measurements in edgemoe/data/yosys_area.json (made by the
command recorded there), never the model's own output: the estimate of every measured
component must stay within a stated band of them, and a fit that leaves one design point
out must still predict it (the calibration extrapolates, it does not only interpolate).
"""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.params.fit import estimate
from edgemoe.params.fit_calibration import (
    CALIBRATED,
    COMPONENTS_OF,
    INSTANCES,
    MODULE_OF,
    calibrate,
    calibration,
    design_counts,
    fit_curves,
    fit_lines,
    load_measurements,
)

pytestmark = pytest.mark.unit

#: In-sample band: the calibrated estimate of a measured component against its count.
IN_SAMPLE = 0.05
#: Leave-one-design-point-out band (a line fitted without the point predicts it).
HELD_OUT = 0.35

DATA = load_measurements()


def _key(point: dict) -> tuple[str, tuple[str, ...]]:
    return point["accel"], tuple(point.get("set", ()))


def _measured(point: dict, res: str) -> int:
    return point[res] * INSTANCES.get(point["module"], 1)


def _built(point: dict) -> list[str]:
    """The components of the point's module its design builds."""
    phys = design_counts(*_key(point))
    return [c for c in COMPONENTS_OF[point["module"]] if c in phys]


def test_measurements_are_dated_reproducible_and_cover_two_design_points():
    assert DATA["date"] and "edgemoe synth" in DATA["command"] and "--top" in DATA["command"]
    assert {p["module"] for p in DATA["points"]} <= set(MODULE_OF.values())
    assert len({_key(p) for p in DATA["points"]}) >= 2
    for p in DATA["points"]:
        load_accel(p["accel"], tuple(p.get("set", ())))  # every point is a valid design
        assert all(isinstance(p[r], int) and p[r] >= 0 for r in CALIBRATED)


def test_fit_lines_recovers_a_line_and_a_constant():
    lines = fit_lines({("x", "LUT"): [(10.0, 120.0), (30.0, 160.0), (20.0, 140.0)],
                       ("x", "DSP"): [(0.0, 7.0), (0.0, 9.0)],
                       ("y", "LUT"): [(50.0, 100.0)]})
    assert lines[("x", "LUT")] == pytest.approx((100.0, 2.0))
    assert lines[("x", "DSP")] == pytest.approx((8.0, 0.0))   # no model: the mean
    assert lines[("y", "LUT")] == pytest.approx((0.0, 2.0))   # one point: proportional
    assert lines[("x", "LUT")](40.0) == pytest.approx(180.0)


def test_fit_curves_pass_through_every_point_and_extend_the_end_lines():
    curves = fit_curves({("x", "LUT"): [(10.0, 100.0), (30.0, 300.0), (20.0, 120.0)],
                         ("x", "DSP"): [(0.0, 7.0), (0.0, 9.0)],
                         ("y", "LUT"): [(50.0, 100.0), (50.0, 140.0)]})
    bent = curves[("x", "LUT")]
    assert [bent(x) for x in (10.0, 20.0, 30.0)] == pytest.approx([100.0, 120.0, 300.0])
    assert bent(15.0) == pytest.approx(110.0)    # between two points: their line
    assert bent(40.0) == pytest.approx(480.0)    # above the last: the last line, not lower
    assert bent(5.0) == pytest.approx(90.0)      # below the first: the first line
    assert curves[("x", "DSP")](123.0) == pytest.approx(8.0)  # no model: the mean
    assert curves[("y", "LUT")](100.0) == pytest.approx(240.0)  # one count: proportional


def test_the_linear_engine_is_not_estimated_below_its_largest_measurement():
    """The 256-MAC edgemoe_lin (edge-moe-zcu102) bounds every larger engine from below."""
    largest = max((p for p in DATA["points"] if p["module"] == "edgemoe_lin"),
                  key=lambda p: p["DSP"])
    grown = load_accel(largest["accel"], tuple(largest.get("set", ())) + ("linear_p_in=32",))
    assert estimate(grown, rtl=True).by_component("LUT")["linear"] > largest["LUT"]


@pytest.mark.parametrize("point", DATA["points"],
                         ids=lambda p: f"{p['accel']}{'+' if p.get('set') else ''}-{p['module']}")
def test_estimate_is_within_the_band_of_each_measured_module(point):
    """The module's components the design builds, summed, against its count."""
    accel = load_accel(point["accel"], tuple(point.get("set", ())))
    comps = _built(point)
    est = estimate(accel, rtl=True)
    for res in CALIBRATED:
        got = sum(est.by_component(res).get(c, 0) for c in comps)
        want = _measured(point, res)
        assert abs(got - want) <= IN_SAMPLE * want + 2, (comps, res, got, want)


def test_a_fit_without_a_design_point_predicts_it():
    """Leave each design point out, fit the rest, predict it (the sum of the module's
    components it builds): LUT within HELD_OUT."""
    points = DATA["points"]
    designs = {_key(p) for p in points}
    checked = []
    for out in designs:
        curves = calibrate([p for p in points if _key(p) != out])
        phys = design_counts(*out)
        for p in points:
            comps = _built(p)
            if _key(p) == out and comps and all((c, "LUT") in curves for c in comps):
                got = sum(curves[(c, "LUT")](phys[c]["LUT"]) for c in comps)
                want = _measured(p, "LUT")
                checked.append((tuple(comps), out, round(got), want))
                assert abs(got - want) <= HELD_OUT * want, (comps, out, got, want)
    assert len(checked) >= 3, "too few modules measured at two design points"


#: Physical counts of made-up designs for the shared-module tests (attention and its int8
#: mode share edgemoe_attn).
_FAKE = {"act4": {"attention": {"LUT": 100, "DSP": 10}},
         "act8": {"attention": {"LUT": 200, "DSP": 20}},
         "both4": {"attention": {"LUT": 100, "DSP": 10}, "attention_q8": {"LUT": 50, "DSP": 5}},
         "both8": {"attention": {"LUT": 200, "DSP": 20}, "attention_q8": {"LUT": 100, "DSP": 10}}}


def _fake_point(accel: str, lut: int, ff: int, dsp: int) -> dict:
    return {"accel": accel, "set": [], "module": "edgemoe_attn", "LUT": lut, "FF": ff, "DSP": dsp}


def test_a_shared_module_calibrates_the_uncalibrated_component_from_the_residual():
    act = [_fake_point("act4", 1000, 300, 40), _fake_point("act8", 1800, 500, 70)]
    both = [_fake_point("both4", 1600, 420, 55), _fake_point("both8", 3000, 800, 100)]
    curves = calibrate(act + both, counts=lambda accel, sets: _FAKE[accel])
    q8 = {res: curves[("attention_q8", res)] for res in CALIBRATED}
    # the residuals: 1600 - 1000 at 50 LUT, 3000 - 1800 at 100; FF against LUT; DSP 15 and 30
    assert [q8["LUT"](x) for x in (50.0, 100.0, 150.0)] == pytest.approx([600.0, 1200.0, 1800.0])
    assert [q8["FF"](x) for x in (50.0, 100.0)] == pytest.approx([120.0, 300.0])
    assert [q8["DSP"](x) for x in (5.0, 10.0)] == pytest.approx([15.0, 30.0])
    # the act engine keeps the curve its own points give, in any order of the points
    alone = calibrate(act, counts=lambda accel, sets: _FAKE[accel])
    assert all(curves[("attention", r)] == alone[("attention", r)] for r in CALIBRATED)
    assert calibrate(both + act, counts=lambda accel, sets: _FAKE[accel]) == curves


def test_a_shared_module_without_a_calibrated_component_stays_physical():
    """Two uncalibrated components in one count: no way to split it, neither is fitted."""
    curves = calibrate([_fake_point("both4", 1600, 420, 55)],
                       counts=lambda accel, sets: _FAKE[accel])
    assert curves == {}


def test_int8_attention_is_calibrated_and_only_where_it_is_built():
    lines = calibration()
    assert all(("attention_q8", r) in lines for r in CALIBRATED)
    assert COMPONENTS_OF["edgemoe_attn"] == ("attention", "attention_q8")
    assert MODULE_OF["attention_q8"] == MODULE_OF["attention"]
    dense = estimate(load_accel("edge-moe-zcu102"), rtl=True)   # does not build attn_q8
    assert all("attention_q8" not in dense.by_component(r) for r in CALIBRATED)
