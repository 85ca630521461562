"""LAYERNORM's row ring (edgemoe_ln.sv, edgemoe.perf.engines): row reads go out while the
rows before them are still in the engine, so the read latency is paid about once per
instruction, in the RTL on the board's memory and in the cycle model."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from edgemoe.isa import Instr, Op, encode
from edgemoe.params import load_accel
from edgemoe.perf import memory_timing, model_program

#: (tokens, dim) on tiny (2 vector lanes, 16-byte bus): statistics-bound rows, output-
#: bound rows of 512, a short odd one (fewer rows than the ring holds).
SHAPES = [(197, 48), (16, 512), (3, 7)]
SRC, DST, GAMMA, STATUS = 1 << 16, 1 << 19, 1 << 14, 1 << 11


def _layernorm(tokens: int, dim: int) -> Instr:
    return Instr.make(Op.LAYERNORM, tokens=tokens, dim=dim, src=SRC, dst=DST, gamma=GAMMA,
                      beta=GAMMA + 4096, eps=4295)


@pytest.mark.unit
def test_modelled_read_latency_is_paid_once_not_per_row():
    """Doubling the read latency adds a few latencies to 197 rows, not 197 of them."""
    accel = load_accel("tiny")
    mem = memory_timing(accel)
    slow = replace(mem, latency=2 * mem.latency)
    ins = _layernorm(197, 48)
    fast_c = model_program([ins], accel, memory=mem).ops[0].cycles
    slow_c = model_program([ins], accel, memory=slow).ops[0].cycles
    assert mem.latency <= slow_c - fast_c <= 4 * mem.latency, (fast_c, slow_c)


@pytest.mark.sim
def test_rtl_layernorm_hides_the_read_latency_and_matches_the_model():
    """RTL on the board's memory: byte-identical with golden, within 5% of the model, and
    on statistics-bound rows faster than any row-at-a-time reader can be (each row's
    latency plus its words)."""
    from edgemoe.golden import execute
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel = load_accel("tiny")
    mem = memory_timing(accel)
    rng = np.random.default_rng(3)
    jobs, golds = [], []
    for tokens, dim in SHAPES:
        image = np.zeros(1 << 21, np.uint8)
        image[0:64] = np.frombuffer(encode([_layernorm(tokens, dim)]).tobytes(), np.uint8)
        image[SRC:SRC + tokens * dim * 4] = rng.integers(0, 256, tokens * dim * 4, np.uint8)
        image[GAMMA:GAMMA + 8192] = rng.integers(0, 256, 8192, np.uint8)
        gold = image.copy()
        assert execute(gold, accel, 0, 1, 0, STATUS) == 0
        jobs.append(RtlJob(image.copy(), 0, 1, 0, STATUS))
        golds.append(gold)
    results = RtlsimExecutor(accel, memory=mem.bench_spec()).run_jobs(jobs)
    for (tokens, dim), job, res, gold in zip(SHAPES, jobs, results, golds):
        assert res.error == 0
        out = slice(DST, DST + tokens * dim * 4)
        assert np.array_equal(job.image[out], gold[out]), (tokens, dim)
        rtl = int(job.image[STATUS + 64:STATUS + 72].view("<u8")[0])
        modelled = model_program([_layernorm(tokens, dim)], accel, memory=mem).ops[0].cycles
        assert math.isclose(modelled, rtl, rel_tol=0.05), (tokens, dim, modelled, rtl)
        if (tokens, dim) == SHAPES[0]:
            # a reader that waits for each row pays its latency and its words per row (the
            # other shapes are bound by their output words, which no read order changes)
            row_words = math.ceil(dim / accel.vector_lanes)
            assert rtl < tokens * (mem.latency + row_words), (tokens, dim, rtl)
