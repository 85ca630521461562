"""Golden POOL and accumulated pieces, against independent Python-integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch
from test_golden_ops import put_matrix, trn, wrap

from edgemoe.golden.pool_ops import pool_recip
from edgemoe.isa import Err, Flag, Instr, Op, PoolMode, pack_ksp

pytestmark = pytest.mark.golden
FRAC = 22  # tiny's activations: ap_fixed<32,10> (AP_TRN, AP_WRAP)


@pytest.mark.parametrize("h,w,k,s", [(8, 8, 3, 2), (7, 4, 3, 2), (3, 3, 3, 2), (5, 6, 2, 1)])
def test_max_pool_ceil_mode_windows(tiny, h, w, k, s):
    c = 5
    x = np.random.default_rng(h * w).integers(-(1 << 31), 1 << 31, size=(h, w, c))
    sc = Scratch(tiny)
    src = sc.put_raw(x, tiny.formats.act)
    oh, ow = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    dst = sc.alloc(oh * ow * c * 4)
    assert sc.run([Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.MAX,
                              kernel_stride_pad=pack_ksp(k, s, 0), src=src, dst=dst)]) == 0
    got = sc.get_raw(dst, oh * ow * c, tiny.formats.act).reshape(oh, ow, c)
    for i in range(oh):
        for j in range(ow):
            for ch in range(c):  # the window is clipped at the bottom/right edge
                window = [int(x[y, q, ch]) for y in range(i * s, min(i * s + k, h))
                          for q in range(j * s, min(j * s + k, w))]
                assert int(got[i, j, ch]) == max(window)


@pytest.mark.parametrize("h,w", [(4, 4), (3, 5), (7, 7), (1, 1), (56, 56)])
def test_global_avg_is_one_rounding_of_the_exact_mean(tiny, h, w):
    c = 6
    x = np.random.default_rng(h + w).integers(-(1 << 31), 1 << 31, size=(h * w, c))
    sc = Scratch(tiny)
    src, dst = sc.put_raw(x, tiny.formats.act), sc.alloc(4 * c)
    n = h * w
    assert sc.run([Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.GLOBAL_AVG,
                              src=src, dst=dst, recip=pool_recip(n))]) == 0
    got = sc.get_raw(dst, c, tiny.formats.act)
    for ch in range(c):
        total = sum(int(v) for v in x[:, ch])
        assert int(got[ch]) in (total // n, total // n - 1)  # floor of sum/n, recip error < 1
        e = (n - 1).bit_length()
        assert int(got[ch]) == trn(total * pool_recip(n), 30 + e)


@pytest.mark.parametrize("h,w,k,s", [(8, 8, 3, 2), (7, 4, 3, 2), (3, 3, 3, 2), (5, 6, 2, 1),
                                     (4, 5, 3, 1)])
def test_avg_pool_windows_divide_by_their_own_count(tiny, h, w, k, s):
    """Each clipped window's mean: floor of the exact mean (AP_TRN) or one below it (the
    31-bit reciprocal), and exactly the one-rounding product the issue defines."""
    c = 4
    x = np.random.default_rng(h * w + k).integers(-(1 << 31), 1 << 31, size=(h, w, c))
    sc = Scratch(tiny)
    src = sc.put_raw(x, tiny.formats.act)
    oh, ow = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    dst = sc.alloc(oh * ow * c * 4)
    assert sc.run([Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.AVG,
                              kernel_stride_pad=pack_ksp(k, s, 0), src=src, dst=dst)]) == 0
    got = sc.get_raw(dst, oh * ow * c, tiny.formats.act).reshape(oh, ow, c)
    counts = set()
    for i in range(oh):
        for j in range(ow):
            rows = range(i * s, min(i * s + k, h))
            cols = range(j * s, min(j * s + k, w))
            n = len(rows) * len(cols)
            counts.add(n)
            e = (n - 1).bit_length()
            recip = ((1 << (30 + e)) + n // 2) // n
            for ch in range(c):
                total = sum(int(x[y, q, ch]) for y in rows for q in cols)
                assert int(got[i, j, ch]) in (total // n, total // n - 1)
                assert int(got[i, j, ch]) == trn(total * recip, 30 + e)
    assert len(counts) > 1 or (h - k) % s == 0 and (w - k) % s == 0  # edges clipped


def test_pool_overflow_counts_saturated_means(tiny):
    """A SAT_SYM format's most negative code lies outside its range: a window of them
    averages to it and saturates (counted); a maximum never changes a value (not counted)."""
    from edgemoe.params import load_accel
    accel = load_accel("tiny", ("formats.act=ap_fixed<32,10,AP_TRN,AP_SAT_SYM>",))
    act = accel.formats.act
    x = np.zeros((3, 3, 2), np.int64)
    x[:2, :2, 0] = act.raw_min  # the 2x2 window at the corner and the global sum
    x[2, 2, 1] = act.raw_min  # a 1x1 window (3x3/s2 ceil mode: 2x2 outputs)
    for mode, expect in ((PoolMode.AVG, 2), (PoolMode.GLOBAL_AVG, 0), (PoolMode.MAX, 0)):
        sc = Scratch(accel)
        src, dst = sc.put_raw(x, act), sc.alloc(4 * 2 * 2 * 2)
        assert sc.run([Instr.make(Op.POOL, in_h=3, in_w=3, channels=2, mode=mode,
                                  kernel_stride_pad=pack_ksp(2, 2, 0), src=src, dst=dst,
                                  recip=pool_recip(9))]) == 0
        assert sc.profile(0)["overflows"] == expect, mode.name


def test_scale_clips_the_gate_at_one(tiny):
    h, w, c = 2, 3, 4
    rng = np.random.default_rng(3)
    x = rng.integers(-(1 << 30), 1 << 30, size=(h * w, c))
    gate = np.array([-(1 << 20), 1 << 21, 1 << FRAC, 5 << FRAC])  # -0.25, 0.5, 1, 5
    sc = Scratch(tiny)
    src, g = sc.put_raw(x, tiny.formats.act), sc.put_raw(gate, tiny.formats.act)
    assert sc.run([Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.SCALE,
                              src=src, dst=src, gate=g)]) == 0
    got = sc.get_raw(src, h * w * c, tiny.formats.act).reshape(h * w, c)
    for p in range(h * w):
        for ch in range(c):
            assert int(got[p, ch]) == trn(int(x[p, ch]) * min(int(gate[ch]), 1 << FRAC), FRAC)
    assert (got[:, 3] == x[:, 3]).all() and (got[:, 2] == x[:, 2]).all()


def test_pool_bad_mode_and_kernel_are_refused(tiny):
    sc = Scratch(tiny)
    src, dst = sc.alloc(4 * 64), sc.alloc(4 * 64)
    bad_mode = Instr.make(Op.POOL, in_h=4, in_w=4, channels=4, mode=len(PoolMode), src=src,
                          dst=dst)
    assert sc.run([bad_mode]) == Err.BAD_SHAPE
    big_kernel = Instr.make(Op.POOL, in_h=4, in_w=4, channels=4, mode=PoolMode.MAX,
                            kernel_stride_pad=pack_ksp(4, 2, 0), src=src, dst=dst)
    assert sc.run([big_kernel]) == Err.BAD_SHAPE


def test_conv_pieces_sum_then_relu(tiny):
    """OSA's concat conv: piece i adds W_i x_i into the accumulator; ReLU on the sum."""
    f = tiny.formats
    rng = np.random.default_rng(7)
    h, w, co, cis = 3, 2, 5, (4, 3)
    xs = [rng.integers(-(2 << FRAC), 2 << FRAC, size=(h * w, ci)) for ci in cis]
    ws = [rng.integers(-(1 << 14), 1 << 14, size=(co, ci)) for ci in cis]
    b = rng.integers(-(1 << 12), 1 << 12, size=co)
    sc = Scratch(tiny)
    acc = sc.alloc(4 * h * w * co)
    zero = sc.put_raw(np.zeros(co, np.int64), f.bias)
    instrs = []
    for i, (x, wm) in enumerate(zip(xs, ws)):
        flags = Flag.WFMT_CONV | (Flag.RESIDUAL | Flag.RELU if i else 0)
        instrs.append(Instr.make(Op.CONV, flags, in_h=h, in_w=w, in_ch=cis[i], out_ch=co,
                                 kernel_stride_pad=pack_ksp(1, 1, 0), src=sc.put_raw(x, f.act),
                                 dst=acc, weights=put_matrix(sc, wm, f.conv_weight),
                                 bias=sc.put_raw(b, f.bias) if i == 0 else zero, residual=acc))
    assert sc.run(instrs) == 0
    got = sc.get_raw(acc, h * w * co, f.act).reshape(h * w, co)
    wf = f.conv_weight.frac_bits
    for p in range(h * w):
        for o in range(co):
            first = sum(int(a) * int(c) for a, c in zip(xs[0][p], ws[0][o])) \
                + (int(b[o]) << (FRAC + wf - f.bias.frac_bits))
            second = sum(int(a) * int(c) for a, c in zip(xs[1][p], ws[1][o]))
            total = wrap(trn(first, wf) + trn(second, wf))
            assert int(got[p, o]) == max(total, 0)


def test_global_avg_near_the_format_limits_against_float(tiny):
    """Values within 1% of the activation range: the mean is within 2 LSB of float (< 1 from
    AP_TRN's floor, < 1 from the 31-bit reciprocal at |mean| ~ 2**31 raw)."""
    act = tiny.formats.act
    h, w, c = 7, 7, 8
    rng = np.random.default_rng(9)
    x = rng.uniform(0.99, 1.0, size=(h * w, c)) * act.max_value * rng.choice([-1, 1], size=c)
    raw = act.quantize(x)
    sc = Scratch(tiny)
    src, dst = sc.put_raw(raw, act), sc.alloc(4 * c)
    assert sc.run([Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=PoolMode.GLOBAL_AVG,
                              src=src, dst=dst, recip=pool_recip(h * w))]) == 0
    got = act.to_float(sc.get_raw(dst, c, act))
    assert np.abs(got - act.to_float(raw).mean(axis=0)).max() <= 2 * act.lsb
