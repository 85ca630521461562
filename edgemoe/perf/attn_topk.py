"""Cycle and traffic terms of top-k ATTENTION (``Flag.ATTN_TOPK``) in the memory-aware model.

Modelled, not measured: the SystemVerilog engine does not build the mode yet, so these
terms follow the op spec's ideal cycles (``edgemoe.ops`` ATTENTION) plus the memory traffic
of the extra operands.  Per head: the codebook tables and K/V rows are read once, every key
is coded (C codewords, ATTN_LANES keys at a time); per block of ATTN_LANES queries: the Q
rows, the score table (C beats), one key a cycle into the top-k unit (T), k' + p - 1 exact
key steps, then the output, code and pick rows are written.
"""

from __future__ import annotations

import math

from ..isa import Instr
from ..numerics.attn_topk import codebook_head_bytes


def attention_topk_cycles(ins: Instr, accel, mem, traffic, fmt, stream) -> float:
    """Cycles of one top-k ATTENTION; ``stream(addr)`` times one head-row read (the dense
    model's row reader)."""
    t, nh, hd = ins.get("tokens"), ins.get("heads"), ins.get("head_dim")
    c, kept = ins.get("codebook_size"), min(ins.get("top_k"), ins.get("tokens"))
    act, lanes, bus = fmt("act"), accel.attn_lanes, mem.bus_bytes
    qkv, stride, part, row = ins.get("qkv"), 3 * nh * hd * act, nh * hd * act, hd * act
    words = math.ceil(row / bus)
    book_bytes = codebook_head_bytes(c, hd, act)
    groups = math.ceil(t / lanes)
    cycles = float(mem.latency)
    for h in range(nh):
        b = traffic.read(ins.get("codebook") + h * book_bytes, book_bytes, bus, weight=True)
        cycles += mem.latency + mem.beats_cycles(b)
        for kv in (part, 2 * part):
            for r in range(t):
                cycles += stream(qkv + r * stride + kv + h * row)
        cycles += groups * c * words  # key coding
        traffic.write(ins.get("codes") + 4 * h * t, 4 * t, bus)
        for g in range(groups + 1):
            if g < groups:
                for j in range(min(lanes, t - g * lanes)):
                    cycles += stream(qkv + (g * lanes + j) * stride + h * row)
            cycles += c * words + t + (kept + lanes - 1) * words
        for i in range(t):
            traffic.write(ins.get("dst") + (i * nh + h) * row, row, bus)
            traffic.write(ins.get("picks") + 4 * (h * t + i) * kept, 4 * kept, bus)
            cycles += words
    return cycles
