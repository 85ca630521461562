"""Integer definition of top-k ATTENTION (``Flag.ATTN_TOPK``): key codes, score table, top-k.

Per head, with keys ``k`` and queries ``q`` the raw act codes of the QKV tensor (F fraction
bits) and the codebook placed by the compiler (:func:`codebook_block`):

1. Key coding, once per head when K is loaded: each key's code is
   ``argmin_c (half_norm[c] - k . coding[c])`` where ``coding = 2^-s c L L^T`` (act) and
   ``half_norm = 2^-s ||c L||^2 / 2`` (int64, 2F fraction bits) were precomputed at compile
   time, so ``2^s`` times the distance is ``||(k - c) L||^2 / 2 - ||k L||^2 / 2``, the A2ATS
   fitting metric up to a per-key constant.  The dot product is an exact sum (2F fraction
   bits); ties go to the lower code.  The codes are written to the ``codes`` region (u32).
2. Per query, the score table ``table[c] = q . centre[c]`` over the decode-time codebook
   (C x d MACs, exact sums at 2F), gathered per key by its code.
3. Top-k of the gathered scores, ties to the lower key index (:func:`topk_mask`); the
   selected key indices, ascending, are written to the ``picks`` region (u32, k per query).
4. Exact attention on the selected keys only, with the dense mode's arithmetic: scores
   rounded once, the online softmax visiting the selected keys in the dense schedule's key
   order, probabilities, and the exact AV sum rounded once.  With k >= N every key is
   selected and the output is the dense mode's byte for byte.

Nothing is rounded at run time before step 4: every selection quantity is an exact integer
sum; the only roundings are the compile-time quantization of the codebook tables.
"""

from __future__ import annotations

import numpy as np

from .errors import NumericsError

__all__ = ["ATTN_MAX_CODEBOOK", "CodebookTables", "codebook_block", "codebook_head_bytes",
           "key_codes", "pick_lists", "score_table", "topk_mask", "unpack_codebook_head"]

#: Largest codebook size C: the score table of one query lives in on-chip registers/LUTRAM.
ATTN_MAX_CODEBOOK = 256
#: Bytes of one half-norm (int64).
_NORM_BYTES = 8


