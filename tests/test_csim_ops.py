"""C-sim (generated HLS C++ built with g++) against the golden executor, op by op.

Every test builds a small program by hand, runs it through both executors from the same
memory image and requires byte-identical images (edgemoe.compare: everything but the
profile cycle counters) and the same status code.  Inputs, weights (including the tile
padding) and untouched outputs hold random bytes, so a kernel that reads or writes a
byte it should not shows up as a difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compare import assert_images_equal
from edgemoe.compiler.builder import ProgramBuilder
from edgemoe.golden import execute, status_words
from edgemoe.isa import Err, Flag, Op, pack_ksp
from edgemoe.layout import ceil_div, pack_tiled, queue_layout, weight_block_bytes
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

#: A second design point: other quantization/overflow modes, a 24-bit activation in a
#: 32-bit container, 8-bit weights, and UPSAMPLE and top-k attention not built.
VARIANT = ["formats.act=ap_fixed<24,8,AP_RND_CONV,AP_SAT>",
           "formats.linear_weight=ap_fixed<8,1,AP_RND,AP_SAT_SYM>",
           "formats.bias=ap_fixed<16,6,AP_RND_ZERO,AP_SAT>",
           "formats.norm=ap_fixed<12,4,AP_TRN_ZERO>",
           "formats.conv_weight=ap_fixed<16,3,AP_RND_INF>",
           "ops=[linear,layernorm,attention,moe_gate,moe_experts,conv,add]", "attn_topk=false"]


@pytest.fixture(scope="module")
def tiny():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny")
    return accel, CsimExecutor(accel)


@pytest.fixture(scope="module")
def variant():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny", VARIANT)
    return accel, CsimExecutor(accel)


class Prog:
    """A hand-written program over a memory image filled with random data."""

    def __init__(self, accel, seed: int = 0):
        self.a, self.f = accel, accel.formats
        self.b = ProgramBuilder()
        self.rng = np.random.default_rng(seed)

    def _raw(self, fmt, n: int, scale: float | None) -> np.ndarray:
        if scale is None:  # anything the format can hold
            return self.rng.integers(fmt.raw_min, fmt.raw_max + 1, n, dtype=np.int64)
        bound = max(1, int(scale * 2.0 ** fmt.frac_bits))
        return np.clip(self.rng.integers(-bound, bound + 1, n), fmt.raw_min, fmt.raw_max)

    def tensor(self, n: int, fmt=None, scale: float | None = 2.0, region: str = "inputs"):
        fmt = fmt or self.f.act
        return self.b.place(region, self._raw(fmt, n, scale).astype(fmt.storage_dtype))

    def garbage(self, nbytes: int):
        return self.b.place("outputs", self.rng.integers(0, 256, nbytes, dtype=np.uint8))

    def matrix(self, n: int, k: int, fmt=None, count: int = 1, scale: float | None = None):
        """``count`` packed [n][k] matrices whose tile padding is random too."""
        fmt = fmt or self.f.linear_weight
        po, pi = self.a.linear_p_out, self.a.linear_p_in
        blobs = []
        for _ in range(count):
            full = self._raw(fmt, ceil_div(n, po) * po * ceil_div(k, pi) * pi, scale)
            tiled = full.reshape(ceil_div(n, po), po, ceil_div(k, pi), pi).transpose(0, 2, 1, 3)
            raw = tiled.reshape(-1).astype(fmt.storage_dtype).tobytes()
            blobs.append(raw + bytes(-len(raw) % 64))
        return self.b.place("weights", b"".join(blobs))

    def vector(self, n: int, fmt=None, count: int = 1, pad: bool = True, scale=None):
        fmt = fmt or self.f.bias
        po = self.a.linear_p_out if pad else 1
        blobs = []
        for _ in range(count):
            raw = self._raw(fmt, ceil_div(n, po) * po, scale).astype(fmt.storage_dtype).tobytes()
            blobs.append(raw + bytes(-len(raw) % 64))
        return self.b.place("weights", b"".join(blobs))

    def words(self, values, dtype="<i4", region: str = "inputs"):
        return self.b.place(region, np.asarray(values).astype(dtype))

    def emit(self, op, flags=0, **fields):
        return self.b.emit(op, flags, **fields)

    def build(self):
        lay = self.b.finalize()
        self.instrs = lay.instrs
        manifest = {"program": {"offset": lay.regions["program"][0],
                                "n_instructions": len(lay.instrs)},
                    "status": {"offset": lay.regions["status"][0]},
                    "regions": {k: [int(o), int(s)] for k, (o, s) in lay.regions.items()}}
        return lay.image, manifest


def run_both(design, prog: Prog, task: int = 0, expect: Err = Err.OK):
    """Run a program on golden and C-sim; assert identical images and the expected status."""
    accel, csim = design
    image, manifest = prog.build()
    gold, sim = image.copy(), image.copy()
    args = (manifest["program"]["offset"], manifest["program"]["n_instructions"], task,
            manifest["status"]["offset"])
    err_g = execute(gold, accel, *args)
    err_c = csim.execute(sim, *args)
    assert err_g == expect, f"golden returned {Err(err_g).name}, the test expects {expect.name}"
    assert err_c == err_g, f"C-sim returned {Err(err_c).name}, golden {Err(err_g).name}"
    assert_images_equal(gold, sim, manifest, "golden vs C-sim")
    if expect == Err.OK:  # the program really wrote something beyond its status block
        changed = np.flatnonzero(gold != image)
        assert changed.size and changed.max() >= manifest["regions"]["program"][0]
    return gold, manifest


# ----------------------------------------------------------------------------- LINEAR
LINEAR_CASES = [
    # (tokens, out, in, flags)
    (5, 12, 20, 0),
    (1, 1, 1, 0),
    (7, 33, 17, Flag.GELU | Flag.BFMT_ATTN),
    (4, 16, 16, Flag.RELU),
    (6, 10, 9, Flag.GELU | Flag.RELU | Flag.WFMT_CONV),
    (3, 96, 768, 0),  # 12 weight chunks through the ping/pong buffers on `tiny`
]


@pytest.mark.parametrize("t,n,k,flags", LINEAR_CASES)
def test_linear(tiny, t, n, k, flags):
    p = Prog(tiny[0], seed=t * 1000 + n)
    wfmt = p.f.conv_weight if flags & Flag.WFMT_CONV else p.f.linear_weight
    bfmt = p.f.attn_bias if flags & Flag.BFMT_ATTN else p.f.bias
    p.emit(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=p.tensor(t * k),
           dst=p.garbage(4 * t * n), weights=p.matrix(n, k, wfmt, scale=0.25),
           bias=p.vector(n, bfmt))
    run_both(tiny, p)


def test_linear_full_range_wraps(tiny):
    """Activations over the whole int32 range: the accumulator and the output wrap."""
    p = Prog(tiny[0], seed=7)
    p.emit(Op.LINEAR, 0, tokens=4, out_features=8, in_features=40,
           src=p.tensor(160, scale=None), dst=p.garbage(128), weights=p.matrix(8, 40),
           bias=p.vector(8))
    run_both(tiny, p)


@pytest.mark.parametrize("in_place", [False, True])
def test_linear_residual(tiny, in_place):
    p = Prog(tiny[0], seed=11)
    t, n, k = 5, 24, 12
    res = p.tensor(t * n, region="outputs")
    dst = res if in_place else p.garbage(4 * t * n)
    p.emit(Op.LINEAR, Flag.RESIDUAL, tokens=t, out_features=n, in_features=k,
           src=p.tensor(t * k), dst=dst, weights=p.matrix(n, k, scale=0.3), bias=p.vector(n),
           residual=res)
    run_both(tiny, p)


def test_linear_gather_scatter_score(tiny):
    """MoE fc2 style: gathered rows, score-scaled accumulate, scattered, dynamic count."""
    p = Prog(tiny[0], seed=5)
    rows, t, n, k = 9, 6, 20, 16
    idx = p.rng.permutation(rows)[:t]
    flags = Flag.GATHER | Flag.SCATTER | Flag.SCORE_ACC | Flag.DYN_COUNT
    p.emit(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, rows=rows,
           src=p.tensor(rows * k), dst=p.tensor(rows * n, region="outputs"),
           weights=p.matrix(n, k, scale=0.3), bias=p.vector(n), index=p.words(idx),
           scores=p.tensor(t, scale=1.0), count=p.words([t - 2], "<u4"))
    run_both(tiny, p)


def test_linear_scatter_repeated_rows_accumulate_in_order(tiny):
    """A row listed twice receives both score-scaled contributions, in list order."""
    p = Prog(tiny[0], seed=11)
    rows, t, n, k = 5, 4, 8, 8
    p.emit(Op.LINEAR, Flag.SCATTER | Flag.SCORE_ACC, tokens=t, out_features=n, in_features=k,
           rows=rows, src=p.tensor(t * k), dst=p.tensor(rows * n, region="outputs"),
           weights=p.matrix(n, k, scale=0.3), bias=p.vector(n), index=p.words([3, 1, 3, 3]),
           scores=p.tensor(t, scale=1.0))
    run_both(tiny, p)


@pytest.mark.parametrize("flags", [Flag.GATHER, Flag.SCATTER | Flag.RESIDUAL])
def test_linear_gather_or_scatter(tiny, flags):
    p = Prog(tiny[0], seed=int(flags))
    rows, t, n, k = 10, 4, 8, 12
    src_rows = rows if flags & Flag.GATHER else t
    dst_rows = rows if flags & Flag.SCATTER else t
    idx = p.rng.permutation(rows)[:t]
    p.emit(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, rows=rows,
           src=p.tensor(src_rows * k), dst=p.garbage(4 * dst_rows * n),
           weights=p.matrix(n, k, scale=0.3), bias=p.vector(n), index=p.words(idx),
           residual=p.tensor(dst_rows * n))
    run_both(tiny, p)


@pytest.mark.parametrize("what", ["count", "index_high", "index_negative"])
def test_linear_bad_queue(tiny, what):
    p = Prog(tiny[0], seed=3)
    rows, t, n, k = 6, 4, 8, 8
    idx = [0, 1, rows if what == "index_high" else 2, -1 if what == "index_negative" else 3]
    p.emit(Op.LINEAR, Flag.GATHER | Flag.DYN_COUNT, tokens=t, out_features=n, in_features=k,
           rows=rows, src=p.tensor(rows * k), dst=p.garbage(4 * t * n),
           weights=p.matrix(n, k), bias=p.vector(n), index=p.words(idx),
           count=p.words([t + 1 if what == "count" else t], "<u4"))
    run_both(tiny, p, expect=Err.BAD_QUEUE)


# -------------------------------------------------------------------------- LAYERNORM
@pytest.mark.parametrize("t,d,scale,eps", [(7, 32, 2.0, 4295), (3, 20, 40.0, 1),
                                           (2, 768, None, 1 << 20), (1, 1, 1.0, 7)])
def test_layernorm(tiny, t, d, scale, eps):
    p = Prog(tiny[0], seed=d)
    p.emit(Op.LAYERNORM, tokens=t, dim=d, src=p.tensor(t * d, scale=scale),
           dst=p.garbage(4 * t * d), gamma=p.vector(d, p.f.norm, pad=False, scale=2.0),
           beta=p.vector(d, p.f.norm, pad=False, scale=1.0), eps=eps)
    run_both(tiny, p)


def test_layernorm_zero_variance(tiny):
    """Constant rows with eps <= 0: the variance is <= 0 and rsqrt saturates."""
    p = Prog(tiny[0], seed=1)
    src = p.words(np.full(16, 3 << 20), "<i4")
    p.emit(Op.LAYERNORM, tokens=2, dim=8, src=src, dst=p.garbage(64),
           gamma=p.vector(8, p.f.norm, pad=False), beta=p.vector(8, p.f.norm, pad=False), eps=-5)
    run_both(tiny, p)


# -------------------------------------------------------------------------- ATTENTION
@pytest.mark.parametrize("t,heads,hd,scale", [(9, 2, 16, 0.25), (16, 2, 16, 0.125),
                                               (1, 1, 1, 1.0), (3, 1, 5, 0.5), (5, 2, 7, 3.0)])
def test_attention(tiny, t, heads, hd, scale):
    p = Prog(tiny[0], seed=t * heads + hd)
    width = heads * hd
    raw_scale = int(p.f.act.quantize(scale))
    p.emit(Op.ATTENTION, tokens=t, heads=heads, head_dim=hd, qkv=p.tensor(3 * t * width, scale=3.0),
           dst=p.garbage(4 * t * width), scale=raw_scale)
    run_both(tiny, p)


def test_attention_extreme_scores(tiny):
    """Scores beyond the activation range (wrap-around) still agree bit for bit."""
    p = Prog(tiny[0], seed=99)
    p.emit(Op.ATTENTION, tokens=6, heads=1, head_dim=16, qkv=p.tensor(3 * 6 * 16, scale=None),
           dst=p.garbage(4 * 6 * 16), scale=-(1 << 25))
    run_both(tiny, p)


@pytest.mark.parametrize("design", ["tiny", "variant"])
@pytest.mark.parametrize("fill", [0.9, 1.5])
def test_attention_scores_near_and_beyond_the_range(request, design, fill):
    """q.k beyond the activation range, scaled scores at 0.9x (and 1.5x) of it."""
    from magnitude import near_range_qkv

    accel = request.getfixturevalue(design)[0]
    p = Prog(accel, seed=5)
    act = p.f.act
    qkv, scale = near_range_qkv(act, p.rng, 16, 2, 16, fill=fill)
    src = p.b.place("inputs", act.quantize(qkv).astype(act.storage_dtype))
    p.emit(Op.ATTENTION, tokens=16, heads=2, head_dim=16, qkv=src,
           dst=p.garbage(act.storage_dtype.itemsize * 16 * 32), scale=scale)
    run_both(request.getfixturevalue(design), p)


# ------------------------------------------------------------------------------- MoE
def _moe_program(p: Prog, t=9, d=32, h=48, e=4, top_k=2, residual=True, tasks=2, tie=False):
    """MOE_GATE then MOE_EXPERTS over one queue region (router weights for ``tasks`` tasks)."""
    po, pi = p.a.linear_p_out, p.a.linear_p_in
    if tie:  # experts 1 and 2 share router weights: equal logits, the lower index must win
        dense = p._raw(p.f.linear_weight, e * d, 0.5).reshape(e, d)
        dense[2] = dense[1]
        packed = pack_tiled(dense, po, pi).astype(p.f.linear_weight.storage_dtype).tobytes()
        w_gate = p.b.place("weights", (packed + bytes(-len(packed) % 64)) * tasks)
    else:
        w_gate = p.matrix(e, d, count=tasks, scale=0.5)
    stride = weight_block_bytes(e, d, po, pi, p.f.linear_weight.storage_dtype.itemsize)
    src = p.tensor(t * d, scale=2.0)
    queues = p.garbage(queue_layout(e, t)["total"])
    p.emit(Op.MOE_GATE, tokens=t, dim=d, experts=e, top_k=top_k, src=src, w_gate=w_gate,
           queues=queues, task_stride=stride)
    p.emit(Op.MOE_EXPERTS, Flag.RESIDUAL if residual else 0, tokens=t, dim=d, hidden=h,
           experts=e, src=src, dst=p.garbage(4 * t * d), w1=p.matrix(h, d, count=e, scale=0.3),
           b1=p.vector(h, count=e), w2=p.matrix(d, h, count=e, scale=0.3),
           b2=p.vector(d, count=e), queues=queues, scratch=p.garbage(4 * t * h),
           residual=p.tensor(t * d))


@pytest.mark.parametrize("task,top_k,residual", [(0, 2, True), (1, 2, False), (0, 1, True),
                                                  (1, 1, False)])
def test_moe_gate_and_experts(tiny, task, top_k, residual):
    p = Prog(tiny[0], seed=10 + task + top_k)
    _moe_program(p, top_k=top_k, residual=residual)
    run_both(tiny, p, task=task)


def test_moe_gate_ties_go_to_lower_index(tiny):
    p = Prog(tiny[0], seed=4)
    _moe_program(p, tie=True, top_k=1)
    gold, _ = run_both(tiny, p)
    q = p.instrs[0].get("queues")
    counts = gold[q:q + 16].view("<u4")
    assert counts[2] == 0 and counts.sum() == 9  # expert 2 never beats its twin, expert 1


@pytest.mark.parametrize("corrupt", ["count", "repeat", "negative"])
def test_moe_experts_bad_queue(tiny, corrupt):
    """Queues corrupted between the gate and the experts: same fault, nothing written."""
    p = Prog(tiny[0], seed=21)
    t, e = 9, 4
    lay = queue_layout(e, t)
    d, h = 32, 48
    queues = p.garbage(lay["total"])
    counts = np.array([3, 0, 2, 1], np.uint32)
    index = np.zeros((e, lay["slot"] // 4), np.int32)
    index[0, :3] = [0, 4, 8]
    index[2, :2] = [1, 2]
    index[3, :1] = [5]
    if corrupt == "count":
        counts[1] = t + 1
    elif corrupt == "repeat":
        index[0, :3] = [0, 4, 4]
    else:
        index[2, 1] = -3
    blob = np.zeros(lay["total"], np.uint8)
    blob[:4 * e] = counts.view(np.uint8)
    blob[lay["index"]:lay["scores"]] = index.view(np.uint8).reshape(-1)
    queues = p.b.place("outputs", blob)
    p.emit(Op.MOE_EXPERTS, Flag.RESIDUAL, tokens=t, dim=d, hidden=h, experts=e,
           src=p.tensor(t * d), dst=p.garbage(4 * t * d), w1=p.matrix(h, d, count=e),
           b1=p.vector(h, count=e), w2=p.matrix(d, h, count=e), b2=p.vector(d, count=e),
           queues=queues, scratch=p.garbage(4 * t * h), residual=p.tensor(t * d))
    run_both(tiny, p, expect=Err.BAD_QUEUE)


# ------------------------------------------------------------------------------- CONV
CONV_CASES = [
    # (h, w, ci, co, kernel, stride, pad, flags)
    (5, 7, 4, 6, 3, 1, 1, Flag.RELU | Flag.WFMT_CONV),
    (6, 6, 3, 5, 2, 2, 0, 0),
    (4, 9, 8, 16, 1, 1, 0, Flag.RESIDUAL),
    (8, 12, 3, 8, 4, 4, 0, Flag.PIXEL_INPUT | Flag.WFMT_PATCH | Flag.RESIDUAL),
    (7, 5, 2, 3, 3, 2, 1, Flag.PIXEL_INPUT | Flag.WFMT_CONV | Flag.RELU),
    (3, 3, 2, 4, 3, 1, 2, 0),
]


@pytest.mark.parametrize("h,w,ci,co,k,s,pad,flags", CONV_CASES)
def test_conv(tiny, h, w, ci, co, k, s, pad, flags):
    p = Prog(tiny[0], seed=h * w + co)
    oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    if flags & Flag.PIXEL_INPUT:
        src = p.words(p.rng.integers(0, 256, ci * h * w), "u1")
    else:
        src = p.tensor(h * w * ci)
    wfmt = p.f.patch_weight if flags & Flag.WFMT_PATCH else (
        p.f.conv_weight if flags & Flag.WFMT_CONV else p.f.linear_weight)
    p.emit(Op.CONV, flags, in_h=h, in_w=w, in_ch=ci, out_ch=co,
           kernel_stride_pad=pack_ksp(k, s, pad), src=src, dst=p.garbage(4 * oh * ow * co),
           weights=p.matrix(co, ci * k * k, wfmt, scale=0.3), bias=p.vector(co),
           residual=p.tensor(oh * ow * co))
    run_both(tiny, p)


# ------------------------------------------------------------------- UPSAMPLE and ADD
@pytest.mark.parametrize("h,w,c", [(3, 5, 6), (1, 1, 3), (2, 1, 1), (1, 2, 19), (4, 3, 17)])
def test_upsample(tiny, h, w, c):
    p = Prog(tiny[0], seed=h + w + c)
    p.emit(Op.UPSAMPLE, in_h=h, in_w=w, channels=c, src=p.tensor(h * w * c, scale=None),
           dst=p.garbage(16 * h * w * c))
    run_both(tiny, p)


@pytest.mark.parametrize("count,flags,in_place", [(300, 0, False), (7, Flag.COPY, False),
                                                  (513, 0, True)])
def test_add(tiny, count, flags, in_place):
    p = Prog(tiny[0], seed=count)
    a = p.tensor(count, scale=None, region="outputs")
    p.emit(Op.ADD, flags, count=count, a=a, b=p.tensor(count, scale=None),
           dst=a if in_place else p.garbage(4 * count))
    run_both(tiny, p)


# --------------------------------------------------------- formats and modes (variant)
def _every_op_program(p: Prog, t: int = 9, d: int = 32, n: int = 24) -> None:
    """One instruction of every op but UPSAMPLE, chained through shared tensors."""
    x = p.tensor(t * d, scale=None)
    y = p.garbage(4 * t * n)
    p.emit(Op.LINEAR, Flag.GELU, tokens=t, out_features=n, in_features=d, src=x, dst=y,
           weights=p.matrix(n, d), bias=p.vector(n))
    p.emit(Op.LAYERNORM, tokens=t, dim=n, src=y, dst=p.garbage(4 * t * n),
           gamma=p.vector(n, p.f.norm, pad=False), beta=p.vector(n, p.f.norm, pad=False), eps=3)
    p.emit(Op.ATTENTION, tokens=t, heads=2, head_dim=4, qkv=y, dst=p.garbage(4 * t * 8),
           scale=int(p.f.act.quantize(0.5)))
    p.emit(Op.CONV, Flag.WFMT_CONV | Flag.RELU, in_h=3, in_w=3, in_ch=4, out_ch=5,
           kernel_stride_pad=pack_ksp(3, 1, 1), src=x, dst=p.garbage(4 * 45),
           weights=p.matrix(5, 36, p.f.conv_weight), bias=p.vector(5))
    p.emit(Op.ADD, count=t * n, a=y, b=x, dst=p.garbage(4 * t * n))
    _moe_program(p, top_k=2)


def test_variant_ops(variant):
    """Every built op in one program on a design point with RND/SAT modes and 8-bit weights."""
    p = Prog(variant[0], seed=8)
    _every_op_program(p)
    run_both(variant, p)


def test_ideal_cycles_rendered_from_the_spec_match_golden(tiny):
    """The C++ ideal-cycle terms (edgemoe_ops.hpp, rendered from edgemoe/ops.py) equal the
    golden's: the profile's cycles field is excluded from the byte comparisons above."""
    accel, csim = tiny
    p = Prog(accel, seed=9)
    _every_op_program(p)
    p.emit(Op.UPSAMPLE, in_h=2, in_w=3, channels=5, src=p.tensor(30, scale=None),
           dst=p.garbage(4 * 120))
    image, manifest = p.build()
    gold, sim = image.copy(), image.copy()
    args = (manifest["program"]["offset"], manifest["program"]["n_instructions"], 0,
            manifest["status"]["offset"])
    assert execute(gold, accel, *args) == csim.execute(sim, *args) == Err.OK
    base, n_instr = manifest["status"]["offset"] + 64, manifest["program"]["n_instructions"]
    cycles_g = gold[base:base + 64 * n_instr].view("<u8").reshape(-1, 8)[:, 0]
    cycles_c = sim[base:base + 64 * n_instr].view("<u8").reshape(-1, 8)[:, 0]
    assert (cycles_g > 0).all()
    np.testing.assert_array_equal(cycles_c, cycles_g)


def test_variant_op_not_built(variant):
    p = Prog(variant[0], seed=1)
    p.emit(Op.ADD, count=4, a=p.tensor(4), b=p.tensor(4), dst=p.garbage(16))
    p.emit(Op.UPSAMPLE, in_h=1, in_w=1, channels=4, src=p.tensor(4), dst=p.garbage(64))
    gold, manifest = run_both(variant, p, expect=Err.OP_NOT_BUILT)
    st = status_words(gold, manifest["status"]["offset"])
    assert (st["index"], st["executed"]) == (1, 1)


def test_variant_attn_topk_not_built(variant):
    """attn_topk false: golden and C-sim refuse top-k ATTENTION alike, after the ADD ran."""
    assert not variant[0].attn_topk
    p = Prog(variant[0], seed=2)
    p.emit(Op.ADD, count=4, a=p.tensor(4), b=p.tensor(4), dst=p.garbage(16))
    p.emit(Op.ATTENTION, Flag.ATTN_TOPK, tokens=4, heads=1, head_dim=4, qkv=p.tensor(48),
           dst=p.garbage(64), scale=1, codebook_size=2, top_k=2, codebook=p.garbage(256),
           codes=p.garbage(16), picks=p.garbage(32))
    gold, manifest = run_both(variant, p, expect=Err.BAD_FLAGS)
    st = status_words(gold, manifest["status"]["offset"])
    assert (st["index"], st["executed"]) == (1, 1)
