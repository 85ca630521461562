"""Calibration of the fit check by Yosys counts of single RTL modules.

``edgemoe/data/yosys_area.json`` holds LUT / FF / DSP counts of RTL modules synthesized
alone (``edgemoe synth --accel A --top MODULE --fast``; its date and command are in the
file) at two or more design points.  The fit check's physical model (edgemoe.params.fit:
multipliers mapped to DSP slices, adders and fixed costs to LUTs) gives each component a
count; the module that implements the component is modelled as

    measured = a + k * physical

with ``a`` and ``k`` taken per (component, resource) from the measured points: piecewise,
a line through each two neighbouring points (sorted by physical count), the first and last
lines extended beyond them (``a = 0`` with one point).  So the estimate passes through every
measurement and never extrapolates below the largest one (the measured 256-MAC linear
engine lies well above the line through its 16- and 64-MAC counts).  The
physical count carries how a component grows with its lanes and formats, the fit what
synthesis really spends on it (control, numerics per lane, registers).  FF is fitted
against the physical LUT count.

A module may implement several components (``edgemoe_attn``: the act attention and its
int8 mode).  A point whose design builds only one of them calibrates it as above; a point
that builds more than one calibrates, in a second pass, the one without a curve from the
residual: the measured count minus the calibrated counts of the others at that point.  So
the int8 mode is what synthesis adds to the act engine, and the act engine's curve stays
the one its own points give.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CALIBRATED", "COMPONENTS_OF", "INSTANCES", "MODULE_OF", "Curve", "Line", "calibrate",
           "calibration", "design_counts", "fit_curves", "fit_lines", "load_measurements",
           "physical_counts"]

#: Fit-check component -> the RTL module (rtl_templates) that implements it (int8
#: attention is a mode of the act attention module).
MODULE_OF = {
    "linear": "edgemoe_lin", "linear_q4": "edgemoe_lin_q4", "attention": "edgemoe_attn",
    "attention_q8": "edgemoe_attn", "layernorm": "edgemoe_ln",
    "vector": "edgemoe_eltwise", "pool": "edgemoe_pool", "moe_gate": "edgemoe_router",
    "upsample": "edgemoe_upsample", "control": "edgemoe_ctrl",
    "read_dma": "edgemoe_rd_dma", "write_dma": "edgemoe_wr_dma",
}
#: RTL module -> the components it implements (the inverse of :data:`MODULE_OF`).
COMPONENTS_OF: dict[str, tuple[str, ...]] = {
    m: tuple(c for c, mod in MODULE_OF.items() if mod == m) for m in dict.fromkeys(MODULE_OF.values())}
#: Instances of a module in the RTL top (the read DMA: activations and weight prefetch).
INSTANCES = {"edgemoe_rd_dma": 2}
#: Resources the calibration covers (memories keep the physical model: Yosys infers the
#: same blocks the model counts, or LUTRAM for the small ones).
CALIBRATED = ("LUT", "FF", "DSP")


class Line(NamedTuple):
    """``(a, k)``: measured = a + k * physical."""

    a: float
    k: float

    def __call__(self, physical: float) -> float:
        """The calibrated count of a component whose physical count is ``physical``."""
        return max(0.0, self.a + self.k * physical)


class Curve(NamedTuple):
    """Piecewise line through measured points: ``knots`` are ``(physical, line)`` pairs,
    sorted; a physical count uses the line of the last knot at or below it (the first
    line below the first knot)."""

    knots: tuple[tuple[float, Line], ...]

    def __call__(self, physical: float) -> float:
        """The calibrated count of a component whose physical count is ``physical``."""
        line = self.knots[0][1]
        for start, segment in self.knots[1:]:
            if physical >= start:
                line = segment
        return line(physical)


def physical_counts(items) -> dict[str, dict[str, int]]:
    """Component -> resource -> count of physical-model items (``fit.physical_items``)."""
    out: dict[str, dict[str, int]] = {}
    for comp, res, amount in items:
        out.setdefault(comp, {})
        out[comp][res] = out[comp].get(res, 0) + amount
    return out


def load_measurements() -> dict:
    """The measured counts file (``points``: accel, set, module and counts)."""
    text = resources.files("edgemoe.data").joinpath("yosys_area.json").read_text()
    return json.loads(text)


def _line(xs: list[float], ys: list[float]) -> Line:
    if not any(xs):  # nothing in the model (e.g. the dispatcher's DSPs): a constant
        return Line(sum(ys) / len(ys), 0.0)
    if len(set(xs)) < 2:  # one design point (or no spread): proportional
        return Line(0.0, sum(ys) / sum(xs))
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return Line(my - k * mx, k)


def fit_lines(pairs: dict[tuple[str, str], list[tuple[float, float]]]
              ) -> dict[tuple[str, str], Line]:
    """(component, resource) -> its line, from (physical, measured) pairs."""
    return {key: _line([p for p, _ in v], [m for _, m in v]) for key, v in pairs.items() if v}


def _curve(points: list[tuple[float, float]]) -> Curve:
    by_x: dict[float, list[float]] = {}
    for x, y in points:  # design points with one physical count: their mean
        by_x.setdefault(x, []).append(y)
    xs = sorted(by_x)
    ys = [sum(by_x[x]) / len(by_x[x]) for x in xs]
    if len(xs) < 2:
        return Curve(((xs[0], _line(xs, ys)),))
    return Curve(tuple((xs[i] if i else -math.inf, _line(xs[i:i + 2], ys[i:i + 2]))
                       for i in range(len(xs) - 1)))


def fit_curves(pairs: dict[tuple[str, str], list[tuple[float, float]]]
               ) -> dict[tuple[str, str], Curve]:
    """(component, resource) -> its piecewise line through (physical, measured) pairs."""
    return {key: _curve(v) for key, v in pairs.items() if v}


@functools.cache
def design_counts(accel: str, sets: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Component -> resource -> physical count of a measured design point."""
    from . import load_accel
    from .fit import physical_items

    return physical_counts(physical_items(load_accel(accel, sets))[0])


