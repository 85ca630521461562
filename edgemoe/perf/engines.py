"""Cycles of one instruction on each RTL engine, with the board's memory.

Each function follows its engine's schedule in rtl_templates/ and says what overlaps:

- linear engine (LINEAR, CONV, MOE_GATE logits, MOE_EXPERTS fc1/fc2), edgemoe_lin.sv: per
  strip of output tiles the bias then the weights load *serialized* (strip 0's weights
  come from the ping/pong prefetch when the previous instruction left time for it); then
  the row loader fills ``linear_row_slots`` row slots, the MAC array works on one, so a
  token costs max(MACs of the strip, its row reads, a slot's round trip over the slots); a
  CONV through the line buffer reads each input row once per strip and copies its taps on chip;
- attention, edgemoe_attn.sv (:mod:`edgemoe.perf.attn_dense`): per head K and V stream
  on chip once, then per phase a query block's QK^T walks the on-chip K a beat per cycle
  beside the previous block's AV on V, while the next block's Q rows stream in and the
  writer drains the block before; the command generator runs ahead (8 commands in
  flight), so row latency mostly hides;
- LAYERNORM, edgemoe_ln.sv (:mod:`edgemoe.perf.layernorm`): gamma, beta and the rows are read back to back into a ring of
  LN_ROW_SLOTS row buffers (a row's read issued once its slot is free), so the read
  latency hides; the statistics stage (two radix-4 dividers, rsqrt) of one row overlaps
  the loads after it and the output of the rows before;
- ADD/COPY, edgemoe_eltwise.sv: chunks of ADD_CHUNK elements, a then b;
- UPSAMPLE, edgemoe_upsample.sv: per input pixel its column of three input rows (read
  ahead), then the output pixels between that column and the previous one;
- LIF, edgemoe_lif.sv: per block of P_OUT neurons the bias word, the weight strip and the
  first spike row are requested back to back, then per step the update and one word of
  spike bytes (:func:`edgemoe.perf.lif.lif_cycles` says why the op spec's ideal is out of
  reach).

The per-step constants (state-machine cycles the schedule spends besides moving data)
are in :data:`STEP_CYCLES`, read off the SV and checked against the RTL bench
(tests/test_perf_model.py).
"""

from __future__ import annotations

import math

from ..codegen.constants import INDEX_CHUNK, INDEX_RING
from ..isa import Flag, Instr, Op, unpack_ksp
from ..layout import queue_layout
from ..numerics.attn_q8 import Q8_PARAM_BYTES, Q8_PARAM_WORDS
from ..numerics.int8 import q8_mac_beats
from ..ops import code_muls_at, elem_bytes
from .attn_dense import attention_head_cycles
from .attn_topk import attention_topk_cycles
from .conv_line import line_strip_cycles
from .memory import DMA_CMD_CYCLES, DMA_IN_FLIGHT, MemoryTiming
from .q4 import Q4Layer, q4_check_cycles, q4_layer, q4_strip_cycles
from .traffic import (
    Traffic,
    beats,
    conv_line_schedule,
    conv_out_pixels,
    conv_taps,
    lin_geometry,
    uses_line_buffer,
)

__all__ = ["STEP_CYCLES", "cmd_cycles", "lin_job_cycles", "op_cycles"]

