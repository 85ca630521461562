"""Cycle and traffic terms of top-k ATTENTION (``Flag.ATTN_TOPK``) in the memory-aware model.

The schedule of the SV (rtl_templates/edgemoe_attn_topk.sv beside edgemoe_attn.sv), checked
against the RTL bench (tests/test_attn_topk_rtl.py).  Per head: the codebook rows (C centre
rows, C coding rows, one read of the C half norms) and the K/V rows are read once; key
coding walks every key against ceil(C / ATTN_LANES) groups of codes (a head row of beats
each) and writes the T code ids.  Per block of ATTN_LANES queries: the Q rows, the score
table (C head rows of beats), one key a cycle into the top-k units, then the phase's k'
exact key steps per lane (QK^T of the block beside AV of the previous block) beside the
block's picks (one command and k' words per query) and the next block's Q rows, then the
output rows of the previous block.
"""

from __future__ import annotations

import math

from ..isa import Instr
from ..layout import align
from ..numerics.attn_topk import codebook_head_bytes

#: Bookkeeping cycles of the selection states, read off the SV: key coding (X_IDLE,
#: X_DRAIN, X_WCMD, the done pulse and the controller's hand-over), one block's selection
#: (X_IDLE, X_DRAIN, the done pulse and hand-over) and X_WCMD per query's picks.
TOPK_STEP_CYCLES = {"code": 5, "select": 4, "picks_row": 1}


def attention_topk_cycles(ins: Instr, accel, mem, traffic, fmt, stream, step_cycles) -> float:
    """Cycles of one top-k ATTENTION after the op's start.

    Args:
        ins: The ATTENTION instruction (Flag.ATTN_TOPK set).
        accel: The design point.
        mem: Memory timing.
        traffic: Traffic counter (updated).
        fmt: Element bytes by format name.
        stream: ``stream(addr, nbytes, weight)`` times one read command of the engine's
            row reader (the dense model's).
        step_cycles: The dense schedule's bookkeeping cycles (perf.engines.STEP_CYCLES).
    """
    t, nh, hd = ins.get("tokens"), ins.get("heads"), ins.get("head_dim")
    c, kept = ins.get("codebook_size"), min(ins.get("top_k"), ins.get("tokens"))
    act, lanes, bus = fmt("act"), accel.attn_lanes, mem.bus_bytes
    qkv, stride, part, row = ins.get("qkv"), 3 * nh * hd * act, nh * hd * act, hd * act
    words = math.ceil(row / bus)
    table = align(c * row)  # the coding rows' offset in the block (codebook_head_bytes)
    book_bytes = codebook_head_bytes(c, hd, act)
    blocks = [min(lanes, t - q0) for q0 in range(0, t, lanes)]
    cycles = 0.0

    def q_rows(h: int, b: int) -> float:  # cycles of block b's Q row reads
        return sum(stream(qkv + (b * lanes + j) * stride + h * row, row, False)
                   for j in range(blocks[b]))

    for h in range(nh):
        book = ins.get("codebook") + h * book_bytes
        for r in range(c):
            cycles += stream(book + r * row, row, True) + stream(book + table + r * row, row, True)
        cycles += stream(book + 2 * table, 8 * c, True)
        for kv in (part, 2 * part):
            for r in range(t):
                cycles += stream(qkv + r * stride + kv + h * row, row, False)
        # key coding: every key against ceil(C / p) code groups, then T code words
        cycles += t * math.ceil(c / lanes) * words + t + TOPK_STEP_CYCLES["code"]
        traffic.write(ins.get("codes") + 4 * h * t, 4 * t, bus)
        ready = 0.0  # the next block's Q rows are in (read beside the phase before it)
        for p in range(len(blocks) + 1):
            if p < len(blocks):
                cycles = max(cycles, ready) if p else cycles + q_rows(h, 0)
                for j in range(blocks[p]):
                    traffic.write(ins.get("picks") + 4 * (h * t + p * lanes + j) * kept,
                                  4 * kept, bus)
                cycles += c * words + t + TOPK_STEP_CYCLES["select"]
            # block p + 1's rows load from the phase's first step to the next C_Q
            if p + 1 < len(blocks):
                ready = cycles + q_rows(h, p + 1)
            # the picks of the block go out while the lanes step (the phase waits for both);
            # the lanes end together and the shared 1/sum unit (edgemoe_attn_recip) takes
            # them one a cycle: hidden under the writer's drain but in a head's first phase
            picks = blocks[p] * (kept + TOPK_STEP_CYCLES["picks_row"]) if p < len(blocks) else 0
            stepped = kept * words + (blocks[p] - 1 if p == 0 else 0)
            cycles += max(stepped, picks) + step_cycles["attn_phase"]
            if p:  # the writer drains the AV block before the next phase
                for j in range(blocks[p - 1]):
                    traffic.write(ins.get("dst") + (((p - 1) * lanes + j) * nh + h) * row,
                                  row, bus)
                cycles += blocks[p - 1] * (words + step_cycles["attn_row_out"]) + 1
    return cycles
