"""Top-k attention codebooks for the compiler: check them against the model, place them.

``edgemoe compile --codebooks FILE --topk K`` reads the codebooks ``edgemoe vq-fit`` wrote
and sets ``Flag.ATTN_TOPK`` on every ATTENTION of the model; the per-head tables are laid
out by :func:`edgemoe.numerics.attn_topk.codebook_block`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics.attn_topk import ATTN_MAX_CODEBOOK, codebook_block

__all__ = ["AttnTopK", "codebook_bytes"]


@dataclass(frozen=True)
class AttnTopK:
    """Codebooks of every block and head, and the keys each query keeps.

    Attributes:
        centres: (depth, heads, C, head_dim) decode-time codewords (vq-fit's ``centres``).
        transform: (depth, heads, head_dim, head_dim) fitting transforms L.
        k: Keys each query attends to (every key when k >= the token count).
    """

    centres: np.ndarray
    transform: np.ndarray
    k: int

    @property
    def codebook_size(self) -> int:
        """Codewords per head (C)."""
        return int(self.centres.shape[2])

    def check(self, model) -> None:
        """Raise ValueError (one line, naming the fix) unless these codebooks fit ``model``."""
        want = (model.depth, model.heads, self.centres.shape[2], model.head_dim)
        if self.centres.ndim != 4 or self.centres.shape != want:
            raise ValueError(f"codebooks have shape {self.centres.shape}, {model.name} needs "
                             f"(depth, heads, C, head_dim) = {want}: rerun `edgemoe vq-fit "
                             f"--model {model.name}`")
        if self.transform.shape != (*want[:2], want[3], want[3]):
            raise ValueError(f"codebook transforms have shape {self.transform.shape}, need "
                             f"{(*want[:2], want[3], want[3])}: rerun `edgemoe vq-fit`")
        if not 1 <= self.codebook_size <= ATTN_MAX_CODEBOOK:
            raise ValueError(f"codebook size C={self.codebook_size} outside [1, "
                             f"{ATTN_MAX_CODEBOOK}]: refit with `edgemoe vq-fit --codebook C`")
        if self.k < 1:
            raise ValueError(f"--topk {self.k} must be >= 1 (keys each query attends to)")
        if not (np.isfinite(self.centres).all() and np.isfinite(self.transform).all()):
            raise ValueError("codebooks hold NaN or infinity: rerun `edgemoe vq-fit`")


def codebook_bytes(topk: AttnTopK, block: int, act) -> tuple[bytes, int]:
    """The ATTENTION ``codebook`` operand of ``block``: every head's tables, head after head.

    Returns:
        (bytes, centre values that saturated in act).
    """
    parts = [codebook_block(c, lt, act) for c, lt in zip(topk.centres[block],
                                                           topk.transform[block], strict=True)]
    return b"".join(p[0] for p in parts), sum(p[1] for p in parts)
