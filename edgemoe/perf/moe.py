"""MOE_EXPERTS cycles: the dispatcher's expert loop (edgemoe_ctrl.sv S_MOE_*).

Counts first, then every non-empty expert's queue is read and checked, dst is initialised
from src (an eltwise COPY, skipped when the residual is dst itself), then per non-empty
expert fc1 + GELU on its gathered tokens and fc2 scattered with the gate score onto dst.
fc2's weights prefetch while fc1 runs, the next expert with tokens' fc1 weights during fc2
(the first one's during the init copy, edgemoe_ctrl.sv S_MOE_INIT).  On one port the
expert jobs' dependent reads queue behind those prefetch bursts (:func:`_beside_prefetch`).
Mixed experts (Flag.WFMT_Q4) first read the W8A8 word at the end of b1 and check every
expert's fc1, then fc2, channel_index list (one u32 a cycle); then each layer's strips load
through edgemoe_lin_q4 (edgemoe.perf.q4), nothing prefetched.
"""

from __future__ import annotations

from ..isa import Flag, Instr
from ..layout import (
    bias_block_bytes,
    moe_scales_offset,
    moe_tile_map_offset,
    queue_layout,
    tile_grid,
    tile_map_bytes,
    tiles_run,
    unpack_tile_map,
    weight_block_bytes,
)
from ..numerics import int4
from .engines import STEP_CYCLES, lin_job_cycles
from .memory import PF_BURST, MemoryTiming
from .q4 import Q4Layer
from .traffic import Traffic, lin_geometry

__all__ = ["expert_keep", "moe_experts_cycles", "moe_q4_layers"]

#: The dispatcher's states around a mixed call's word read (S_DYN_CMD, S_DYN_W) and around
#: each channel_index list (S_IDX_CMD, its last S_IDX_W).
Q4_WORD_CYCLES = 2
Q4_LIST_CYCLES = 2


def expert_keep(image, ins: Instr, accel) -> list[tuple[float, float]]:
    """WSKIP MOE_EXPERTS: per expert, the share of fc1's and fc2's tile beats that run
    (layout.tiles_run / tiles), read from its maps in ``image`` (the weights region)."""
    po, pi = accel.linear_p_out, accel.linear_p_in
    bb = accel.formats.bias.storage_dtype.itemsize
    d, h, e = ins.get("dim"), ins.get("hidden"), ins.get("experts")
    out = []
    for ex in range(e):
        pair = []
        for b, n, k in (("b1", h, d), ("b2", d, h)):
            at = moe_tile_map_offset(ins.get(b), ex, e, n, k, po, pi, bb)
            rows, cols = tile_grid(n, k, po, pi)
            zero = unpack_tile_map(image[at:at + tile_map_bytes(n, k, po, pi)], rows, cols)
            pair.append(tiles_run(zero) / (rows * cols))
        out.append((pair[0], pair[1]))
    return out


def moe_q4_layers(ins: Instr, accel, ex: int) -> tuple[Q4Layer, Q4Layer]:
    """Mixed MOE_EXPERTS: expert ``ex``'s fc1 and fc2 layers (numerics.int4's layout)."""
    po, pi = accel.linear_p_out, accel.linear_p_in
    bb = accel.formats.bias.storage_dtype.itemsize
    d, h, e = ins.get("dim"), ins.get("hidden"), ins.get("experts")
    high1, high2, code = int4.unpack_moe_split(ins.get("q4_split"))
    out = []
    for w, b, n, k, high in (("w1", "b1", h, d, high1), ("w2", "b2", d, h, high2)):
        groups = int4.moe_groups(k, code)
        stride = int4.weight_bytes(n, high, k, groups, po, pi)
        out.append(Q4Layer(ins.get(w) + ex * stride,
                           ins.get(b) + ex * bias_block_bytes(n, po, bb),
                           moe_scales_offset(ins.get(b), ex, e, n, po, bb),
                           int4.moe_index_offset(ins.get(b), ex, e, n, po, bb), high, groups))
    return out[0], out[1]


