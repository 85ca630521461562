"""Byte layouts shared by the compiler (which packs), the executors (which read) and the host.

Weights of an ``out x in`` matrix are packed in the linear engine's tile order
``[ceil(out/P_OUT)][ceil(in/P_IN)][P_OUT][P_IN]`` (zero padded), so that the engine reads one
P_OUT x P_IN tile per beat.  Per-expert blocks and bias vectors are padded to 64 bytes so
every expert starts on an aligned offset.
"""

from __future__ import annotations

import numpy as np

ALIGN = 64
STATUS_BYTES = 64  # error, failing index, executed count, config_id, 12 reserved words
PROFILE_ENTRY_BYTES = 64  # 8 x u64 per instruction
PROFILE_FIELDS = ("cycles", "macs", "bytes_read", "bytes_written", "weight_bytes",
                  "experts_active", "overflows", "reserved1")
#: ``overflows`` counts, per instruction, the values that overflowed when quantized into the
#: activation format.  A value overflows when, after rounding, it lies outside the format's
#: range (for AP_SAT_SYM: below -raw_max), i.e. exactly when the wrap or saturation of the
#: format's overflow mode changes it (FixedType.from_raw_counted; HLS ``overflowed``, SV
#: ``act_overflows``/``q_act_ovf``).  Counted at every activation quantization point:
#: LINEAR output, GELU, SCORE_ACC product and RESIDUAL/SCORE_ACC add; CONV output and
#: residual add; MOE_GATE logits and chosen scores; MOE_EXPERTS fc1 output, GELU, fc2
#: output, score product and accumulate; ATTENTION scores and outputs; LAYERNORM's normalized,
#: scaled and output values; ADD; UPSAMPLE.  Softmax running state is not an activation.
#: Profile fields whose value depends on the executor (excluded from byte comparisons).
VOLATILE_PROFILE_FIELDS = ("cycles",)


