"""Golden top-k ATTENTION (``Flag.ATTN_TOPK``): the integer definition is
:mod:`edgemoe.numerics.attn_topk`; this module reads and writes the memory image."""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..isa import Instr
from ..numerics import attn_topk as topk
from . import memory as mem
from .intmath import matmul_exact


def head_tables(image: np.ndarray, ins: Instr, accel, head: int) -> topk.CodebookTables:
    """The codebook tables of ``head`` as the compiler placed them."""
    g, act = ins.get, accel.formats.act
    c, hd = g("codebook_size"), g("head_dim")
    size = topk.codebook_head_bytes(c, hd, act.storage_dtype.itemsize)
    start = g("codebook") + head * size
    return topk.unpack_codebook_head(image[start:start + size], c, hd, act)


def select_keys(image: np.ndarray, ins: Instr, accel, qkv: np.ndarray) -> np.ndarray:
    """Code every key, score the codebook per query and keep the top-k keys of each query.

    Writes the ``codes`` (heads x T u32) and ``picks`` (heads x T x min(k, T) u32) regions.

    Returns:
        (heads, queries, keys) bool mask of the kept keys.
    """
    g = ins.get
    t, nh = g("tokens"), g("heads")
    masks, codes = np.empty((nh, t, t), dtype=bool), np.empty((nh, t), dtype=np.int64)
    for h in range(nh):
        tables = head_tables(image, ins, accel, h)
        codes[h] = topk.key_codes(qkv[:, 1, h], tables)
        approx = topk.score_table(qkv[:, 0, h], tables)[:, codes[h]]
        masks[h] = topk.topk_mask(approx, g("top_k"))
    mem.write_u32(image, g("codes"), codes.reshape(-1))
    mem.write_u32(image, g("picks"), np.stack([topk.pick_lists(m) for m in masks]).reshape(-1))
    return masks


def masked_online_softmax(s: np.ndarray, keep: np.ndarray, order: np.ndarray, act):
    """Online softmax over the kept scores only, visiting keys in ``order`` (per row).

    Same updates as the dense mode's single pass (:func:`numerics.softmax_update`), a
    key that is not kept leaves the state unchanged.  Returns (bias, recip_sum).
    """
    bias, total = numerics.softmax_init(s.shape[:-1], act)
    for step in range(s.shape[-1]):
        col = order[..., step:step + 1]
        sv = np.take_along_axis(s, col, axis=-1)[..., 0]
        on = np.take_along_axis(keep, col, axis=-1)[..., 0]
        nb, nt = numerics.softmax_update(bias, total, sv, act)
        bias, total = np.where(on, nb, bias), np.where(on, nt, total)
    return bias, numerics.reciprocal(total, act, act)


def attend_selected(qkv: np.ndarray, keep: np.ndarray, scale: int, order: np.ndarray,
                    act) -> tuple[np.ndarray, int]:
    """Exact attention of every head on its kept keys, the dense mode's arithmetic.

    Args:
        qkv: (T, 3, heads, d) raw act.
        keep: (heads, T, T) kept keys per query.
        scale: raw act score scale.
        order: (T, T) the dense schedule's key order (vector_ops.key_order).
        act: activation FixedType.

    Returns:
        ((T, heads, d) raw outputs, values wrapped or saturated).
    """
    from .vector_ops import scaled_scores  # vector_ops dispatches here: import at call time

    t, _, nh, _ = qkv.shape
    f2 = 2 * act.frac_bits
    dots = np.stack([matmul_exact(qkv[:, 0, h], qkv[:, 1, h]) for h in range(nh)])
    s = scaled_scores(dots, scale, act)[0]
    overflows = scaled_scores(dots[keep], scale, act)[1]  # only the kept scores are computed
    bias, recip = masked_online_softmax(s, keep, np.broadcast_to(order, s.shape), act)
    p = np.where(keep, numerics.softmax_probs(s, bias[..., None], recip[..., None], act), 0)
    out = np.empty((t, nh, qkv.shape[3]), np.int64)
    for h in range(nh):
        out[:, h], wrapped = act.from_raw_counted(matmul_exact(p[h], qkv[:, 2, h].T.copy()), f2)
        overflows += wrapped
    return out, overflows


def op_attention_topk(image: np.ndarray, ins: Instr, accel, prof: dict, qkv: np.ndarray,
                      order: np.ndarray) -> None:
    """ATTENTION with ``Flag.ATTN_TOPK``: select keys, then exact attention on them."""
    g, act = ins.get, accel.formats.act
    t, nh, hd, c = g("tokens"), g("heads"), g("head_dim"), g("codebook_size")
    keep = select_keys(image, ins, accel, qkv)
    out, prof["overflows"] = attend_selected(qkv, keep, g("scale"), order, act)
    mem.write(image, g("dst"), out, act)
    kept = min(g("top_k"), t)
    prof["macs"] += nh * t * hd * (2 * c + 2 * kept)  # key coding, score table, QK^T, AV
    # every head's codebook block is fetched whole (a weight read, as the RTL counts it)
    prof["weight_bytes"] += nh * topk.codebook_head_bytes(c, hd, act.storage_dtype.itemsize)
