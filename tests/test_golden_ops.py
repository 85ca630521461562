"""Op-level semantics of the golden executor, checked against independent arithmetic.

Bit-exact expectations are recomputed here with Python integers (arbitrary precision,
floor shifts, explicit two's-complement wrap), not with the executor's numpy code paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch

from edgemoe.golden.intmath import matmul_exact
from edgemoe.isa import Flag, Instr, Op, pack_ksp
from edgemoe.layout import pack_tiled, queue_layout

pytestmark = pytest.mark.golden


def wrap(v: int, bits: int = 32) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def trn(v: int, shift: int, bits: int = 32) -> int:
    """AP_TRN + AP_WRAP quantization of an exact integer by ``shift`` fraction bits."""
    return wrap(v >> shift, bits)


def put_matrix(s: Scratch, w: np.ndarray, fmt) -> int:
    return s.put_raw(pack_tiled(w, s.accel.linear_p_out, s.accel.linear_p_in), fmt)


def test_matmul_exact_matches_python_integers_mod_2_64():
    rng = np.random.default_rng(0)
    x = rng.integers(-(1 << 31), 1 << 31, size=(5, 70))
    w = rng.integers(-(1 << 31), 1 << 31, size=(3, 70))  # forces the 4-limb path
    got = matmul_exact(x, w)
    for i in range(5):
        for j in range(3):
            exact = sum(int(a) * int(b) for a, b in zip(x[i], w[j]))
            assert int(got[i, j]) == wrap(exact, 64)


@pytest.mark.parametrize("flags", [0, Flag.GELU, Flag.RELU, Flag.RESIDUAL, Flag.BFMT_ATTN])
def test_linear_bias_and_epilogues(tiny, flags):
    f = tiny.formats
    rng = np.random.default_rng(int(flags))
    t, n, k = 3, 6, 9  # not multiples of the 4x4 tile: exercises padding
    x = rng.integers(-(3 << 22), 3 << 22, size=(t, k))
    w = rng.integers(-(1 << 14), 1 << 14, size=(n, k))
    bfmt = f.attn_bias if flags & Flag.BFMT_ATTN else f.bias
    b = rng.integers(-(1 << 12), 1 << 12, size=n)
    res = rng.integers(-(1 << 24), 1 << 24, size=(t, n))
    s = Scratch(tiny)
    src, wo, bo = s.put_raw(x, f.act), put_matrix(s, w, f.linear_weight), s.put_raw(b, bfmt)
    ro, dst = s.put_raw(res, f.act), s.alloc(t * n * 4)
    ins = Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=src, dst=dst,
                     weights=wo, bias=bo, residual=ro)
    assert s.run([ins]) == 0
    got = s.get_raw(dst, t * n, f.act).reshape(t, n)
    acc_frac = f.act.frac_bits + f.linear_weight.frac_bits
    for i in range(t):
        for j in range(n):
            acc = sum(int(x[i, q]) * int(w[j, q]) for q in range(k))
            acc += int(b[j]) << (acc_frac - bfmt.frac_bits)
            y = trn(acc, acc_frac - f.act.frac_bits)
            if flags & Flag.GELU:
                v = y / 2**22
                ref = 0.5 * v * (1 + np.vectorize(__import__("math").erf)(v / np.sqrt(2)))
                assert abs(got[i, j] / 2**22 - ref) <= 1e-4  # GELU bound (numerics)
                continue
            if flags & Flag.RELU:
                y = max(y, 0)
            if flags & Flag.RESIDUAL:
                y = wrap(y + int(res[i, j]))
            assert int(got[i, j]) == y, (i, j)
    prof = s.profile(0)
    assert prof["macs"] == t * n * k


def test_linear_gather_scatter_and_score_accumulate(tiny):
    f = tiny.formats
    rng = np.random.default_rng(7)
    rows, t, n, k = 7, 3, 4, 4
    x = rng.integers(-(1 << 22), 1 << 22, size=(rows, k))
    w = rng.integers(-(1 << 13), 1 << 13, size=(n, k))
    b = np.zeros(n, np.int64)
    idx = np.array([5, 0, 3])
    scores = rng.integers(0, 1 << 22, size=t)
    dst0 = rng.integers(-(1 << 22), 1 << 22, size=(rows, n))
    s = Scratch(tiny)
    src, wo, bo = s.put_raw(x, f.act), put_matrix(s, w, f.linear_weight), s.put_raw(b, f.bias)
    io, so, dst = s.put(idx.astype("<i4")), s.put_raw(scores, f.act), s.put_raw(dst0, f.act)
    ins = Instr.make(Op.LINEAR, Flag.GATHER | Flag.SCATTER | Flag.SCORE_ACC, tokens=t,
                     out_features=n, in_features=k, src=src, dst=dst, weights=wo, bias=bo,
                     index=io, scores=so)
    ins = Instr(ins.op, ins.flags, ins.task_mask, ins.dims[:3] + (rows, 0), ins.addrs, ins.imm)
    assert s.run([ins]) == 0
    got = s.get_raw(dst, rows * n, f.act).reshape(rows, n)
    want = dst0.copy()
    for i, r in enumerate(idx):
        for j in range(n):
            y = trn(sum(int(x[r, q]) * int(w[j, q]) for q in range(k)), 14)
            want[r, j] = wrap(int(dst0[r, j]) + trn(int(scores[i]) * y, 22))
    np.testing.assert_array_equal(got, want)


def test_conv_patch_embedding_on_pixels(tiny):
    f = tiny.formats
    rng = np.random.default_rng(3)
    c, h, w, co, p = 3, 8, 8, 5, 4
    px = rng.integers(0, 256, size=(c, h, w))
    wt = rng.integers(-(1 << 15), 1 << 15, size=(co, c * p * p))
    b = rng.integers(-(1 << 10), 1 << 10, size=co)
    s = Scratch(tiny)
    src = s.put(px.astype(np.uint8))
    wo, bo = put_matrix(s, wt, f.patch_weight), s.put_raw(b, f.bias)
    dst = s.alloc(4 * (h // p) * (w // p) * co)
    ins = Instr.make(Op.CONV, Flag.PIXEL_INPUT | Flag.WFMT_PATCH, in_h=h, in_w=w, in_ch=c,
                     out_ch=co, kernel_stride_pad=pack_ksp(p, p, 0), src=src, dst=dst,
                     weights=wo, bias=bo)
    assert s.run([ins]) == 0
    got = s.get_raw(dst, (h // p) * (w // p) * co, f.act).reshape(h // p, w // p, co)
    acc_frac = 8 + 16
    for oy in range(h // p):
        for ox in range(w // p):
            patch = px[:, oy * p:(oy + 1) * p, ox * p:(ox + 1) * p].reshape(-1)  # (c, ky, kx)
            for o in range(co):
                acc = sum(int(a) * int(bw) for a, bw in zip(patch, wt[o]))
                acc += int(b[o]) << (acc_frac - f.bias.frac_bits)
                assert int(got[oy, ox, o]) == trn(acc, acc_frac - 22)


def test_conv3x3_padding_relu_matches_direct_loops(tiny):
    f = tiny.formats
    rng = np.random.default_rng(4)
    h, w, ci, co = 4, 5, 3, 4
    x = rng.integers(-(1 << 23), 1 << 23, size=(h, w, ci))
    wt = rng.integers(-(1 << 13), 1 << 13, size=(co, ci, 3, 3))
    s = Scratch(tiny)
    src, wo = s.put_raw(x, f.act), put_matrix(s, wt.reshape(co, -1), f.conv_weight)
    bo, dst = s.put_raw(np.zeros(co, np.int64), f.bias), s.alloc(4 * h * w * co)
    ins = Instr.make(Op.CONV, Flag.WFMT_CONV | Flag.RELU, in_h=h, in_w=w, in_ch=ci, out_ch=co,
                     kernel_stride_pad=pack_ksp(3, 1, 1), src=src, dst=dst, weights=wo, bias=bo)
    assert s.run([ins]) == 0
    got = s.get_raw(dst, h * w * co, f.act).reshape(h, w, co)
    for y in range(h):
        for xx in range(w):
            for o in range(co):
                acc = 0
                for c in range(ci):
                    for ky in range(3):
                        for kx in range(3):
                            yy, xs = y + ky - 1, xx + kx - 1
                            if 0 <= yy < h and 0 <= xs < w:
                                acc += int(x[yy, xs, c]) * int(wt[o, c, ky, kx])
                assert int(got[y, xx, o]) == max(trn(acc, 14), 0)


def test_upsample_is_9_3_3_1_over_16_with_edge_clamp(tiny):
    f = tiny.formats
    rng = np.random.default_rng(5)
    h, w, c = 3, 4, 2
    x = rng.integers(-(1 << 25), 1 << 25, size=(h, w, c))
    s = Scratch(tiny)
    src, dst = s.put_raw(x, f.act), s.alloc(16 * h * w * c)
    assert s.run([Instr.make(Op.UPSAMPLE, in_h=h, in_w=w, channels=c, src=src, dst=dst)]) == 0
    got = s.get_raw(dst, 4 * h * w * c, f.act).reshape(2 * h, 2 * w, c)

    def taps(i, n):
        near = i // 2
        far = max(near - 1, 0) if i % 2 == 0 else min(near + 1, n - 1)
        return near, far

    for oy in range(2 * h):
        for ox in range(2 * w):
            ny, fy = taps(oy, h)
            nx, fx = taps(ox, w)
            for ch in range(c):
                acc = 9 * int(x[ny, nx, ch]) + 3 * int(x[fy, nx, ch]) + \
                    3 * int(x[ny, fx, ch]) + int(x[fy, fx, ch])
                assert int(got[oy, ox, ch]) == trn(acc, 4)


def test_add_and_copy_wrap_in_the_activation_format(tiny):
    f = tiny.formats
    a = np.array([2**31 - 1, -5, 7, -(2**31)], np.int64)
    b = np.array([1, 5, -9, -1], np.int64)
    s = Scratch(tiny)
    ao, bo, d1, d2 = s.put_raw(a, f.act), s.put_raw(b, f.act), s.alloc(16), s.alloc(16)
    assert s.run([Instr.make(Op.ADD, count=4, a=ao, b=bo, dst=d1),
                  Instr.make(Op.ADD, Flag.COPY, count=4, a=ao, dst=d2)]) == 0
    assert s.get_raw(d1, 4, f.act).tolist() == [wrap(int(p) + int(q)) for p, q in zip(a, b)]
    assert s.get_raw(d2, 4, f.act).tolist() == a.tolist()


def test_layernorm_close_to_float(tiny):
    f = tiny.formats
    rng = np.random.default_rng(6)
    t, d = 5, 32
    xf = rng.normal(0, 3, size=(t, d)) + rng.normal(0, 2, size=(t, 1))
    gamma, beta = rng.normal(1, 0.2, d), rng.normal(0, 0.3, d)
    s = Scratch(tiny)
    src = s.put_raw(f.act.quantize(xf), f.act)
    go, bo = s.put_raw(f.norm.quantize(gamma), f.norm), s.put_raw(f.norm.quantize(beta), f.norm)
    dst = s.alloc(4 * t * d)
    eps = 1e-6
    ins = Instr.make(Op.LAYERNORM, tokens=t, dim=d, src=src, dst=dst, gamma=go, beta=bo,
                     eps=round(eps * 2**32))
    assert s.run([ins]) == 0
    got = f.act.to_float(s.get_raw(dst, t * d, f.act)).reshape(t, d)
    xq = f.act.to_float(f.act.quantize(xf))
    g, be = f.norm.to_float(f.norm.quantize(gamma)), f.norm.to_float(f.norm.quantize(beta))
    ref = (xq - xq.mean(1, keepdims=True)) / np.sqrt(xq.var(1, keepdims=True) + eps) * g + be
    assert np.abs(got - ref).max() < 2e-5  # rsqrt 1e-8 rel + a few activation LSBs


def test_attention_close_to_float_softmax_attention(tiny):
    f = tiny.formats
    rng = np.random.default_rng(8)
    t, nh, hd = 9, 2, 16
    qkv = rng.normal(0, 1.5, size=(t, 3, nh, hd))
    s = Scratch(tiny)
    src, dst = s.put_raw(f.act.quantize(qkv), f.act), s.alloc(4 * t * nh * hd)
    scale = int(f.act.quantize(np.array([hd ** -0.5]))[0])
    assert s.run([Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=src, dst=dst,
                             scale=scale)]) == 0
    got = f.act.to_float(s.get_raw(dst, t * nh * hd, f.act)).reshape(t, nh, hd)
    qf = f.act.to_float(f.act.quantize(qkv))
    for h in range(nh):
        sc = qf[:, 0, h] @ qf[:, 1, h].T * hd ** -0.5
        p = np.exp(sc - sc.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        ref = p @ qf[:, 2, h]
        assert np.abs(got[:, h] - ref).max() < 1e-4  # softmax 2e-5/prob x |v| sum


def test_moe_gate_top_k_ties_lower_index_and_queues_in_token_order(tiny):
    f = tiny.formats
    t, d, e = 5, 4, 4
    # logits: token i has equal logits for experts 1, 2, 3 and a lower one for expert 0
    x = np.zeros((t, d), np.int64)
    x[:, 0] = 1 << 22
    wg = np.zeros((e, d), np.int64)
    wg[1:, 0] = 1 << 13  # 0.5
    x[3, 1] = 1 << 22
    wg[0, 1] = 1 << 14  # token 3: expert 0 gets logit 1.0, the highest
    s = Scratch(tiny)
    src, wo = s.put_raw(x, f.act), put_matrix(s, wg, f.linear_weight)
    lay = queue_layout(e, t)
    q = s.alloc(lay["total"])
    assert s.run([Instr.make(Op.MOE_GATE, tokens=t, dim=d, experts=e, top_k=2, src=src,
                             w_gate=wo, queues=q)]) == 0
    counts = s.image[q:q + 4 * e].view("<u4").tolist()
    assert counts == [1, 5, 4, 0]
    idx = [s.image[q + lay["index"] + ex * lay["slot"]:][:4 * counts[ex]].view("<i4").tolist()
           for ex in range(e)]
    assert idx == [[3], [0, 1, 2, 3, 4], [0, 1, 2, 4], []]
    sc = s.image[q + lay["scores"] + lay["slot"]:][:4].view("<i4")[0] / 2**22
    p = np.exp([0, 0.5, 0.5, 0.5])
    assert abs(sc - p[1] / p.sum()) < 2e-5  # not renormalised over the top-2


def test_scatter_with_repeated_rows_accumulates_every_contribution(tiny):
    f = tiny.formats
    rows, t, n, k = 4, 3, 4, 4
    x = np.full((t, k), 1 << 22, np.int64)  # 1.0
    w = np.eye(n, k, dtype=np.int64) << 13  # 0.5 on the diagonal
    scores = np.array([1 << 22, 1 << 21, 1 << 20], np.int64)  # 1, 0.5, 0.25
    s = Scratch(tiny)
    src, wo = s.put_raw(x, f.act), put_matrix(s, w, f.linear_weight)
    bo, io = s.put_raw(np.zeros(n, np.int64), f.bias), s.put(np.array([2, 2, 0], "<i4"))
    so, dst = s.put_raw(scores, f.act), s.put_raw(np.zeros((rows, n), np.int64), f.act)
    ins = Instr.make(Op.LINEAR, Flag.SCATTER | Flag.SCORE_ACC, tokens=t, out_features=n,
                     in_features=k, src=src, dst=dst, weights=wo, bias=bo, index=io, scores=so)
    ins = Instr(ins.op, ins.flags, ins.task_mask, ins.dims[:3] + (rows, 0), ins.addrs, ins.imm)
    assert s.run([ins]) == 0
    got = f.act.to_float(s.get_raw(dst, rows * n, f.act)).reshape(rows, n)
    assert got[2].tolist() == [0.75] * n  # 0.5 * (1 + 0.5)
    assert got[0].tolist() == [0.125] * n and not got[[1, 3]].any()
