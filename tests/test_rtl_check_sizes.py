"""The RTL checker's divisions (CONV output size, POOL windows) against golden, exactly.

The checker divides by the byte-wide stride with dividers only as wide as the instruction
fields allow (edgemoe.opexpr ``max_bits``).  Each case is one instruction placed so that a
size off by one changes the outcome: its output ends exactly at the end of the image and
the next operand is misaligned (MISALIGNED when the size is right, OUT_OF_RANGE when it is
one row too big), or it sits on the output-size limit (BAD_SHAPE one row over it).
"""

from __future__ import annotations

import numpy as np
import pytest
from rtldesigns import design, executor

from edgemoe.golden import execute
from edgemoe.isa import Err, Instr, Op, PoolMode, encode_bytes, pack_ksp
from edgemoe.layout import conv_out_size
from edgemoe.rtl import RtlJob

pytestmark = pytest.mark.sim

SIZE = 1 << 16
PROGRAM = 1024
BOUND = 20_000


def _end_at_image_end(nbytes: int) -> int:
    """Offset of an output of ``nbytes`` (a multiple of 64) ending at the image end; 64
    when it cannot fit (then any size gives OUT_OF_RANGE)."""
    return SIZE - nbytes if nbytes <= SIZE - 64 else 64


def _conv(h: int, w: int, k: int, s: int, p: int) -> Instr:
    # 16 output channels: an output row is 64 * ow bytes, so one row more never fits
    oh, ow = conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)
    return Instr.make(Op.CONV, in_h=h, in_w=w, in_ch=1, out_ch=16,
                      kernel_stride_pad=pack_ksp(k, s, p), src=4096,
                      dst=_end_at_image_end(max(oh, 0) * max(ow, 0) * 64), weights=3, bias=3)


def _pool(h: int, w: int, k: int, s: int) -> Instr:
    oh = -(-(max(h, k) - k) // max(s, 1)) + 1
    ow = -(-(max(w, k) - k) // max(s, 1)) + 1
    return Instr.make(Op.POOL, in_h=h, in_w=w, channels=16, mode=int(PoolMode.MAX),
                      kernel_stride_pad=pack_ksp(k, s, 0), src=4096,
                      dst=_end_at_image_end(oh * ow * 64), gate=3)


CASES = [
    _conv(37, 41, 3, 2, 1), _conv(64, 64, 7, 3, 3), _conv(100, 9, 5, 255, 0),
    _conv(9, 100, 27, 1, 26), _conv(30, 31, 4, 7, 2), _conv(2, 2, 3, 1, 0),
    # on the output-size limit (65536) and one over it
    _conv(65536, 1, 1, 1, 0), _conv(65535, 1, 1, 1, 1), _conv(65536, 1, 3, 1, 2),
    _conv(65536, 1, 2, 1, 1), _conv(65536, 1, 255, 255, 254),
    _pool(31, 17, 3, 2), _pool(32, 32, 3, 3), _pool(9, 40, 2, 1), _pool(1000, 1, 3, 2),
]


def test_conv_and_pool_sizes_end_like_golden():
    accel = design("tiny")
    jobs, golds, errs = [], [], []
    for ins in CASES:
        img = np.zeros(SIZE, np.uint8)
        prog = encode_bytes([ins])
        img[PROGRAM:PROGRAM + len(prog)] = np.frombuffer(prog, np.uint8)
        gold = img.copy()
        errs.append(execute(gold, accel, PROGRAM, 1, 0, 0))
        golds.append(gold)
        jobs.append(RtlJob(img, PROGRAM, 1, 0, 0, max_cycles=BOUND))
    assert {Err.MISALIGNED, Err.OUT_OF_RANGE, Err.BAD_SHAPE} <= set(errs), \
        "the cases must reach each outcome"
    results = executor("tiny").run_jobs(jobs)
    for ins, job, gold, err, res in zip(CASES, jobs, golds, errs, results):
        what = f"{Op(ins.op).name} {ins.named()}"
        assert not res.timed_out, what
        assert res.error == err, what
        assert np.array_equal(job.image[:PROGRAM], gold[:PROGRAM]), what