def _align(n: int) -> int:
    return -(-n // 64) * 64


def codebook_head_bytes(codes: int, head_dim: int, act_bytes: int) -> int:
    """Bytes of one head's codebook block: centres, coding matrix, half norms (64-aligned).

    Layout (little-endian): ``[0, A)`` centres (C x d act, row-major), ``[A, 2A)`` coding
    matrix (C x d act), ``[2A, 2A + align(8 C))`` half norms (int64 at 2F fraction bits),
    with ``A = align(C d act_bytes)``.  The op spec's ``codebook`` size mirrors this.
    """
    return 2 * _align(codes * head_dim * act_bytes) + _align(codes * _NORM_BYTES)


class CodebookTables:
    """One head's integer codebook tables (raw codes).

    Attributes:
        centres: (C, d) int64 decode-time codewords, raw act.
        coding: (C, d) int64 coding matrix, raw act.
        half_norms: (C,) int64 half norms, 2F fraction bits.
    """

    def __init__(self, centres: np.ndarray, coding: np.ndarray, half_norms: np.ndarray):
        self.centres, self.coding, self.half_norms = centres, coding, half_norms


def codebook_block(centres: np.ndarray, transform: np.ndarray, act) -> tuple[bytes, int]:
    """Quantize one head's float codebook into its image block (:func:`codebook_head_bytes`).

    ``coding`` and ``half_norm`` are scaled by the smallest power of two 2^-s that keeps
    the coding matrix within half the act range (the argmin is unchanged by the scale).

    Args:
        centres: (C, d) float codewords in key space (``edgemoe vq-fit``'s ``centres``).
        transform: (d, d) fitting transform L.
        act: activation FixedType.

    Returns:
        (block bytes, count of centre values that saturated in act).

    Raises:
        NumericsError: a half norm does not fit 64 bits even after scaling.
    """
    c = np.asarray(centres, dtype=np.float64)
    lt = np.asarray(transform, dtype=np.float64)
    cl = c @ lt
    coding = cl @ lt.T
    half = 0.5 * (cl * cl).sum(axis=1)
    limit = act.max_value / 2
    peak = float(np.abs(coding).max(initial=0.0))
    s = max(0, int(np.ceil(np.log2(peak / limit)))) if peak > limit else 0
    f2 = 2 * act.frac_bits
    half_raw = np.round(half * 2.0 ** (f2 - s))
    if np.abs(half_raw).max(initial=0.0) >= 2.0 ** 62:
        raise NumericsError(f"codebook half norm {half.max():.3g} does not fit 64 bits at "
                            f"{f2} fraction bits; refit the codebook on normalised keys")
    raw_c, n_sat = act.quantize(c), act.count_saturated(c)
    raw_g = act.quantize(coding * 2.0 ** -s)
    ab = act.storage_dtype.itemsize
    a = _align(c.size * ab)
    out = bytearray(codebook_head_bytes(c.shape[0], c.shape[1], ab))
    out[:c.size * ab] = act.to_bytes(raw_c)
    out[a:a + c.size * ab] = act.to_bytes(raw_g)
    out[2 * a:2 * a + c.shape[0] * _NORM_BYTES] = half_raw.astype("<i8").tobytes()
    return bytes(out), int(n_sat)


def unpack_codebook_head(block: bytes | np.ndarray, codes: int, head_dim: int,
                         act) -> CodebookTables:
    """Inverse of :func:`codebook_block`'s layout: the raw tables of one head."""
    buf = np.frombuffer(bytes(block), dtype=np.uint8)
    ab = act.storage_dtype.itemsize
    n, a = codes * head_dim, _align(codes * head_dim * ab)
    centres = act.from_bytes(buf[:n * ab].tobytes(), n).astype(np.int64).reshape(codes, head_dim)
    coding = act.from_bytes(buf[a:a + n * ab].tobytes(), n).astype(np.int64).reshape(codes,
                                                                                     head_dim)
    half = buf[2 * a:2 * a + codes * _NORM_BYTES].view("<i8").astype(np.int64)
    return CodebookTables(centres, coding, half)


def _dots(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` of raw codes, exact modulo 2**64 (the hardware's 64-bit accumulator)."""
    x, w = np.asarray(x, dtype=np.int64), np.asarray(w, dtype=np.int64)
    bound = x.shape[-1] * int(np.abs(x).max(initial=0)) * int(np.abs(w).max(initial=0))
    if bound < 1 << 53:
        return (x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    exact = x.astype(object) @ w.T.astype(object)
    return np.vectorize(lambda v: (v + (1 << 63)) % (1 << 64) - (1 << 63), otypes=[np.int64])(exact)


def key_codes(keys: np.ndarray, tables: CodebookTables) -> np.ndarray:
    """Code id of every key: argmin_c (half_norm[c] - k . coding[c]), ties to the lower c.

    Args:
        keys: (N, d) raw act keys of one head.
        tables: that head's codebook tables.

    Returns:
        (N,) int64 code ids.
    """
    dist = tables.half_norms[None, :] - _dots(keys, tables.coding)
    return np.argmin(dist, axis=1).astype(np.int64)  # argmin keeps the first minimum


def score_table(queries: np.ndarray, tables: CodebookTables) -> np.ndarray:
    """(queries, C) exact score table q . centre (int64 at 2F fraction bits)."""
    return _dots(queries, tables.centres)


def topk_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Which keys each query keeps: the k largest scores per row, ties to the lower index.

    Threshold rule (what the top-k unit computes): with ``thr`` the k-th largest score of
    the row, keep every key above ``thr`` and the first ``k - #above`` keys equal to it in
    ascending index order.  Every key is kept when k >= the row length.

    Args:
        scores: (rows, N) int64 approximate scores.
        k: keys to keep per row (>= 1).

    Returns:
        (rows, N) bool mask with min(k, N) True per row.
    """
    rows, n = scores.shape
    if k >= n:
        return np.ones((rows, n), dtype=bool)
    thr = np.sort(scores, axis=1)[:, n - k][:, None]
    above = scores > thr
    tied = scores == thr
    room = k - above.sum(axis=1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=1) <= room))


def pick_lists(mask: np.ndarray) -> np.ndarray:
    """(rows, kept) ascending indices of the kept keys of each row (the ``picks`` region)."""
    rows = mask.shape[0]
    kept = int(mask[0].sum()) if rows else 0
    return np.nonzero(mask)[1].reshape(rows, kept).astype(np.int64)
