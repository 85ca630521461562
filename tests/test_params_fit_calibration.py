"""The fit check against the committed Yosys counts of single RTL modules.

The expected figures are the measurements in edgemoe/data/yosys_area.json (made by the
command recorded there), never the model's own output: the estimate of every measured
component must stay within a stated band of them, and a fit that leaves one design point
out must still predict it (the calibration extrapolates, it does not only interpolate).
"""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.params.fit import estimate, physical_items
from edgemoe.params.fit_calibration import (
    CALIBRATED,
    INSTANCES,
    MODULE_OF,
    fit_curves,
    fit_lines,
    load_measurements,
    physical_counts,
)

pytestmark = pytest.mark.unit

#: In-sample band: the calibrated estimate of a measured component against its count.
IN_SAMPLE = 0.05
#: Leave-one-design-point-out band (a line fitted without the point predicts it).
HELD_OUT = 0.35

DATA = load_measurements()
COMPONENT = {m: c for c, m in MODULE_OF.items()}


def _key(point: dict) -> tuple[str, tuple[str, ...]]:
    return point["accel"], tuple(point.get("set", ()))


def _measured(point: dict, res: str) -> int:
    return point[res] * INSTANCES.get(point["module"], 1)


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
    accel = load_accel(point["accel"], tuple(point.get("set", ())))
    comp = COMPONENT[point["module"]]
    est = estimate(accel, rtl=True)
    for res in CALIBRATED:
        got = est.by_component(res).get(comp, 0)
        want = _measured(point, res)
        assert abs(got - want) <= IN_SAMPLE * want + 2, (comp, res, got, want)


def test_a_fit_without_a_design_point_predicts_it():
    """Leave each design point out, fit the rest, predict it: LUT within HELD_OUT."""
    points = DATA["points"]
    designs = {_key(p) for p in points}
    phys = {k: physical_counts(physical_items(load_accel(k[0], k[1]))[0]) for k in designs}
    checked = []
    for out in designs:
        pairs: dict = {}
        for p in points:
            if _key(p) != out:
                comp = COMPONENT[p["module"]]
                pairs.setdefault((comp, "LUT"), []).append(
                    (float(phys[_key(p)][comp]["LUT"]), float(_measured(p, "LUT"))))
        lines = fit_curves(pairs)
        for p in points:
            comp = COMPONENT[p["module"]]
            if _key(p) == out and (comp, "LUT") in lines:
                got, want = lines[(comp, "LUT")](phys[out][comp]["LUT"]), _measured(p, "LUT")
                checked.append((comp, out, round(got), want))
                assert abs(got - want) <= HELD_OUT * want, (comp, out, got, want)
    assert len(checked) >= 3, "too few modules measured at two design points"
