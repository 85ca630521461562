"""Cycle and traffic terms of the dense and int8 ATTENTION phases in the memory-aware model.

The schedule of rtl_templates/edgemoe_attn.sv, checked against the RTL bench
(tests/test_perf_model.py).  Per head the K and V rows load once; then phase p walks the
on-chip K/V with QK^T of query block p beside AV of block p - 1.  Three things run side by
side, each on its own resource:

- the lanes' walk, ``(nq + t - 1)`` steps of ``words`` cycles (nq: the phase's larger
  block);
- block p + 1's Q rows, read into the lanes' second Q bank from the start of phase p's
  walk (edgemoe_attn_qload): phase p + 1 starts when they are in;
- block p - 1's output rows, drained by the writer from the start of phase p + 1 (its
  accumulators' second bank, edgemoe_attn_writer): the hand-over after phase p + 1 waits
  for that drain.

Only block 0's Q rows (after K and V) and the head's last drain (under the next head's K/V
loads, or at the op's end) have nothing to hide under.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["attention_head_cycles"]


def attention_head_cycles(start: float, free: float, *, blocks: list[int], t: int,
                          lanes: int, words: int, out_row: float, q_row: Callable[[int], float],
                          write_row: Callable[[int], None],
                          step_cycles: dict) -> tuple[float, float]:
    """One head's phases, from the end of its K/V load (``start``).

    Args:
        start: Cycle the head's K and V rows are in.
        free: Cycle the writer ends the drain it is busy with (the last head's last block).
        blocks: Queries of each block.
        t: Tokens.
        lanes: ``attn_lanes`` (a block's first query is ``block * lanes``).
        words: Cycles of a lane step (memory words per head row on chip).
        out_row: Cycles the writer takes per output row.
        q_row: Cycles of reading query ``q``'s row (the engine's row stream).
        write_row: Records the write of query ``q``'s output row (of this head).
        step_cycles: The schedule's bookkeeping cycles (perf.engines.STEP_CYCLES).

    Returns:
        The cycle of the head's last hand-over (the next head's K/V load starts) and the
        cycle its last drain ends.
    """
    def q_load(b: int) -> float:
        return sum(q_row(b * lanes + j) for j in range(blocks[b])) if b < len(blocks) else 0.0

    walk = start + q_load(0)  # block 0's rows, with nothing to hide under
    for p in range(len(blocks) + 1):
        nq = blocks[p - 1] if p else blocks[p]
        walked = walk + (nq + t - 1) * words + step_cycles["attn_phase"]
        handover = max(walked, free)  # the writer's bank is free again
        if p:  # block p - 1 drains beside phase p + 1
            for j in range(nq):
                write_row((p - 1) * lanes + j)
            free = handover + nq * out_row + 1  # + the cycle C_RECIP sees it idle
        walk = max(handover, walk + q_load(p + 1))  # block p + 1's rows came meanwhile
    return handover, free
