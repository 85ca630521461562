"""A W8A8 dense MLP as LINEARs whose hidden rows are int8 codes (isa.pack_linear_q8).

fc1 (+ GELU, or ReLU) writes its rows as fc2's int8 input codes made with fc2's input
multiplier (its code_muls vector holds it in every column); fc2 (+ residual) reads them as its input codes.  ``codes=False`` builds the
same layers with act hidden rows (fc2 quantizes them itself): the reference the codes
must not change.  Shared by the golden, C-sim and RTL tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compiler.quantize import QuantReport, quantize_q8
from edgemoe.isa import Flag, Instr, Op, pack_linear_q8
from edgemoe.layout import pack_tiled, q8_scales_block
from edgemoe.numerics import int8

#: Fill of the hidden tensor before the run: bytes past the rows written keep it.
FILL = 0x5A


@dataclass
class MlpCase:
    """One dense MLP (fc1, optionally a code-to-code middle layer, fc2) in a scratch image."""

    scratch: Scratch
    program: list[Instr]
    layers: list          # compiler.quantize.Q8Linear of each LINEAR, in program order
    hidden: list[int]     # offset of each hidden tensor (fc1's dst, ...)
    hidden_bytes: int     # allocated bytes of each hidden tensor
    x: int                # fc1's src, its row count (GATHER: more rows than tokens)
    x_rows: int
    index: list[int]      # GATHER: fc1's index list (into x), fc2's (into its hidden rows)
    residual: int
    dst: int
    t: int
    d: int
    h: int


def q8_mlp(accel, seed: int, t: int, d: int, h: int, *, codes: bool = True,
           x_range: float = 2.0, h_calib: float = 3.0, w_gain: float = 1.0,
           gather: bool = False, relu: bool = False, middle: bool = False,
           count: int | None = None) -> MlpCase:
    """fc1 [h x d] + GELU (ReLU with ``relu``), with ``middle`` a code-to-code [h x h]
    LINEAR + GELU, then fc2 [d x h] + residual; hidden inputs calibrated to ``h_calib``
    (small: the codes clamp), weights N(0, w_gain / sqrt(k)) (large: act overflows).
    ``gather``: fc1 and fc2 read their rows through index lists; ``count``: every
    layer runs the u32 token count (DYN_COUNT) instead of ``t``."""
    rng = np.random.default_rng(seed)
    f, act = accel.formats, accel.formats.act
    po, pi = accel.linear_p_out, accel.linear_p_in
    isz = act.storage_dtype.itemsize
    s = Scratch(accel, size=1 << 19)
    x_rows = t + 3 if gather else t
    x = s.put_raw(act.quantize(rng.uniform(-x_range, x_range, (x_rows, d))), act)
    index = [s.put(rng.permutation(r)[:t].astype("<u4")) for r in (x_rows, t)] if gather else []
    res = s.put_raw(act.quantize(rng.uniform(-1, 1, (t, d))), act)
    dst = s.put(np.full(t * d * isz, 0xA5, np.uint8))
    cnt = s.put(np.array([count], "<u4")) if count is not None else None
    hbytes = t * h * (int8.HIDDEN_CODE_BYTES if codes else isz) + 64  # + a line to keep
    shapes = [(h, d)] + ([(h, h)] if middle else []) + [(d, h)]
    hidden = [s.put(np.full(hbytes, FILL, np.uint8)) for _ in shapes[1:]]
    layers = []
    for i, (n, k) in enumerate(shapes):
        calib = x_range if i == 0 else h_calib
        layers.append(quantize_q8(f"fc{i}", rng.normal(0, w_gain / np.sqrt(k), (n, k)),
                                  rng.normal(0, 0.1, n), calib, accel, QuantReport()))
    prog = []
    for i, ((n, k), lay) in enumerate(zip(shapes, layers)):
        last = i == len(shapes) - 1
        codes_in = codes and i > 0
        hx = layers[i + 1].x_mul if codes and not last else 0  # every column: fc2's x_mul
        muls = np.full(n, hx, np.int64) if hx else None
        flags = Flag.WFMT_Q8 | (Flag.RESIDUAL if last else (Flag.RELU if relu else Flag.GELU))
        extra = {"residual": res} if last else {}
        if gather and (i == 0 or last):
            flags |= Flag.GATHER
            extra |= {"index": index[0 if i == 0 else 1], "rows": x_rows if i == 0 else t}
        if count is not None:
            flags |= Flag.DYN_COUNT
            extra["count"] = cnt
        prog.append(Instr.make(
            Op.LINEAR, flags, tokens=t, out_features=n, in_features=k,
            src=x if i == 0 else hidden[i - 1], dst=dst if last else hidden[i],
            weights=s.put(pack_tiled(lay.codes, po, pi).astype("i1")),
            bias=s.put_raw(np.pad(lay.bias, (0, -n % po)), f.bias),
            scales=s.put(np.frombuffer(q8_scales_block(lay.scales, po, muls), np.uint8)),
            x_mul=lay.x_mul, q8_shift_codes=pack_linear_q8(lay.dq_shift, hx != 0, codes_in),
            **extra))
    return MlpCase(s, prog, layers, hidden, hbytes, x, x_rows, index, res, dst, t, d, h)
