"""Weight quantisers of the mixed-precision scheme (fake-quant: quantise, then dequantise).

Scales are per output channel and per group of ``group`` consecutive inputs (along K).
Low precision is asymmetric unsigned with a zero point; the range always contains 0, so a
zero (e.g. a pruned) weight stays exactly zero. High precision is symmetric signed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dequantize_asym", "fake_quant", "mixed_fake_quant", "quantize_asym",
           "quantize_sym"]


def _groups(w: np.ndarray, group: int) -> np.ndarray:
    """(O, K) -> (O, G, group), zero padded along K."""
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (out, in) matrix, got shape {w.shape}")
    if group < 1:
        raise ValueError(f"group size {group} must be at least 1")
    out_f, in_f = w.shape
    group = min(group, in_f)  # a larger group is the whole row (padding only adds zeros)
    n_groups = -(-in_f // group)
    padded = np.zeros((out_f, n_groups * group), dtype=np.float64)
    padded[:, :in_f] = w
    return padded.reshape(out_f, n_groups, group)


def quantize_asym(w: np.ndarray, bits: int, group: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric uint``bits`` quantisation with a zero point per (channel, group).

    Returns:
        (codes (O, G, group) in [0, 2^bits - 1], scale (O, G), zero point (O, G)); the
        value of a code is (code - zero) * scale.
    """
    g = _groups(w, group)
    top = 2**bits - 1
    lo = np.minimum(g.min(axis=2), 0.0)
    hi = np.maximum(g.max(axis=2), 0.0)
    scale = (hi - lo) / top
    scale = np.where(scale > 0, scale, 1.0)  # an all-zero group: any scale is exact
    zero = np.clip(np.round(-lo / scale), 0, top)
    codes = np.clip(np.round(g / scale[..., None]) + zero[..., None], 0, top)
    return codes, scale, zero


def dequantize_asym(codes: np.ndarray, scale: np.ndarray, zero: np.ndarray,
                    in_features: int) -> np.ndarray:
    """Values of asymmetric codes, trimmed back to ``in_features`` columns."""
    v = (codes - zero[..., None]) * scale[..., None]
    return v.reshape(v.shape[0], -1)[:, :in_features]


def quantize_sym(w: np.ndarray, bits: int, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int``bits`` quantisation: codes in [-2^(b-1), 2^(b-1) - 1], scale = amax / (2^(b-1) - 1).

    Returns:
        (codes (O, G, group), scale (O, G)).
    """
    g = _groups(w, group)
    top = 2 ** (bits - 1) - 1
    scale = np.abs(g).max(axis=2) / top
    scale = np.where(scale > 0, scale, 1.0)
    return np.clip(np.round(g / scale[..., None]), -top - 1, top), scale


def fake_quant(w: np.ndarray, bits: int, group: int, symmetric: bool) -> np.ndarray:
    """``w`` quantised and dequantised (float64, same shape)."""
    w = np.asarray(w, dtype=np.float64)
    if symmetric:
        codes, scale = quantize_sym(w, bits, group)
        v = codes * scale[..., None]
        return v.reshape(w.shape[0], -1)[:, : w.shape[1]]
    codes, scale, zero = quantize_asym(w, bits, group)
    return dequantize_asym(codes, scale, zero, w.shape[1])


def mixed_fake_quant(w: np.ndarray, high: np.ndarray, low_bits: int, high_bits: int,
                     group: int) -> np.ndarray:
    """Per output channel: rows in ``high`` symmetric ``high_bits``, the rest asymmetric ``low_bits``."""
    high = np.asarray(high, dtype=bool)
    out = fake_quant(w, low_bits, group, symmetric=False)
    if high.any():
        out[high] = fake_quant(np.asarray(w, dtype=np.float64)[high], high_bits, group,
                               symmetric=True)
    return out