def _q4_checks(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic) -> float:
    """Mixed MOE_EXPERTS: the word read, then every expert's two channel_index lists."""
    po, bb = accel.linear_p_out, accel.formats.bias.storage_dtype.itemsize
    d, h, e = ins.get("dim"), ins.get("hidden"), ins.get("experts")
    word = int4.moe_q8_word_offset(ins.get("b1"), e, h, po, bb)
    cycles = Q4_WORD_CYCLES + mem.latency + mem.beats_cycles(traffic.read(word, 4, mem.bus_bytes))
    for b, n in (("b1", h), ("b2", d)):
        for ex in range(e):
            traffic.read(int4.moe_index_offset(ins.get(b), ex, e, n, po, bb), 4 * n, mem.bus_bytes)
            cycles += Q4_LIST_CYCLES + mem.latency + n
    return cycles


def _strip0_beats(accel, mem: MemoryTiming, n: int, k: int, wbytes: int) -> int:
    geo = lin_geometry(accel, n, k, wbytes)
    return -(-geo.strip_tiles * geo.tiles_in * geo.tile_bytes // mem.bus_bytes)


def _prefetch_wait(accel, mem: MemoryTiming, n: int, k: int, wbytes: int, during: float) -> float:
    """Cycles a job waits at strip 0 for weights prefetched while ``during`` cycles ran."""
    return max(0.0, mem.latency + mem.beats_cycles(_strip0_beats(accel, mem, n, k, wbytes))
               - during)


def _free(mem: MemoryTiming, cycles: float, beats: int) -> float:
    """Cycles of a job the prefetch moves in: those its R channel is not busy with the job's
    own ``beats``, or all of them when the prefetch has a port of its own."""
    if mem.prefetch_apart:
        return cycles
    return max(0.0, cycles - mem.beats_cycles(beats))


def _beside_prefetch(mem: MemoryTiming, pf_beats: int) -> float:
    """Cycles an expert job loses to the weight prefetch running beside it on its port.

    The prefetch DMA issues its bursts as the job starts; the job's next dependent read
    (fc1's second row, fc2's second index: edgemoe_lin.sv) queues behind every one the
    memory holds, and is answered a read latency after them instead of after its own
    issue.  Nothing when the prefetch has a port of its own.
    """
    if mem.prefetch_apart:
        return 0.0
    queued = mem.beats_cycles(min(pf_beats, (mem.outstanding - 1) * PF_BURST))
    return max(0.0, queued - mem.latency)


def moe_experts_cycles(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic, fmt,
                       counts: list[int], keep: list[tuple[float, float]] | None = None) -> float:
    """Cycles of a MOE_EXPERTS instruction routed as ``counts`` (tokens per expert).

    Under WSKIP each expert's fc1 and fc2 pass its map and runs only its kept tiles:
    ``keep`` gives their shares per expert (:func:`expert_keep`; None: every tile).
    """
    t, d, h, e = ins.get("tokens"), ins.get("dim"), ins.get("hidden"), ins.get("experts")
    q8 = ins.has(Flag.WFMT_Q8 | Flag.WFMT_Q4)  # W8A8 (mixed: modelled as W8A8): int8 codes
    act, wb, bb = fmt("act"), fmt("weight") if q8 else fmt("linear_weight"), fmt("bias")
    bus, lat = mem.bus_bytes, mem.latency
    q = ins.get("queues")
    lay = queue_layout(e, t)
    src, dst, scratch = ins.get("src"), ins.get("dst"), ins.get("scratch")
    w1, b1, w2, b2 = (ins.get(n) for n in ("w1", "b1", "w2", "b2"))
    pi, po = accel.linear_p_in, accel.linear_p_out
    w1_size, w2_size = weight_block_bytes(h, d, po, pi, wb), weight_block_bytes(d, h, po, pi, wb)
    b1_size, b2_size = bias_block_bytes(h, po, bb), bias_block_bytes(d, po, bb)
    skip = ins.has(Flag.WSKIP)
    keep = keep or [(1.0, 1.0)] * e
    mixed = ins.has(Flag.WFMT_Q4)

    def wskip(b: int, ex: int, n: int, k: int, layer: int) -> dict:
        if not skip:
            return {}
        return {"tile_map": moe_tile_map_offset(b, ex, e, n, k, po, pi, bb),
                "keep": keep[ex][layer]}

    cycles = lat + mem.beats_cycles(traffic.read(q, 4 * e, bus)) + 2
    for ex, cnt in enumerate(counts):
        if cnt:
            traffic.read(q + lay["index"] + ex * lay["slot"], 4 * cnt, bus)
            cycles += lat + max(cnt, 1) + 3
    if mixed:
        cycles += _q4_checks(ins, accel, mem, traffic)
    if ins.has(Flag.RESIDUAL) and ins.get("residual") == dst:
        init = 0.0
    else:
        n = traffic.read(src, t * d * act, bus)
        traffic.write(dst, t * d * act, bus)
        init = lat + mem.beats_cycles(n) + STEP_CYCLES["add_op"] + STEP_CYCLES["op"]
    cycles += init
    # what ran while the next fc1's weights were prefetched: the copy's own reads first
    during = _free(mem, init, n) if init else 0.0
    pf1, pf2 = _strip0_beats(accel, mem, h, d, wb), _strip0_beats(accel, mem, d, h, wb)
    for ex, cnt in enumerate(counts):
        if not cnt:
            continue
        rows = list(range(cnt))
        idx_at = q + lay["index"] + ex * lay["slot"]
        q4 = moe_q4_layers(ins, accel, ex) if mixed else (None, None)
        if not mixed:
            cycles += _prefetch_wait(accel, mem, h, d, wb, during)
        beats0 = traffic.read_beats
        fc1 = lin_job_cycles(
            accel, mem, traffic, tokens=cnt, n=h, k=d,
            rows=[[(src + r * d * act, d * act)] for r in rows],
            dst_rows=rows, dst=scratch, weights=w1 + ex * w1_size, bias=b1 + ex * b1_size,
            wbytes=wb, bbytes=bb, xbytes=act, index=idx_at, prefetched=not mixed,
            scales=moe_scales_offset(b1, ex, e, h, po, bb) if q8 and not mixed else None,
            q4=q4[0], **wskip(b1, ex, h, d, 0))
        # the prefetch moves only while the R channel is not carrying the job's own reads,
        # and while the job waits behind it
        own = traffic.read_beats - beats0 - (0 if mixed else pf1)
        lost = 0.0 if mixed else _beside_prefetch(mem, pf2)
        cycles += fc1 + lost + (0.0 if mixed else _prefetch_wait(
            accel, mem, d, h, wb, _free(mem, fc1, own) + lost))
        beats0 = traffic.read_beats
        fc2 = lin_job_cycles(
            accel, mem, traffic, tokens=cnt, n=d, k=h,
            rows=[[(idx_at + 4 * r, 4), (q + lay["scores"] + ex * lay["slot"] + 4 * r, 4),
                   (scratch + r * h * act, h * act)] for r in rows],
            dst_rows=rows, dst=dst, weights=w2 + ex * w2_size, bias=b2 + ex * b2_size,
            wbytes=wb, bbytes=bb, xbytes=act, base=dst, base_rows=rows, serial_head=1,
            prefetched=not mixed, rmw=True,
            scales=moe_scales_offset(b2, ex, e, d, po, bb) if q8 and not mixed else None,
            q4=q4[1], **wskip(b2, ex, d, h, 1))
        lost = 0.0 if mixed or not any(counts[ex + 1:]) else _beside_prefetch(mem, pf1)
        cycles += fc2 + lost + STEP_CYCLES["moe_expert"]
        during = _free(mem, fc2, traffic.read_beats - beats0 - (0 if mixed else pf2)) + lost
    return cycles