#: Cycles of engine bookkeeping per step of a schedule (not data movement).
STEP_CYCLES = {
    "lin_job": 32,         # J_IDLE..J_SIZE, MAC pipeline fill, J_DRAIN and the write-back
    "lin_strip": 4,        # J_NEXT/J_SIZE/J_BIAS between two strips
    "lin_token": 7,        # row loader G_TOKEN/G_END/G_NEXT and the slot hand-over per token
    "lin_cmd": 1,          # one more loader command (im2col tap, index, score, base row)
    "lin_slot": 3,         # MAC pipeline stages before a finished row's slot is free
    "lin_row_out": 4,      # the writer's W_IDLE/W_CMD, command hand-over and done per row
                           # (fitted: W8A8 rows of 24 beats take 28 cycles on wide)
    "attn_phase": 2,       # C_DRAIN and C_RECIP of a phase (QK^T of a block, AV of the last)
    "attn_row_out": 2,     # W_IDLE/W_CMD per output row the writer drains
    "attn_op": 8,
    "ln_row": 35,          # S_IDLE, S_DIV (32 radix-4 steps), S_VAR, S_RSTD: statistics
    "ln_op": 6,
    "ln_issue": 2,         # fewest cycles between two of LAYERNORM's read commands
    "ln_out_row": 2,       # P_IDLE, P_CMD before a row's words
    "ln_end": 6,           # the last write's response, P_END and done (fitted on tiny)
    "add_chunk": 4,
    "add_op": 11,
    "up_pixel": 2,         # C_CMD/C_END per output pixel
    "up_op": 40,
    "gate_op": 0,          # router start and done hand-over: hidden under the drain
                           # (fitted on m3vit-micro after the router began streaming)
    "moe_expert": 8,       # S_MOE_EX/S_MOE_FC2: two job hand-overs per active expert
    "dma_cmd": DMA_CMD_CYCLES,  # fewest cycles per read command (perf.memory)
    "op": 4,               # S_RUN..S_WAIT_ENG..S_MACS..S_PROF of any instruction
    "lif_block": 4,        # S_BLOCK, S_WCMD, S_STEP and S_BIAS of a neuron block
    "lif_step": 3.5,       # S_UPD, S_WR, S_NEXT per step (fitted on snn-digits, 3 layer kinds)
    "lif_readout": 4.5,    # S_RDOUT, S_WRU and the membrane word of a readout block
}


#: Cycles a row loader's read command holds one of the read DMA's DMA_IN_FLIGHT command
#: slots besides its latency and beats (fitted: the patch embedding's 48 taps of 16 pixels a
#: token on edge-moe-zcu102-w8a8's RTL at 16, 64 and 128 cycles of read latency).
LIN_CMD_FLIGHT = 8


