"""Programs for the RTL benches: one-instruction cases per engine, run against golden.

Every case is a :class:`progutil.Scratch` image (status block at 0) holding random operands
and a program; :func:`run_cases` runs a batch through one simulator process and returns,
per case, the RTL image, the golden image and both error codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compare import diff_images
from edgemoe.golden import execute
from edgemoe.isa import LIF_CURRENT_INPUT, Flag, Instr, Op, encode_bytes, pack_ksp, pack_mode_leak
from edgemoe.layout import (
    PROFILE_ENTRY_BYTES,
    STATUS_BYTES,
    bias_block_bytes,
    conv_out_size,
    pack_tiled,
    queue_layout,
    weight_block_bytes,
)
from edgemoe.rtl import RtlJob

IMAGE_BYTES = 1 << 18


def profile_cycles(image: np.ndarray, op: int = 0) -> int:
    """Profile field 0 (cycles) of instruction ``op`` (status block at 0, as every case has)."""
    at = STATUS_BYTES + op * PROFILE_ENTRY_BYTES
    return int(image[at:at + 8].view("<u8")[0])


@dataclass
class Case:
    """A program on a scratch image."""

    name: str
    scratch: Scratch
    program: list[Instr]
    task: int = 0


@dataclass
class Outcome:
    """RTL vs golden for one case."""

    case: Case
    rtl: np.ndarray
    golden: np.ndarray
    rtl_error: int | None
    golden_error: int
    cycles: int
    timed_out: bool
    monitor: dict | None

    def problems(self) -> list[str]:
        """Differences (empty when the RTL matches golden byte for byte, except cycles)."""
        if self.rtl_error is None:
            return ["no result (an earlier job hung)"]
        out = []
        if self.timed_out:
            out.append(f"timed out after {self.cycles} cycles")
        if self.rtl_error != self.golden_error:
            out.append(f"error {self.rtl_error} != golden {self.golden_error}")
        n = len(self.case.program)
        manifest = {"program": {"n_instructions": n}, "status": {"offset": 0},
                    "regions": {"image": [0, self.golden.size]}}
        return out + diff_images(self.rtl, self.golden, manifest)


def _act(rng, act, n: int, scale: float = 4.0) -> np.ndarray:
    return act.quantize(rng.uniform(-scale, scale, n))


def _weights(s: Scratch, rng, fmt, out_f: int, in_f: int, scale: float = 0.5) -> int:
    a = s.accel
    w = fmt.quantize(rng.uniform(-scale, scale, (out_f, in_f)))
    return s.put(pack_tiled(w, a.linear_p_out, a.linear_p_in).astype(fmt.storage_dtype))


def _bias(s: Scratch, rng, fmt, out_f: int) -> int:
    po = s.accel.linear_p_out
    b = np.zeros(-(-out_f // po) * po, np.int64)
    b[:out_f] = fmt.quantize(rng.uniform(-2, 2, out_f))
    return s.put(b.astype(fmt.storage_dtype))


def linear(accel, rng, name: str, t: int, n: int, k: int, flags: int = 0,
           rows: int | None = None) -> Case:
    """LINEAR with any flags; rows = source/destination rows for GATHER/SCATTER."""
    s = Scratch(accel, size=IMAGE_BYTES)
    f = accel.formats
    act = f.act
    bf = f.attn_bias if flags & Flag.BFMT_ATTN else f.bias
    nrows = rows or t
    x = s.put_raw(_act(rng, act, (nrows if flags & Flag.GATHER else t) * k), act)
    wo = _weights(s, rng, f.linear_weight, n, k)
    bo = _bias(s, rng, bf, n)
    drows = nrows if flags & Flag.SCATTER else t
    d = s.put_raw(_act(rng, act, drows * n), act)
    res = s.put_raw(_act(rng, act, drows * n), act)
    idx = s.put(rng.permutation(nrows)[:t].astype(np.int32))
    sc = s.put(act.quantize(rng.uniform(0, 1, t)).astype(np.int32))  # int32 words
    cnt = s.put(np.array([max(t - 1, 0)], np.uint32))
    ins = Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=x, dst=d,
                     weights=wo, bias=bo, residual=res, index=idx, scores=sc, count=cnt)
    if flags & (Flag.GATHER | Flag.SCATTER):
        ins = Instr(ins.op, ins.flags, ins.task_mask, (t, n, k, nrows, 0), ins.addrs, ins.imm)
    return Case(name, s, [ins])


def conv(accel, rng, name: str, h: int, w: int, ci: int, co: int, k: int, stride: int,
         pad: int, flags: int = 0) -> Case:
    """CONV (HWC act input, or CHW pixels with PIXEL_INPUT)."""
    s = Scratch(accel, size=IMAGE_BYTES)
    f = accel.formats
    act = f.act
    if flags & Flag.PIXEL_INPUT:
        x = s.put(rng.integers(0, 256, ci * h * w).astype(f.pixel.storage_dtype))
    else:
        x = s.put_raw(_act(rng, act, h * w * ci), act)
    wf = (f.patch_weight if flags & Flag.WFMT_PATCH else
          f.conv_weight if flags & Flag.WFMT_CONV else f.linear_weight)
    wo = _weights(s, rng, wf, co, ci * k * k, 0.3)
    bo = _bias(s, rng, f.bias, co)
    oh, ow = conv_out_size(h, k, stride, pad), conv_out_size(w, k, stride, pad)
    d = s.alloc(oh * ow * co * 4)
    r = s.put_raw(_act(rng, act, oh * ow * co), act)
    ins = Instr.make(Op.CONV, flags, in_h=h, in_w=w, in_ch=ci, out_ch=co,
                     kernel_stride_pad=pack_ksp(k, stride, pad), src=x, dst=d, weights=wo,
                     bias=bo, residual=r)
    return Case(name, s, [ins])


def moe(accel, rng, name: str, t: int, d: int, e: int, h: int, top_k: int,
        residual: bool = True, task: int = 0) -> Case:
    """MOE_GATE (two task slices of gate weights) then MOE_EXPERTS."""
    s = Scratch(accel, size=IMAGE_BYTES)
    f = accel.formats
    act, lw = f.act, f.linear_weight
    po, pi = accel.linear_p_out, accel.linear_p_in
    wb = lw.storage_dtype.itemsize
    x = s.put_raw(_act(rng, act, t * d), act)
    stride = weight_block_bytes(e, d, po, pi, wb)
    wg = s.alloc(2 * stride)
    for k in range(2):
        w = lw.quantize(rng.uniform(-1, 1, (e, d)))
        p = pack_tiled(w, po, pi).astype(lw.storage_dtype).view(np.uint8)
        s.image[wg + k * stride:wg + k * stride + p.size] = p
    q = s.alloc(queue_layout(e, t)["total"])

    def experts_w(out_f: int, in_f: int) -> int:
        blk = weight_block_bytes(out_f, in_f, po, pi, wb)
        off = s.alloc(e * blk)
        for ex in range(e):
            w = lw.quantize(rng.uniform(-0.5, 0.5, (out_f, in_f)))
            p = pack_tiled(w, po, pi).astype(lw.storage_dtype).view(np.uint8)
            s.image[off + ex * blk:off + ex * blk + p.size] = p
        return off

    def experts_b(out_f: int) -> int:
        blk = bias_block_bytes(out_f, po, f.bias.storage_dtype.itemsize)
        off = s.alloc(e * blk)
        for ex in range(e):
            v = f.bias.quantize(rng.uniform(-1, 1, out_f)).astype(f.bias.storage_dtype)
            s.image[off + ex * blk:off + ex * blk + v.nbytes] = v.view(np.uint8)
        return off

    w1, b1, w2, b2 = experts_w(h, d), experts_b(h), experts_w(d, h), experts_b(d)
    scratch = s.put_raw(_act(rng, act, t * h), act)
    res = s.put_raw(_act(rng, act, t * d), act)
    dst = s.put_raw(_act(rng, act, t * d), act)
    prog = [Instr.make(Op.MOE_GATE, tokens=t, dim=d, experts=e, top_k=top_k, src=x, w_gate=wg,
                       queues=q, task_stride=stride),
            Instr.make(Op.MOE_EXPERTS, Flag.RESIDUAL if residual else 0, tokens=t, dim=d,
                       hidden=h, experts=e, src=x, dst=dst, w1=w1, b1=b1, w2=w2, b2=b2,
                       queues=q, scratch=scratch, residual=res)]
    return Case(name, s, prog, task)


def layernorm(accel, rng, name: str, t: int, d: int, eps: int = 4295) -> Case:
    """LAYERNORM."""
    s = Scratch(accel, size=IMAGE_BYTES)
    act, nf = accel.formats.act, accel.formats.norm
    x = s.put_raw(_act(rng, act, t * d, 6.0), act)
    g = s.put_raw(nf.quantize(rng.uniform(-2, 2, d)), nf)
    b = s.put_raw(nf.quantize(rng.uniform(-2, 2, d)), nf)
    dst = s.put_raw(_act(rng, act, t * d), act)
    return Case(name, s, [Instr.make(Op.LAYERNORM, tokens=t, dim=d, src=x, dst=dst, gamma=g,
                                     beta=b, eps=eps)])


def upsample(accel, rng, name: str, h: int, w: int, c: int) -> Case:
    """UPSAMPLE x2."""
    s = Scratch(accel, size=IMAGE_BYTES)
    act = accel.formats.act
    x = s.put_raw(_act(rng, act, h * w * c, 6.0), act)
    dst = s.put_raw(_act(rng, act, 4 * h * w * c), act)
    return Case(name, s, [Instr.make(Op.UPSAMPLE, in_h=h, in_w=w, channels=c, src=x, dst=dst)])


def attention(accel, rng, name: str, t: int, nh: int, hd: int, scale: int | None = None) -> Case:
    """ATTENTION over a fused qkv tensor."""
    s = Scratch(accel, size=IMAGE_BYTES)
    act = accel.formats.act
    x = s.put_raw(_act(rng, act, 3 * t * nh * hd, 3.0), act)
    dst = s.put_raw(_act(rng, act, t * nh * hd), act)
    if scale is None:
        scale = int(act.quantize(hd ** -0.5))
    return Case(name, s, [Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd, qkv=x,
                                     dst=dst, scale=scale)])


def add(accel, rng, name: str, n: int, copy: bool = False) -> Case:
    """ADD (or COPY)."""
    s = Scratch(accel, size=IMAGE_BYTES)
    act = accel.formats.act
    a = s.put_raw(act.quantize(rng.uniform(-400, 400, n)), act)
    b = s.put_raw(act.quantize(rng.uniform(-400, 400, n)), act)
    d = s.alloc(4 * n)
    return Case(name, s, [Instr.make(Op.ADD, Flag.COPY if copy else 0, count=n, a=a, b=b,
                                     dst=d)])


def lif(accel, rng, name: str, n: int, k: int, steps: int, mode: int = 0,
        leak: int = 52429) -> Case:
    """LIF: spike bytes (random high bits too) or act currents in, spikes or membrane out."""
    s = Scratch(accel, size=IMAGE_BYTES)
    f = accel.formats
    if mode & LIF_CURRENT_INPUT:
        src = s.put_raw(_act(rng, f.act, n, 3.0), f.act)
    else:
        src = s.put(rng.integers(0, 256, steps * k).astype(np.uint8))
    wo = _weights(s, rng, f.linear_weight, n, k)
    bo = _bias(s, rng, f.bias, n)
    dst = s.put(rng.integers(0, 256, 4 * n * steps).astype(np.uint8))
    th = int(f.act.quantize(0.6))
    return Case(name, s, [Instr.make(Op.LIF, neurons=n, inputs=k, timesteps=steps, threshold=th,
                                     mode_leak=pack_mode_leak(mode, leak), src=src, dst=dst,
                                     weights=wo, bias=bo)])


def program(accel, name: str, instrs: list[Instr], task: int = 0,
            size: int = IMAGE_BYTES) -> Case:
    """A hand-written program on a zeroed scratch image."""
    return Case(name, Scratch(accel, size=size, max_instrs=max(16, len(instrs))), instrs, task)


def run_cases(executor, cases: list[Case], max_cycles: int = 2_000_000,
              monitor: bool = False) -> dict[str, Outcome]:
    """Run every case on the RTL (one simulator process) and on golden; name -> outcome."""
    accel = executor.accel
    jobs, golden = [], []
    for c in cases:
        s = c.scratch
        code = encode_bytes(c.program)
        s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
        g = s.image.copy()
        golden.append((g, execute(g, accel, s.program, len(c.program), c.task, 0)))
        jobs.append(RtlJob(s.image, s.program, len(c.program), c.task, 0,
                           max_cycles=max_cycles, monitor=monitor))
    results = executor.run_jobs(jobs)
    out = {}
    for i, (c, (g, gerr)) in enumerate(zip(cases, golden)):
        r = results[i] if i < len(results) else None
        out[c.name] = Outcome(c, c.scratch.image, g, r.error if r else None, gerr,
                              r.cycles if r else 0, r.timed_out if r else True,
                              r.monitor if r else None)
    return out
