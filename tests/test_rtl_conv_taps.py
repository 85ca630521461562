"""A CONV through im2col taps (no line buffer) reads many short taps a token: a patch
embedding over CHW pixels reads 3 x 16 taps of 16 pixels per 16x16 patch.  The read DMA keeps
8 commands in flight (edgemoe_rd_dma.sv META_DEPTH), so such a token is paced by the read
latency over those 8, not by the taps' bytes (edgemoe.perf.engines LIN_CMD_FLIGHT).  MEASURED
RTL cycles on tiny with the board's port rate at two read latencies, against edgemoe.perf
(MODELLED): 4,399 / 4,303 cycles at 64 cycles of latency, 7,599 / 7,503 at 128; without the
commands-in-flight bound the model said 2,826 (-36%) and 3,242 (-57%)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import rtldesigns
import rtlutil

from edgemoe.isa import Flag
from edgemoe.perf import model_program
from edgemoe.rtl import RtlsimExecutor


@pytest.mark.sim
def test_patch_embedding_is_paced_by_the_reads_in_flight():
    accel = rtldesigns.design("slots2")  # tiny at 300 MHz: 64 cycles of read latency
    _, mem64 = rtldesigns.board_executor("slots2")
    measured, modelled = {}, {}
    for latency in (64, 128):
        mem = dataclasses.replace(mem64, latency=latency)
        case = rtlutil.conv(accel, np.random.default_rng(7), "patch", 32, 64, 3, 4, 16, 16, 0,
                            Flag.PIXEL_INPUT | Flag.WFMT_PATCH)
        ex = RtlsimExecutor(accel, memory=mem.bench_spec())
        out = rtlutil.run_cases(ex, [case])["patch"]
        assert not out.problems(), out.problems()
        measured[latency] = rtlutil.profile_cycles(out.rtl)
        modelled[latency] = model_program(case.program, accel, memory=mem).ops[0].cycles
        assert math.isclose(modelled[latency], measured[latency], rel_tol=0.05), (
            latency, modelled, measured)
    # 8 tokens of 48 taps: 64 more cycles of latency cost about 48 * 64 / 8 a token
    assert measured[128] - measured[64] > 0.8 * 8 * 48 * 64 / 8, measured
