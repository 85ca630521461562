"""CONV through the line buffer (buffers.conv_line_words): each input pixel crosses the bus
once per weight strip, the outputs stay byte-identical on golden, C-sim and RTL, and the
cycle model follows the RTL on the board's memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rtlutil as ru

from edgemoe.isa import Flag, Instr, Op, pack_ksp
from edgemoe.layout import conv_out_size, conv_uses_line
from edgemoe.params import ConfigError, load_accel
from edgemoe.perf import memory_timing, model_program
from edgemoe.perf.traffic import conv_line_schedule, lin_geometry, uses_line_buffer

#: the design of tests/test_perf_model.py's line-buffer span (one Verilator build for both)
LINE = ("buffers.conv_line_words=2048",)


def _line_design():
    return load_accel("tiny", LINE)


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(5)
    return [
        # through the line buffer (C_in a multiple of P_IN=4, (k + s) rows fit 2048)
        ru.conv(accel, rng, "line_3x3_pad_relu", 6, 7, 8, 6, 3, 1, 1, Flag.RELU | Flag.WFMT_CONV),
        ru.conv(accel, rng, "line_2x2_stride2", 5, 6, 4, 5, 2, 2, 1),
        ru.conv(accel, rng, "line_3x3_stride2_wide_pad_residual", 7, 5, 4, 3, 3, 2, 2,
                Flag.RESIDUAL),
        ru.conv(accel, rng, "line_3x3_stride2_no_pad", 7, 7, 4, 4, 3, 2, 0),  # last pixel reads 3
        ru.conv(accel, rng, "line_1x1", 3, 4, 8, 7, 1, 1, 0),
        ru.conv(accel, rng, "line_strips", 4, 5, 32, 96, 3, 1, 1),  # 4 weight strips
        # every tap from memory: rows too wide, C_in not whole words, planar pixels
        ru.conv(accel, rng, "taps_rows_too_wide", 3, 40, 16, 4, 3, 1, 1),
        ru.conv(accel, rng, "taps_odd_channels", 4, 5, 3, 6, 3, 1, 1),
        ru.conv(accel, rng, "taps_pixels", 6, 7, 2, 4, 3, 2, 1, Flag.PIXEL_INPUT),
    ]


def _conv(h: int, w: int, ci: int, k: int, s: int, p: int, flags: int = 0) -> Instr:
    return Instr.make(Op.CONV, flags, in_h=h, in_w=w, in_ch=ci, out_ch=4,
                      kernel_stride_pad=pack_ksp(k, s, p), src=0, dst=1 << 16,
                      weights=1 << 17, bias=1 << 18)


# ------------------------------------------------------------------ schedule and model
def _take(fills, i: int, ci: int, w: int, rows: int, read: dict, held: dict) -> None:
    """Record the input pixels ``fills`` (element offset, elements) read at pixel ``i``."""
    for off, n in fills:
        assert off % ci == 0 and n % ci == 0
        for e in range(off // ci, (off + n) // ci):
            y, x = divmod(e, w)
            assert (y, x) not in read, f"pixel {(y, x)} read twice"
            read[(y, x)] = i
            held[(y % rows, x)] = y


@pytest.mark.unit
@pytest.mark.parametrize(("h", "w", "k", "s", "p"), [
    (6, 7, 3, 1, 1), (5, 6, 2, 2, 1), (7, 5, 3, 2, 2), (7, 7, 3, 2, 0), (3, 4, 1, 1, 0),
    (9, 9, 2, 3, 0), (4, 4, 3, 1, 0)])
def test_line_schedule_reads_every_needed_input_pixel_once(h, w, k, s, p):
    """Each input pixel a tap uses is read exactly once, before the first tap that uses it,
    and never into a slot a later tap of the same output row still reads."""
    ci = 4
    ins = _conv(h, w, ci, k, s, p)
    steps = conv_line_schedule(ins)
    oh, ow = conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)
    assert len(steps) == oh * ow
    held: dict[int, int] = {}  # slot -> input row it holds (per pixel: whole rows)
    read: dict[tuple[int, int], int] = {}
    rows = k + s
    for i, st in enumerate(steps):
        oy, ox = divmod(i, ow)
        _take(st.first, i, ci, w, rows, read, held)
        for ky in range(k):
            for kx in range(k):
                y, x = oy * s - p + ky, ox * s - p + kx
                if 0 <= y < h and 0 <= x < w:
                    assert read.get((y, x)) is not None, (i, y, x)
                    assert held.get((y % rows, x)) == y, (i, y, x)
        _take(st.ahead, i, ci, w, rows, read, held)
    used = {(oy * s - p + ky, ox * s - p + kx) for oy in range(oh) for ox in range(ow)
            for ky in range(k) for kx in range(k)}
    needed = {(y, x) for y, x in used if 0 <= y < h and 0 <= x < w}
    assert needed <= set(read)
    # rows beyond the last output row's window are never read
    assert all(y <= (oh - 1) * s - p + k - 1 for y, _ in read)


@pytest.mark.unit
def test_line_buffer_choice_and_its_config_key():
    accel = _line_design()
    assert accel.conv_line_words == 2048
    # (k + s) * in_w * in_ch elements must fit; HWC input with whole P_IN words only
    assert conv_uses_line(1024, 4, 3, 1, 8, 32, False)  # 4 * 8 * 32 = 1024
    assert not conv_uses_line(1024, 4, 3, 1, 9, 32, False)
    assert not conv_uses_line(1024, 4, 3, 1, 4, 6, False)
    assert not conv_uses_line(1024, 4, 3, 1, 4, 8, True)
    assert not conv_uses_line(0, 4, 1, 1, 1, 4, False)
    # design points without the key keep their identity; a value changes it
    assert load_accel("tiny").config_id != accel.config_id
    assert "conv_line_words" not in load_accel("tiny").to_dict()["buffers"]
    with pytest.raises(ConfigError, match="conv_line_words"):
        load_accel("tiny", ("buffers.conv_line_words=6",))
    with pytest.raises(ConfigError, match="conv_line_words"):
        load_accel("tiny", ("buffers.conv_line_words=-4",))


@pytest.mark.unit
def test_fit_check_counts_the_line_buffer():
    base = load_accel("edge-moe-zcu102", ("buffers.conv_line_words=0",)).fit_report()
    big = load_accel("edge-moe-zcu102", ("buffers.conv_line_words=131072",)).fit_report()
    used = {r.name: r.used for r in base.resources}
    used_big = {r.name: r.used for r in big.resources}
    # 131072 32-bit elements in 512-bit words: at least 131072 * 32 / 36864 BRAM36
    assert used_big["BRAM36"] - used["BRAM36"] >= math.ceil(131072 * 32 / 36864)
    assert any(c == "conv_line" for c, _, _ in big.estimate.breakdown)


@pytest.mark.unit
def test_line_buffer_reads_the_input_once_per_strip_in_the_model():
    accel = _line_design()
    h, w, ci, co, k = 4, 5, 32, 96, 3
    ins = Instr.make(Op.CONV, Flag.WFMT_CONV, in_h=h, in_w=w, in_ch=ci, out_ch=co,
                     kernel_stride_pad=pack_ksp(k, 1, 1), src=0, dst=1 << 16,
                     weights=1 << 17, bias=1 << 18)
    line = model_program([ins], accel).ops[0]
    taps = model_program([ins], load_accel("tiny")).ops[0]
    strips = lin_geometry(accel, co, ci * k * k, 2).strips
    assert strips == 4
    act = 4
    assert line.traffic.read_bytes - line.traffic.weight_bytes == strips * h * w * ci * act
    # every in-bounds tap, every strip: (3*3 - edges) taps of ci elements per pixel
    in_bounds = sum(sum(0 <= oy - 1 + ky < h for ky in range(k)) *
                    sum(0 <= ox - 1 + kx < w for kx in range(k))
                    for oy in range(h) for ox in range(w))
    assert taps.traffic.read_bytes - taps.traffic.weight_bytes == strips * in_bounds * ci * act


# ------------------------------------------------------------------ executors
@pytest.mark.csim
def test_csim_line_buffer_matches_golden():
    from edgemoe.flow.csim import CsimExecutor
    from edgemoe.golden import execute
    from edgemoe.isa import encode_bytes

    accel = _line_design()
    csim = CsimExecutor(accel)
    for c in _cases(accel):
        s = c.scratch
        code = encode_bytes(c.program)
        s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
        gold, got = s.image.copy(), s.image.copy()
        assert execute(gold, accel, s.program, len(c.program), 0, 0) == 0, c.name
        assert csim.execute(got, s.program, len(c.program), 0, 0) == 0, c.name
        out = ru.Outcome(c, got, gold, 0, 0, 0, False, None)
        assert out.problems() == [], c.name


@pytest.fixture(scope="module")
def rtl_outcomes():
    from edgemoe.rtl import RtlsimExecutor

    accel = _line_design()
    ex = RtlsimExecutor(accel, memory=memory_timing(accel).bench_spec())
    return accel, ru.run_cases(ex, _cases(accel), monitor=True)


@pytest.mark.sim
@pytest.mark.parametrize("name", [c.name for c in _cases(_line_design())])
def test_rtl_line_buffer_matches_golden_and_the_model(rtl_outcomes, name):
    accel, outcomes = rtl_outcomes
    out = outcomes[name]
    assert out.golden_error == 0
    assert out.problems() == [], name
    measured = int(out.rtl[64:72].view("<u8")[0])
    modelled = model_program(out.case.program, accel).ops[0]
    assert uses_line_buffer(out.case.program[0], accel) == name.startswith("line_")
    if name.startswith("line_"):  # the schedule this file adds
        assert math.isclose(modelled.cycles, measured, rel_tol=0.05), (name, modelled, measured)
    # the R beats the engine took on the bus (owner 0 is the dispatcher's program fetch)
    beats = sum(v for owner, v in out.monitor["r_beats"].items() if str(owner) != "0")
    assert beats == modelled.traffic.read_beats, name
