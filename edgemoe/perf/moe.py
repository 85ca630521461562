"""MOE_EXPERTS cycles: the dispatcher's expert loop (edgemoe_ctrl.sv S_MOE_*).

Counts first, then every non-empty expert's queue is read and checked, dst is initialised
from src (an eltwise COPY, skipped when the residual is dst itself), then per non-empty
expert fc1 + GELU on its gathered tokens and fc2 scattered with the gate score onto dst.
fc2's weights prefetch while fc1 runs, the next expert with tokens' fc1 weights during fc2
(the first one's during the init copy); on a shared port each job's first rows wait
behind the prefetch that starts with it (:func:`_lost_to_prefetch`).
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
from ..numerics.int8 import HIDDEN_CODE_BYTES
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


def _map_pass(accel, n: int, k: int, wbytes: int) -> float:
    """Cycles of a WSKIP job's pass over its prefetched strip 0's map, a tile a cycle
    (edgemoe_lin_skip.sv), before its rows load (its map read's latency the prefetch's
    overlaps)."""
    geo = lin_geometry(accel, n, k, wbytes)
    return float(geo.strip_tiles * geo.tiles_in)


def _prefetch_wait(accel, mem: MemoryTiming, n: int, k: int, wbytes: int, during: float) -> float:
    """Cycles a job waits at strip 0 for weights prefetched while ``during`` cycles ran."""
    return max(0.0, mem.latency + mem.prefetch_cycles(_strip0_beats(accel, mem, n, k, wbytes))
               - during)


def _lost_to_prefetch(mem: MemoryTiming, job: float, own_beats: int, beats: int,
                      head: float = 0.0) -> float:
    """Cycles a linear job loses to the ``beats`` of the prefetch that starts with it.

    On a shared port the prefetch DMA issues its bursts when the job takes its strip 0
    (edgemoe_lin.sv J_W0), after the job's first index read and ahead of its first row
    reads, and the memory answers in order: the first row waits for every burst the port
    accepted (up to ``outstanding``) less their first read latency, which it would wait
    anyway; a WSKIP job first passes over its strip-0 map (``head`` cycles, the prefetch
    streaming meanwhile).  The later bursts take the R channel in the share the job's own
    reads leave.  With a port of its own the prefetch costs the job nothing.
    """
    if mem.prefetch_apart or not beats:
        return 0.0
    left = max(0.0, mem.prefetch_cycles(beats) - head)
    ahead = min(left, mem.prefetch_cycles((mem.outstanding - 1) * PF_BURST))
    busy = min(1.0, mem.beats_cycles(own_beats) / max(job, 1.0))
    return max(0.0, ahead - mem.latency) + busy * (left - ahead)


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
    hb = HIDDEN_CODE_BYTES if q8 else act  # a hidden element in scratch (int8.hidden_codes)

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
    during = init  # what ran while the next fc1's weights were prefetched
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
            wbytes=wb, bbytes=bb, xbytes=act, index=idx_at, prefetched=not mixed, ybytes=hb,
            scales=moe_scales_offset(b1, ex, e, h, po, bb) if q8 and not mixed else None,
            q4=q4[0], **wskip(b1, ex, h, d, 0))
        if not mixed:  # fc2's strip 0 prefetches from fc1's start (its own came before)
            own = traffic.read_beats - beats0 - _strip0_beats(accel, mem, h, d, wb)
            fc1 += _lost_to_prefetch(mem, fc1, own, _strip0_beats(accel, mem, d, h, wb),
                                     _map_pass(accel, h, d, wb) if skip else 0.0)
            fc1 += _prefetch_wait(accel, mem, d, h, wb, fc1)
        cycles += fc1
        beats0 = traffic.read_beats
        fc2 = lin_job_cycles(
            accel, mem, traffic, tokens=cnt, n=d, k=h,
            rows=[[(q + lay["scores"] + ex * lay["slot"] + 4 * r, 4),
                   (scratch + r * h * hb, h * hb)] for r in rows],
            dst_rows=rows, dst=dst, weights=w2 + ex * w2_size, bias=b2 + ex * b2_size,
            wbytes=wb, bbytes=bb, xbytes=hb, base=dst, base_rows=rows, index=idx_at,
            prefetched=not mixed,
            scales=moe_scales_offset(b2, ex, e, d, po, bb) if q8 and not mixed else None,
            q4=q4[1], **wskip(b2, ex, d, h, 1))
        if not mixed and any(counts[ex + 1:]):  # the next expert with tokens: its fc1
            own = traffic.read_beats - beats0 - _strip0_beats(accel, mem, d, h, wb)
            fc2 += _lost_to_prefetch(mem, fc2, own, _strip0_beats(accel, mem, h, d, wb),
                                     _map_pass(accel, d, h, wb) if skip else 0.0)
        cycles += fc2 + STEP_CYCLES["moe_expert"]
        during = fc2
    return cycles