def align(n: int, a: int = ALIGN) -> int:
    """Round ``n`` up to a multiple of ``a``."""
    return -(-n // a) * a


def ceil_div(a: int, b: int) -> int:
    """Ceiling division of non-negative integers."""
    return -(-a // b)


def tiled_shape(out_f: int, in_f: int, p_out: int, p_in: int) -> tuple[int, int, int, int]:
    """Shape of a packed weight matrix."""
    return ceil_div(out_f, p_out), ceil_div(in_f, p_in), p_out, p_in


def tiled_words(out_f: int, in_f: int, p_out: int, p_in: int) -> int:
    """Number of weight words of a packed matrix."""
    return int(np.prod(tiled_shape(out_f, in_f, p_out, p_in)))


def weight_block_bytes(out_f: int, in_f: int, p_out: int, p_in: int, word_bytes: int) -> int:
    """Bytes of one packed matrix, padded to 64 bytes (the stride between experts)."""
    return align(tiled_words(out_f, in_f, p_out, p_in) * word_bytes)


def bias_block_bytes(out_f: int, p_out: int, word_bytes: int) -> int:
    """Bytes of one bias vector, padded to P_OUT words and then to 64 bytes."""
    return align(ceil_div(out_f, p_out) * p_out * word_bytes)


def code_muls_offset(out_f: int, p_out: int) -> int:
    """W8A8 LINEAR with codes out (isa.pack_linear_q8): byte offset of its int32 code
    multipliers in ``scales``, right after the channel multipliers (padded as them); the
    operand is then twice the multiplier block."""
    return bias_block_bytes(out_f, p_out, 4)


def q8_scales_block(scales: np.ndarray, p_out: int, code_muls: np.ndarray | None = None) -> bytes:
    """A W8A8 LINEAR's ``scales`` operand: the int32 channel multipliers, then (codes out)
    the int32 code multipliers at :func:`code_muls_offset`, each padded to P_OUT words and
    64 bytes."""
    n = len(scales)
    blocks = [scales] if code_muls is None else [scales, code_muls]
    out = bytearray()
    for v in blocks:
        if len(v) != n:
            raise ValueError(f"code_muls has {len(v)} entries, the layer {n} outputs")
        block = np.zeros(code_muls_offset(n, p_out) // 4, "<i4")
        block[:n] = v
        out += block.tobytes()
    return bytes(out)


def moe_scales_offset(bias_off: int, expert: int, experts: int, out_f: int, p_out: int,
                      bias_bytes: int) -> int:
    """W8A8 MOE_EXPERTS: the int32 channel multipliers of ``expert`` in a b1/b2 operand.

    The operand holds every expert's bias block, then every expert's multiplier block.
    """
    return (bias_off + experts * bias_block_bytes(out_f, p_out, bias_bytes)
            + expert * bias_block_bytes(out_f, p_out, 4))


def moe_tile_map_offset(bias_off: int, expert: int, experts: int, out_f: int, in_f: int,
                        p_out: int, p_in: int, bias_bytes: int) -> int:
    """WSKIP MOE_EXPERTS: the zero-tile map of ``expert``'s layer in a b1/b2 operand.

    The operand holds every expert's bias block, then every expert's tile map
    (:func:`tile_map_bytes` of the layer's ``out_f x in_f`` weights) where W8A8 keeps its
    multipliers (:func:`moe_scales_offset`; the two modes never meet).
    """
    return (bias_off + experts * bias_block_bytes(out_f, p_out, bias_bytes)
            + expert * tile_map_bytes(out_f, in_f, p_out, p_in))


def pack_tiled(w: np.ndarray, p_out: int, p_in: int) -> np.ndarray:
    """Pack a dense ``[out][in]`` raw matrix into tile order (flat)."""
    out_f, in_f = w.shape
    to, ti, _, _ = tiled_shape(out_f, in_f, p_out, p_in)
    padded = np.zeros((to * p_out, ti * p_in), dtype=w.dtype)
    padded[:out_f, :in_f] = w
    return padded.reshape(to, p_out, ti, p_in).transpose(0, 2, 1, 3).reshape(-1)


def unpack_tiled(flat: np.ndarray, out_f: int, in_f: int, p_out: int, p_in: int) -> np.ndarray:
    """Inverse of :func:`pack_tiled`: dense ``[out][in]`` matrix."""
    to, ti, _, _ = tiled_shape(out_f, in_f, p_out, p_in)
    dense = flat[:to * ti * p_out * p_in].reshape(to, ti, p_out, p_in).transpose(0, 2, 1, 3)
    return dense.reshape(to * p_out, ti * p_in)[:out_f, :in_f]


def tile_grid(out_f: int, in_f: int, p_out: int, p_in: int) -> tuple[int, int]:
    """(output tile rows, input tiles per row) of a packed matrix: its tile-map grid."""
    return ceil_div(out_f, p_out), ceil_div(in_f, p_in)


def tile_map_bytes(out_f: int, in_f: int, p_out: int, p_in: int) -> int:
    """Bytes of a matrix's zero-tile map (Flag.WSKIP): one bit per packed tile, 64-byte padded.

    Bit ``i`` (byte ``i // 8``, bit ``i % 8``) belongs to the ``i``-th tile in the packed
    order of :func:`pack_tiled` and is set when every weight of that tile is zero.
    """
    rows, cols = tile_grid(out_f, in_f, p_out, p_in)
    return align(ceil_div(rows * cols, 8))


def zero_tiles(w: np.ndarray, p_out: int, p_in: int) -> np.ndarray:
    """Boolean ``[tile row][tile]`` grid: True where a dense ``[out][in]`` matrix's tile is all zero."""
    rows, cols, _, _ = tiled_shape(*w.shape, p_out, p_in)
    padded = np.zeros((rows * p_out, cols * p_in), dtype=bool)
    padded[:w.shape[0], :w.shape[1]] = w != 0
    return ~padded.reshape(rows, p_out, cols, p_in).any(axis=(1, 3))


def pack_tile_map(zero: np.ndarray) -> bytes:
    """The zero-tile map bytes of a :func:`zero_tiles` grid (see :func:`tile_map_bytes`)."""
    bits = np.packbits(np.asarray(zero, dtype=bool).reshape(-1), bitorder="little")
    return bits.tobytes() + bytes(-bits.size % ALIGN)


def unpack_tile_map(data: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Inverse of :func:`pack_tile_map`: the ``rows x cols`` grid of zero tiles."""
    bits = np.unpackbits(np.asarray(data, dtype=np.uint8), bitorder="little")
    return bits[:rows * cols].reshape(rows, cols).astype(bool)


def tiles_run(zero: np.ndarray) -> int:
    """Tile beats per token of a WSKIP LINEAR: its non-zero tiles, and one bias-only beat
    for each tile row that has none (its outputs are still written)."""
    zero = np.asarray(zero, dtype=bool)
    return int(np.maximum((~zero).sum(axis=1), 1).sum())


def queue_layout(experts: int, tokens: int) -> dict[str, int]:
    """Byte layout of the MoE expert-queue region written by MOE_GATE.

    counts: u32[experts]; then per expert a list of int32 token indices and a list of
    int32 words holding raw activation-format scores, each ``tokens`` long and 64-byte padded.
    """
    counts = align(4 * experts)
    slot = align(4 * tokens)
    return {"counts": 0, "index": counts, "scores": counts + experts * slot, "slot": slot,
            "total": counts + 2 * experts * slot}


def conv_out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output size of a convolution along one axis (0 or less means invalid)."""
    if stride <= 0:
        return 0
    return (size + 2 * pad - kernel) // stride + 1



def conv_line_rows(kernel: int, stride: int) -> int:
    """Input rows the CONV line buffer holds: the kernel's rows plus the ``stride`` rows
    the next output row adds, read while the current one computes."""
    return kernel + stride


def conv_uses_line(line_words: int, p_in: int, kernel: int, stride: int, in_w: int, in_ch: int,
                   pixel_input: bool) -> bool:
    """True when a CONV reads its input through the line buffer.

    The line buffer (``buffers.conv_line_words`` activation elements) holds
    :func:`conv_line_rows` whole rows of an HWC activation input, each pixel as whole
    P_IN words; planar pixel input and channel counts that are not a multiple of P_IN
    read every tap from memory.
    """
    return (line_words > 0 and not pixel_input and in_ch % p_in == 0
            and conv_line_rows(kernel, stride) * in_w * in_ch <= line_words)