def _x(counts: dict[str, int], res: str) -> float:
    """The physical count a resource's curve is fitted against (FF: the LUT count)."""
    return float(counts.get("LUT" if res == "FF" else res, 0))


def calibrate(points: list[dict], counts: Callable[[str, tuple[str, ...]], dict] = design_counts
              ) -> dict[tuple[str, str], Curve]:
    """(component, resource) -> curve, fitted from measured ``points`` (the file's
    ``points``); ``counts(accel, set)`` gives a design's physical counts."""
    single: dict[tuple[str, str], list[tuple[float, float]]] = {}
    shared = []
    for point in points:
        phys = counts(point["accel"], tuple(point.get("set", ())))
        built = [c for c in COMPONENTS_OF[point["module"]] if c in phys]
        measured = {r: float(point[r] * INSTANCES.get(point["module"], 1)) for r in CALIBRATED}
        if len(built) > 1:
            shared.append((built, phys, measured))
            continue
        for comp in built:
            for res in CALIBRATED:
                single.setdefault((comp, res), []).append((_x(phys[comp], res), measured[res]))
    curves = fit_curves(single)
    residual: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for built, phys, measured in shared:
        for res in CALIBRATED:
            todo = [c for c in built if (c, res) not in curves]
            if len(todo) != 1:  # all calibrated already, or no way to split the count
                continue
            rest = sum(curves[(c, res)](_x(phys[c], res)) for c in built if c not in todo)
            residual.setdefault((todo[0], res), []).append(
                (_x(phys[todo[0]], res), measured[res] - rest))
    curves.update(fit_curves(residual))
    return curves


@functools.lru_cache(maxsize=1)
def calibration() -> dict[tuple[str, str], Curve]:
    """(component, resource) -> curve, fitted from the measurements (computed once)."""
    return calibrate(load_measurements()["points"])
