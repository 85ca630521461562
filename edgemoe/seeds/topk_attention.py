"""Top-k attention through A2ATS key codebooks: a float mode of the M3ViT reference.

Per block and head, each key gets its code (nearest codeword in the fitting metric); a
query scores the C codewords (the score table q.c), reads every key's approximate score
by its code, keeps the k best keys (ties to the lower index) and attends exactly to those.
No executor runs this mode yet: accuracy comes from the float reference and the cycles
from :func:`topk_attention_cycles` (a formula, not the cycle model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgemoe.models.layers import KeySelect
from edgemoe.ops import ATTN_MACS_PER_LANE
from edgemoe.seeds.a2ats import Codebook, top_k

__all__ = ["CodebookTopK", "dense_attention_cycles", "topk_attention_cycles"]


@dataclass(frozen=True)
class CodebookTopK:
    """Key selection of every block: ``ref = M3ViTReference(model, w, key_select=sel)``.

    Attributes:
        centres: (depth, heads, C, head_dim) codewords (``edgemoe vq-fit``'s file).
        transform: (depth, heads, head_dim, head_dim) fitting transforms L.
        k: Keys each query attends to (all keys when k >= their number).
    """

    centres: np.ndarray
    transform: np.ndarray
    k: int

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"top-k attention needs k >= 1, got {self.k}")

    def __call__(self, block: int) -> KeySelect:
        """The :data:`~edgemoe.models.layers.KeySelect` of ``block``."""
        books = [Codebook(c, t) for c, t in zip(self.centres[block], self.transform[block],
                                                 strict=True)]

        def select(qh: np.ndarray, kh: np.ndarray) -> np.ndarray:
            heads, n_q, _ = qh.shape
            n_k = kh.shape[1]
            mask = np.zeros((heads, n_q, n_k), dtype=bool)
            if self.k >= n_k:
                mask[:] = True
                return mask
            for h, book in enumerate(books):
                approx = book.approx_scores(qh[h], book.encode(kh[h]))
                np.put_along_axis(mask[h], top_k(approx, self.k), True, axis=1)
            return mask

        return select


def dense_attention_cycles(tokens: int, head_dim: int) -> float:
    """Modelled cycles of one query of one head, exact attention: 2 N d / P.

    QK^T and AV each take N keys x d MACs at P = ``ATTN_MACS_PER_LANE`` MACs per lane
    per cycle (the ATTENTION op spec's beats).
    """
    return 2 * tokens * head_dim / ATTN_MACS_PER_LANE


def topk_attention_cycles(tokens: int, head_dim: int, codebook: int, k: int) -> float:
    """Modelled cycles of one query of one head in top-k mode: C d / P + N + 2 k d / P.

    The score table (C codewords x d MACs), one cycle per key to gather its score and
    feed the top-k unit, then QK^T and AV on the k selected keys (issue 18's
    C*d/P + N + k*d/P with the AV pass counted like the dense one).
    """
    p = ATTN_MACS_PER_LANE
    return codebook * head_dim / p + tokens + 2 * min(k, tokens) * head_dim / p