def cmd_cycles(traffic: Traffic, addr: int, nbytes: int, word_bytes: int, mem: MemoryTiming,
               weight: bool = False, issued_ahead: bool = False) -> float:
    """Cycles one streamed read command occupies: its beats or its words, whichever is slower.

    An unaligned command whose data ends in its last R beat costs the read DMA one more
    (flush) cycle, and no command takes less than ``dma_cmd`` cycles (edgemoe_rd_dma.sv)
    unless it was ``issued_ahead``: queued while the engine was busy elsewhere, so its
    data is waiting when the engine turns to it.
    """
    n = traffic.read(addr, nbytes, mem.bus_bytes, weight)
    bus = mem.bus_bytes
    flush = addr % bus != 0 and n == -(-nbytes // bus) and n != 1
    return max(math.ceil(nbytes / word_bytes) + flush, mem.beats_cycles(n),
               0 if issued_ahead else STEP_CYCLES["dma_cmd"])


def _wskip_strip(traffic: Traffic, mem: MemoryTiming, tile_map: int, first: int, tiles: int,
                 keep: float, weights: int, tile_bytes: int,
                 prefetched: bool = False) -> tuple[int, float]:
    """A WSKIP strip (edgemoe_lin_skip.sv): its bytes of the tile map, then one pass over its
    tiles (one a cycle) fetching only the kept ones, a read command each (pipelined); a
    prefetched strip (already in the other bank, edgemoe_lin.sv J_W0) only lists its beats.

    Returns:
        (beats per token, cycles of the strip's map and weight loads).
    """
    m = traffic.read(tile_map + first // 8, -(-(first % 8 + tiles) // 8), mem.bus_bytes)
    kept = max(1, round(tiles * keep))
    if prefetched:  # the prefetcher read the whole strip (counted here, as dense strips are)
        traffic.read(weights, tiles * tile_bytes, mem.bus_bytes, weight=True)
        return kept, 2 * mem.latency + mem.beats_cycles(m) + tiles + 2
    w = traffic.read(weights, kept * tile_bytes, mem.bus_bytes, weight=True)
    return kept, 2 * mem.latency + mem.beats_cycles(m) + max(tiles, mem.beats_cycles(w)) + 2


def lin_job_cycles(accel, mem: MemoryTiming, traffic: Traffic, *, tokens: int, n: int, k: int,
                   rows: list[list[tuple[int, int]]], dst_rows: list[int], dst: int,
                   weights: int, bias: int, wbytes: int, bbytes: int, xbytes: int,
                   base: int = 0, base_rows: list[int] | None = None,
                   index: int | None = None, prefetched: bool = False,
                   to_router: bool = False, line: dict | None = None,
                   scales: int | None = None, tile_map: int | None = None,
                   keep: float = 1.0, q4: Q4Layer | None = None,
                   ybytes: int | None = None, code_muls: int | None = None) -> float:
    """Cycles of one linear-engine job (edgemoe_lin.sv), counting its traffic.

    Args:
        rows: Per token, its read commands (byte address, bytes) of the input row.
        dst_rows: Per token, the row it writes (its token, or the scatter index).
        index: GATHER or SCATTER: the u32 index list, read ahead :data:`INDEX_CHUNK` a
            command into the ring (only a strip's first token waits for its index), or None.
        base_rows: Per token, the row of ``base`` read with the result (RESIDUAL or
            SCORE_ACC accumulate), or None.
        prefetched: Strip 0's weights are already in the other bank.
        to_router: MOE_GATE logits: no bias, nothing written.
        line: A CONV through the line buffer: the keyword arguments of
            :func:`edgemoe.perf.conv_line.line_strip_cycles` besides the per-strip ones
            (its token loop is stepped there; ``rows`` is then unused).
        scales: W8A8 (Flag.WFMT_Q8): the int32 channel multipliers, read per strip after
            its biases (edgemoe_lin.sv), or None.  W8A8 runs pairs of output tiles
            (int8.q8_mac_beats); its prefetched strip 0 arrives paired.
        tile_map: WSKIP (Flag.WSKIP): the zero-tile map, or None.
        keep: WSKIP: share of the tiles that run (``tiles_run`` / tiles); the zero tiles
            are neither fetched nor given MAC cycles (taken as spread evenly over strips).
        q4: WFMT_Q4: the mixed layer; edgemoe_lin_q4 loads every strip (edgemoe.perf.q4),
            then the MAC array runs unpaired (13-bit weights), as W16.
        ybytes: Bytes of a written element: the act container (None), or a W8A8 expert fc1's
            int8 hidden codes (numerics.int8.HIDDEN_CODE_BYTES, edgemoe_lin_writer).
        code_muls: W8A8 codes out: the code multipliers, read per strip after ``scales``.
    """
    po, pi, act = accel.linear_p_out, accel.linear_p_in, accel.act_container_bits // 8
    yb = act if ybytes is None else ybytes
    geo = lin_geometry(accel, n, k, wbytes)
    bus, lat = mem.bus_bytes, mem.latency
    word = pi * xbytes
    cycles = float(STEP_CYCLES["lin_job"])
    # the prefetch places one-byte weights as W8A8 pairs: a W16-path job with one-byte
    # weights reloads its strip 0 (edgemoe_lin_prefetch); WFMT_Q4 strips load through q4
    prefetched = prefetched and q4 is None and (wbytes == 1) == (scales is not None)
    col0 = 0
    for s, st in enumerate(geo.strip_sizes()):
        cols = min(st * po, n - col0)
        cycles += STEP_CYCLES["lin_strip"] if s else 0
        lead = cycles
        if q4 is not None:
            cycles += q4_strip_cycles(accel, mem, traffic, q4, n, k, col0, cols, bbytes)
        elif not to_router:
            b = traffic.read(bias + col0 * bbytes, st * po * bbytes, bus, weight=True)
            cycles += lat + mem.beats_cycles(b) + 1
        for muls in (scales, code_muls):
            if muls is not None:
                m = traffic.read(muls + col0 * 4, st * po * 4, bus, weight=True)
                cycles += lat + mem.beats_cycles(m) + 1
        if s == 0 and traffic.before_w0 is None:  # (a WFMT_Q4 job decides first)
            traffic.before_w0 = 0.0 if q4 is not None else cycles - lead
        w0 = weights + col0 // po * geo.tiles_in * geo.tile_bytes
        if q4 is not None:
            macs = st * geo.tiles_in
        elif tile_map is not None:
            macs, load = _wskip_strip(traffic, mem, tile_map, col0 // po * geo.tiles_in,
                                      st * geo.tiles_in, keep, w0, geo.tile_bytes,
                                      s == 0 and prefetched)
            macs = max(macs, st * accel.linear_epilogue_steps)  # epilogue pace (spread even)
            cycles += load
        else:
            wb = traffic.read(w0, st * geo.tiles_in * geo.tile_bytes, bus, weight=True)
            if not (s == 0 and prefetched):
                cycles += lat + mem.beats_cycles(wb) + 1
            # W8A8: a pair takes pair_cycles beats, >= Q8_PAIR (int8.q8_mac_beats)
            macs = st * geo.tile_cycles if scales is None else q8_mac_beats(st, geo.pair_cycles)
        first = True
        if line is not None:
            base_reads = None if base_rows is None else [
                (base + (r * n + col0) * act, cols * act) for r in base_rows]
            cycles += line_strip_cycles(macs=macs, mem=mem, traffic=traffic,
                                        slots=accel.linear_row_slots,
                                        base_reads=base_reads, **line)
            for t in range(tokens):
                traffic.write(dst + (dst_rows[t] * n + col0) * yb, cols * yb, bus)
            tokens_left = 0
        else:
            tokens_left = tokens
        ahead = 0  # indices requested this strip
        for t in range(tokens_left):
            load = STEP_CYCLES["lin_token"]
            while index is not None and ahead < tokens and \
                    ahead + min(INDEX_CHUNK, tokens - ahead) <= t + INDEX_RING:
                c = min(INDEX_CHUNK, tokens - ahead)
                words = cmd_cycles(traffic, index + 4 * ahead, 4 * c, 4, mem)
                load += STEP_CYCLES["lin_cmd"] + (0 if first else words)
                ahead += c
            if index is not None and first:  # the strip's first index, then its row
                load += lat + STEP_CYCLES["lin_cmd"] + 1
            reads = [(addr, nbytes, word) for addr, nbytes in rows[t]]
            if base_rows is not None:
                reads.append((base + (base_rows[t] * n + col0) * act, cols * act, po * act))
            # cycles the token's reads hold the read DMA, and the loader's commands
            data = sum(cmd_cycles(traffic, a, b, w, mem) for a, b, w in reads)
            load += len(rows[t]) * STEP_CYCLES["lin_cmd"] + data
            # many short reads (im2col taps) are paced by the DMA's commands in flight
            flight = sum(lat + mem.beats_cycles(beats(a, b, bus)) + LIN_CMD_FLIGHT
                         for a, b, _ in reads) / DMA_IN_FLIGHT
            if not to_router:
                traffic.write(dst + (dst_rows[t] * n + col0) * yb, cols * yb, bus)
            # S row slots: a slot's next row is requested when the MAC array frees it,
            # so one slot's round trip (MACs, latency, load) spans S tokens; a token
            # costs that share, the MACs, the loader's own pace or the writer's (it drains
            # a row per token through two output slots), whichever is most.  The loader's
            # pace: its commands' bookkeeping or their data, as it issues the next row's
            # commands while the last row's data still streams in (edgemoe_lin_loader.sv)
            write = 0.0 if to_router else \
                mem.beats_cycles(math.ceil(cols * yb / bus)) + STEP_CYCLES["lin_row_out"]
            if first:  # its reads' data after the latency, or the commands in flight
                cycles += lat + load - data + max(data, flight - lat) + macs
            else:
                cycles += max(macs, data, load - data, flight, write,
                              (macs + lat + load + STEP_CYCLES["lin_slot"])
                              / accel.linear_row_slots)
            first = False
        if not to_router and tokens:
            cycles += mem.beats_cycles(math.ceil(cols * yb / bus))  # last row's write
        col0 += cols
    return cycles


def _linear(ins: Instr, accel, mem, traffic, fmt, prefetched) -> float:
    """LINEAR; GATHER takes rows from the index list, SCATTER writes (and with SCORE_ACC
    reads) them there (the list read ahead); SCORE_ACC reads each token's score
    (edgemoe_ctrl_jobs.sv)."""
    t, n, k = ins.get("tokens"), ins.get("out_features"), ins.get("in_features")
    src, dst = ins.get("src"), ins.get("dst")
    sacc = ins.has(Flag.SCORE_ACC)
    idx = list(range(t))  # the index list's rows are data: their alignment is taken as the token's
    xb, yb = (elem_bytes(ins, accel, o) for o in ("src", "dst"))  # W8A8 MLP: hidden codes

    def row(r: int) -> list[tuple[int, int]]:
        head = [(ins.get("scores") + 4 * r, 4)] if sacc else []
        return head + [(src + r * k * xb, k * xb)]

    q4 = q4_layer(ins) if ins.has(Flag.WFMT_Q4) else None
    check = q4_check_cycles(mem, traffic, q4, n) if q4 else 0.0
    return check + lin_job_cycles(
        accel, mem, traffic, tokens=t, n=n, k=k, rows=[row(r) for r in idx], dst_rows=idx,
        dst=dst, weights=ins.get("weights"), bias=ins.get("bias"), wbytes=fmt("weight"),
        bbytes=fmt("bias"), xbytes=xb, ybytes=yb, base=dst if sacc else ins.get("residual"),
        base_rows=idx if ins.has(Flag.RESIDUAL) or sacc else None,
        index=ins.get("index") if ins.has(Flag.GATHER | Flag.SCATTER) else None,
        prefetched=prefetched,
        scales=ins.get("scales") if ins.has(Flag.WFMT_Q8) else None, q4=q4,
        code_muls=code_muls_at(ins, accel), **_wskip_args(ins, accel))


def _wskip_args(ins: Instr, accel) -> dict:
    """lin_job_cycles' WSKIP arguments of a LINEAR (none without the flag)."""
    if not ins.has(Flag.WSKIP):
        return {}
    n, k = ins.get("out_features"), ins.get("in_features")
    tiles = -(-n // accel.linear_p_out) * -(-k // accel.linear_p_in)
    return {"tile_map": ins.get("tile_map"), "keep": ins.get("tiles_run") / tiles}


def _conv(ins: Instr, accel, mem, traffic, fmt, prefetched) -> float:
    """CONV as im2col rows; through the line buffer when it holds the kernel rows."""
    pixel = ins.has(Flag.PIXEL_INPUT)
    xb = fmt("pixel") if pixel else fmt("act")
    kk, ci, co = unpack_ksp(ins.get("kernel_stride_pad"))[0], ins.get("in_ch"), ins.get("out_ch")
    src = ins.get("src")
    n_pix = conv_out_pixels(ins)
    line = None
    if uses_line_buffer(ins, accel):
        # a tap's words move one per cycle when k*k is odd (the banks take a whole word),
        # else one element per cycle
        line = {"steps": conv_line_schedule(ins), "kernel": kk,
                "stride": unpack_ksp(ins.get("kernel_stride_pad"))[1],
                "tap_words": ci // accel.linear_p_in if kk % 2 else ci,
                "word_bytes": accel.linear_p_in * xb, "src": src, "xbytes": xb}
        rows = []
    else:
        rows = [[(src + off * xb, cnt * xb) for off, cnt in taps]
                for taps in conv_taps(ins, per_pixel=True)]
    idx = list(range(n_pix))
    return lin_job_cycles(
        accel, mem, traffic, tokens=n_pix, n=co, k=ci * kk * kk, rows=rows, dst_rows=idx,
        dst=ins.get("dst"), weights=ins.get("weights"), bias=ins.get("bias"),
        wbytes=fmt("weight"), bbytes=fmt("bias"), xbytes=xb, base=ins.get("residual"),
        base_rows=idx if ins.has(Flag.RESIDUAL) else None, prefetched=prefetched, line=line,
        scales=ins.get("scales") if ins.has(Flag.WFMT_Q8) else None)


def _attention(ins: Instr, accel, mem, traffic, fmt) -> float:
    t, nh, hd = ins.get("tokens"), ins.get("heads"), ins.get("head_dim")
    act, lanes, bus = fmt("act"), accel.attn_lanes, mem.bus_bytes
    qkv, dst = ins.get("qkv"), ins.get("dst")
    xb, yb = (elem_bytes(ins, accel, o) for o in ("qkv", "dst"))  # int8: codes in / out
    stride, part, row = 3 * nh * hd * xb, nh * hd * xb, hd * xb
    beats = math.ceil(hd * act / bus)  # act beats per head row (the writer's words)
    words = beats  # memory words per head row on chip (the lanes' step length)
    cycles = float(mem.latency + STEP_CYCLES["attn_op"])
    in_flight = DMA_IN_FLIGHT  # commands the generator runs ahead
    if ins.has(Flag.WFMT_Q8):
        # int8 (edgemoe_attn_q8_load): the parameter block first, a u32 word a cycle; act
        # rows cross the port as act beats (code rows: a word of bus bytes a beat), the
        # chip keeps one-byte codes, so a step walks a row's codes in a word of bus bytes
        prm = traffic.read(ins.get("q8_params"), Q8_PARAM_BYTES, bus, weight=True)
        cycles += max(float(prm), float(len(Q8_PARAM_WORDS)))
        words = math.ceil(hd / bus)

    def stream(addr: int, nbytes: int = row, weight: bool = False) -> float:
        b = traffic.read(addr, nbytes, bus, weight=weight)
        # the consumer takes a beat a cycle; with 8 commands in flight a row's latency
        # hides unless the rows are so short that 8 of them do not cover it
        return max(float(b), mem.beats_cycles(b), (mem.latency + mem.beats_cycles(b)) / in_flight)

    if ins.has(Flag.ATTN_TOPK):
        return cycles + attention_topk_cycles(ins, accel, mem, traffic, fmt, stream, STEP_CYCLES)
    blocks = [min(lanes, t - q0) for q0 in range(0, t, lanes)]
    free = 0.0  # the writer's drain ends (perf.attn_dense: it runs beside the phases)
    # a row's W_CMD and words (act beats; codes out: as many words of a beat's codes), or
    # the W channel's rate when that is slower
    out_row = max(beats + STEP_CYCLES["attn_row_out"], mem.beats_cycles(math.ceil(hd * yb / bus)))
    for h in range(nh):
        off = h * row
        # K and V of the head, once (the generator queues them during the previous head)
        for kv in (part, 2 * part):
            for r in range(t):
                cycles += stream(qkv + r * stride + kv + off)
        cycles, free = attention_head_cycles(
            cycles, free, blocks=blocks, t=t, lanes=lanes, words=words, out_row=out_row,
            q_row=lambda q, off=off: stream(qkv + q * stride + off),
            write_row=lambda q, h=h: traffic.write(dst + (q * nh + h) * hd * yb, hd * yb, bus),
            step_cycles=STEP_CYCLES)
    return max(cycles, free)


def _add(ins: Instr, accel, mem, traffic, fmt) -> float:
    n, act, bus = ins.get("count"), fmt("act"), mem.bus_bytes
    a, b, dst = ins.get("a"), ins.get("b"), ins.get("dst")
    if ins.has(Flag.COPY):
        r = traffic.read(a, n * act, bus)
        traffic.write(dst, n * act, bus)
        return STEP_CYCLES["add_op"] + mem.latency + mem.beats_cycles(r)
    chunk = 64 * accel.vector_lanes
    word = accel.vector_lanes * act
    cycles = float(STEP_CYCLES["add_op"] + mem.latency)
    for e0 in range(0, n, chunk):
        m = min(chunk, n - e0)
        cycles += cmd_cycles(traffic, a + e0 * act, m * act, word, mem)
        cycles += cmd_cycles(traffic, b + e0 * act, m * act, word, mem) + STEP_CYCLES["add_chunk"]
        traffic.write(dst + e0 * act, m * act, bus)
    return cycles


def _upsample(ins: Instr, accel, mem, traffic, fmt) -> float:
    """UPSAMPLE as edgemoe_upsample.sv schedules it: per input pixel (y, x) column x of rows
    y - 1, y, y + 1 is read (its commands issued while the previous step wrote), then the
    output columns between x - 1 and x of rows 2y and 2y + 1 are written, a command each."""
    h, w, c = ins.get("in_h"), ins.get("in_w"), ins.get("channels")
    act, vec, bus = fmt("act"), accel.vector_lanes, mem.bus_bytes
    src, dst, px = ins.get("src"), ins.get("dst"), c * act
    words = -(-c // vec)
    cycles = float(STEP_CYCLES["up_op"] + mem.latency)
    for y in range(h):
        rows = (max(y - 1, 0), y, min(y + 1, h - 1))
        for x in range(w):
            for r in rows:
                cycles += cmd_cycles(traffic, src + (r * w + x) * px, px, vec * act, mem,
                               issued_ahead=True)
            first, last = (2 * x - 1 if x else 0), (2 * x + 1 if x == w - 1 else 2 * x)
            for oy in (2 * y, 2 * y + 1):
                for ox in range(first, last + 1):
                    n = traffic.write(dst + (oy * 2 * w + ox) * px, px, bus)
                    cycles += max(words, mem.beats_cycles(n)) + STEP_CYCLES["up_pixel"]
    return cycles


def _moe_gate(ins: Instr, accel, mem, traffic, fmt, prefetched, task) -> float:
    t, d, e = ins.get("tokens"), ins.get("dim"), ins.get("experts")
    act = fmt("act")
    src = ins.get("src")
    w = ins.get("w_gate") + task * ins.get("task_stride")
    idx = list(range(t))
    cycles = lin_job_cycles(
        accel, mem, traffic, tokens=t, n=e, k=d, rows=[[(src + r * d * act, d * act)] for r in idx],
        dst_rows=idx, dst=0, weights=w, bias=0, wbytes=fmt("linear_weight"), bbytes=0,
        xbytes=act, prefetched=prefetched, to_router=True)
    size = queue_layout(e, t)["total"]
    w = traffic.write(ins.get("queues"), size, mem.bus_bytes)
    # the router streams under the logits (edgemoe_router.sv): the last token's softmax,
    # top-k and appends run under the linear job's drain (counted in lin_job, which a
    # router job does not spend on write-back), then the queue region is written
    return cycles + STEP_CYCLES["gate_op"] + mem.beats_cycles(w)


def op_cycles(ins: Instr, accel, mem: MemoryTiming, traffic: Traffic, *, prefetched: bool,
              task: int = 0, counts: list[int] | None = None, queues_image=None,
              keep: list[tuple[float, float]] | None = None) -> float:
    """Cycles of ``ins`` as the instruction's profile counter counts them (S_RUN..S_PROF).

    Args:
        prefetched: The linear engine's strip-0 weights were prefetched.
        task: The device task (MOE_GATE's weight slice).
        counts: MOE_EXPERTS: tokens routed to each expert.
        keep: WSKIP MOE_EXPERTS: per expert, the shares of fc1's and fc2's tiles run
            (:func:`edgemoe.perf.moe.expert_keep`; None: every tile).
    """
    from .moe import moe_experts_cycles  # moe builds on this module's linear-job model
    from .pool import pool_cycles

    def fmt(role: str) -> int:
        if role == "weight" and ins.has(Flag.WFMT_Q8 | Flag.WFMT_Q4):
            return 1  # int8 codes (edgemoe/numerics/int8.py); mixed: edgemoe.perf.q4 reads
        if role == "weight":
            role = ("patch_weight" if ins.has(Flag.WFMT_PATCH) else
                    "conv_weight" if ins.has(Flag.WFMT_CONV) else "linear_weight")
        elif role == "bias":
            role = "attn_bias" if ins.has(Flag.BFMT_ATTN) else "bias"
        return int(getattr(accel.formats, role).storage_dtype.itemsize)

    op = Op(ins.op)
    base = float(STEP_CYCLES["op"])
    if op == Op.LINEAR:
        return base + _linear(ins, accel, mem, traffic, fmt, prefetched)
    if op == Op.CONV:
        return base + _conv(ins, accel, mem, traffic, fmt, prefetched)
    if op == Op.ATTENTION:
        return base + _attention(ins, accel, mem, traffic, fmt)
    if op == Op.LAYERNORM:
        from .layernorm import layernorm_cycles  # it builds on this module's cmd_cycles

        return base + layernorm_cycles(ins, accel, mem, traffic, fmt)[0]
    if op == Op.ADD:
        return base + _add(ins, accel, mem, traffic, fmt)
    if op == Op.UPSAMPLE:
        return base + _upsample(ins, accel, mem, traffic, fmt)
    if op == Op.MOE_GATE:
        return base + _moe_gate(ins, accel, mem, traffic, fmt, prefetched, task)
    if op == Op.LIF:
        from .lif import lif_cycles  # it builds on this module's cmd_cycles

        return base + lif_cycles(ins, accel, mem, traffic, fmt)
    if op == Op.MOE_EXPERTS:
        return base + moe_experts_cycles(ins, accel, mem, traffic, fmt, counts or [], keep)
    if op == Op.POOL:
        return base + pool_cycles(ins, accel, mem, traffic, fmt)
    return base
