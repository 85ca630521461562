"""W8A8 LINEAR and CONV cycles on the paired MAC array (edgemoe_lin_dot.sv, edgemoe_lin_pair.sv).

Output tiles 2j and 2j + 1 share the multipliers, so a MAC-bound int8 layer takes about
half the cycles of the same layer at W16 on the same build (measured on the RTL, both
byte-identical with golden); the op table's ideal count is t x pairs x input tiles, and
edgemoe.perf (loads, strips, tokens) stays within 10 % of the measured cycles.  A W8A8
layer's first weight strip arrives through the prefetch as tile pairs while the instruction
before it runs, so it skips its strip-0 load.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from q8conv import q8_conv
from q8util import q8_linear
from rtldesigns import design, executor

from edgemoe.isa import Instr, Op
from edgemoe.perf.memory import memory_timing
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.sim

#: tokens, out, in on ``tiny`` (4x4 tile): 16 output tiles (8 pairs) of 32 input tiles, one
#: strip; a token's 32 MAC beats (W8A8: 8 x 32 = 256 per token) outlast its row load.
SHAPE = (32, 64, 128)
#: A head-like conv on ``tiny``: (h, w, in_ch, out_ch), 3x3 same-size through the line buffer;
#: 8 output tiles (4 pairs) of 36 input tiles per output pixel, MAC-bound.
CONV = (4, 8, 16, 32)
#: Largest W8A8 / W16 measured cycle ratio of the MAC-bound layer (ideal: 0.5; the strip's
#: bias, multiplier and weight loads and the pipeline fill come on top).
PAIR_RATIO = 0.6
#: edgemoe.perf vs the measured W8A8 cycles.
PERF_MODEL_ERROR = 0.1



@pytest.fixture(scope="module")
def measured():
    accel = design("tiny")
    t, n, k = SHAPE
    q8 = q8_linear(accel, 41, t, n, k)
    h, w, ci, co = CONV
    conv = q8_conv(accel, 42, h, w, ci, co)
    # the same layer twice, the second with its own copy of the weights: its strip 0 is
    # prefetched (as W8A8 tile pairs) while the first runs
    twice = q8_linear(accel, 41, t, n, k)
    copy = twice.scratch.put(twice.scratch.image[twice.ins.get("weights"):][:n * k].copy())
    again = Instr.make(Op.LINEAR, twice.ins.flags, **{**twice.ins.named(), "weights": copy})
    cases = [ru.Case("q8", q8.scratch, [q8.ins]),
             ru.Case("q8_twice", twice.scratch, [twice.ins, again]),
             ru.linear(accel, np.random.default_rng(41), "w16", t, n, k),
             ru.Case("q8_conv", conv.scratch, [conv.ins]),
             ru.conv(accel, np.random.default_rng(42), "w16_conv", h, w, ci, co, 3, 1, 1)]
    return {c.name: c for c in cases}, ru.run_cases(executor("tiny"), cases)


def test_paired_array_halves_the_mac_cycles(measured):
    _, outs = measured
    for out in outs.values():
        assert out.golden_error == 0 and out.problems() == []
    t, n, k = SHAPE
    assert ru.profile_cycles(outs["q8"].golden) == t * (n // 4 // 2) * (k // 4)  # pairs x input tiles
    assert ru.profile_cycles(outs["w16"].golden) == t * (n // 4) * (k // 4)
    q8, w16 = ru.profile_cycles(outs["q8"].rtl), ru.profile_cycles(outs["w16"].rtl)
    assert q8 <= PAIR_RATIO * w16, (q8, w16)


def test_paired_array_halves_a_conv_s_mac_cycles(measured):
    _, outs = measured
    h, w, ci, co = CONV
    tiles_in = ci * 9 // 4
    assert ru.profile_cycles(outs["q8_conv"].golden) == h * w * (co // 4 // 2) * tiles_in
    assert ru.profile_cycles(outs["w16_conv"].golden) == h * w * (co // 4) * tiles_in
    q8, w16 = ru.profile_cycles(outs["q8_conv"].rtl), ru.profile_cycles(outs["w16_conv"].rtl)
    assert q8 <= PAIR_RATIO * w16, (q8, w16)


@pytest.mark.parametrize("name", ["q8", "q8_conv"])
def test_performance_model_matches_the_rtl(measured, name):
    cases, outs = measured
    modelled = model_program(cases[name].program, design("tiny")).ops[0].cycles
    rtl = ru.profile_cycles(outs[name].rtl)
    assert abs(modelled - rtl) <= PERF_MODEL_ERROR * rtl, (modelled, rtl)


def test_prefetched_w8a8_strip_skips_its_load(measured):
    """The second of two identical W8A8 layers takes its prefetched strip 0: it saves at
    least 80 % of the strip's R beats (one strip here: 16 x 32 int8 tiles of 16 bytes)."""
    _, outs = measured
    out = outs["q8_twice"]
    assert out.golden_error == 0 and out.problems() == []
    _, n, k = SHAPE
    beats = n * k // memory_timing(design("tiny")).bus_bytes
    alone, second = ru.profile_cycles(outs["q8"].rtl), ru.profile_cycles(out.rtl, 1)
    assert alone - second >= 0.8 * beats, (alone, second, beats)


def test_performance_model_matches_the_rtl_with_the_prefetch(measured):
    cases, outs = measured
    modelled = model_program(cases["q8_twice"].program, design("tiny")).ops[1].cycles
    rtl = ru.profile_cycles(outs["q8_twice"].rtl, 1)
    assert abs(modelled - rtl) <= PERF_MODEL_ERROR * rtl, (modelled, rtl)
