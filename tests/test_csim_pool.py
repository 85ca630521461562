"""C-sim against golden, byte for byte (profile words included): POOL (every mode), and CONV / LINEAR pieces that
accumulate in place with ReLU applied to the sum (the one-shot aggregation)."""

from __future__ import annotations

import pytest
from test_csim_ops import Prog, run_both

from edgemoe.golden.pool_ops import pool_recip
from edgemoe.isa import Flag, Op, PoolMode, pack_ksp

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def tiny():
    from edgemoe.flow.csim import CsimExecutor
    from edgemoe.params import load_accel

    accel = load_accel("tiny")
    return accel, CsimExecutor(accel)


@pytest.mark.parametrize("h,w,c,k,s", [(8, 8, 16, 3, 2), (7, 5, 3, 3, 2), (4, 4, 32, 3, 2),
                                       (3, 3, 5, 3, 2), (6, 9, 4, 2, 2), (5, 5, 2, 3, 1)])
def test_pool_max(tiny, h, w, c, k, s):
    p = Prog(tiny[0], seed=h * w * c)
    oh, ow = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    p.emit(Op.POOL, in_h=h, in_w=w, channels=c, kernel_stride_pad=pack_ksp(k, s, 0),
           mode=PoolMode.MAX, src=p.tensor(h * w * c, scale=None), dst=p.garbage(4 * oh * ow * c))
    run_both(tiny, p)


@pytest.mark.parametrize("h,w,c,k,s", [(8, 8, 16, 3, 2), (7, 5, 3, 3, 2), (3, 3, 5, 3, 2),
                                       (6, 9, 4, 2, 2), (5, 5, 2, 3, 1)])
def test_pool_avg(tiny, h, w, c, k, s):
    """Windowed mean, clipped windows dividing by their own count (ROM reciprocals)."""
    p = Prog(tiny[0], seed=h * w + c)
    oh, ow = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    p.emit(Op.POOL, in_h=h, in_w=w, channels=c, kernel_stride_pad=pack_ksp(k, s, 0),
           mode=PoolMode.AVG, src=p.tensor(h * w * c, scale=None), dst=p.garbage(4 * oh * ow * c))
    run_both(tiny, p)


@pytest.mark.parametrize("h,w,c,scale", [(8, 8, 32, 2.0), (4, 4, 7, None), (3, 5, 1, None),
                                         (1, 1, 9, 1.0), (56, 56, 3, None)])
def test_pool_global_avg(tiny, h, w, c, scale):
    p = Prog(tiny[0], seed=h + c)
    p.emit(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.GLOBAL_AVG,
           src=p.tensor(h * w * c, scale=scale), dst=p.garbage(4 * c), recip=pool_recip(h * w))
    run_both(tiny, p)


@pytest.mark.parametrize("in_place", [False, True])
def test_pool_scale(tiny, in_place):
    h, w, c = 4, 3, 20
    p = Prog(tiny[0], seed=5)
    src = p.tensor(h * w * c, scale=None, region="outputs")
    p.emit(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.SCALE, src=src,
           dst=src if in_place else p.garbage(4 * h * w * c), gate=p.tensor(c, scale=2.0))
    run_both(tiny, p)


def test_conv_pieces_accumulate_in_place_relu_last(tiny):
    h, w, co = 5, 4, 12
    p = Prog(tiny[0], seed=11)
    acc = p.garbage(4 * h * w * co)
    for i, ci in enumerate((6, 3, 5)):
        flags = Flag.WFMT_CONV | (Flag.RESIDUAL if i else 0) | (Flag.RELU if i == 2 else 0)
        p.emit(Op.CONV, flags, in_h=h, in_w=w, in_ch=ci, out_ch=co,
               kernel_stride_pad=pack_ksp(1, 1, 0), src=p.tensor(h * w * ci), dst=acc,
               weights=p.matrix(co, ci, p.f.conv_weight, scale=0.5), bias=p.vector(co),
               residual=acc)
    run_both(tiny, p)


def test_linear_relu_after_residual(tiny):
    p = Prog(tiny[0], seed=12)
    base = p.tensor(3 * 10, region="outputs")
    p.emit(Op.LINEAR, Flag.RELU | Flag.RESIDUAL, tokens=3, out_features=10, in_features=7,
           src=p.tensor(21), dst=base, weights=p.matrix(10, 7), bias=p.vector(10), residual=base)
    run_both(tiny, p)
