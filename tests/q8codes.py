"""A W8A8 LINEAR writing int8 codes with a multiplier per output column (isa.pack_linear_q8
codes out, layout.code_muls_offset): a qkv-like layer, its 3 * d columns in three parts,
each part with its own multiplier (numerics.attn_q8 step 1).  ``codes=False`` builds the
same layer writing act rows: the reference the codes are made from.  Shared by the golden,
C-sim and RTL tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from progutil import Scratch

from edgemoe.compiler.qkv_codes import qkv_code_muls
from edgemoe.compiler.quantize import QuantReport, quantize_q8
from edgemoe.isa import Flag, Instr, Op, pack_linear_q8
from edgemoe.layout import pack_tiled, q8_scales_block
from edgemoe.numerics import int8

#: Fill of dst before the run: bytes past the rows written keep it.
FILL = 0x5A


@dataclass
class CodesCase:
    """One codes-out LINEAR in a scratch image."""

    scratch: Scratch
    program: list[Instr]
    muls: tuple[int, int, int]   # the parts' multipliers (q, k, v)
    dst: int
    dst_bytes: int
    t: int
    d: int                       # columns of a part (out_features = 3 * d)


def qkv_linear(accel, seed: int, t: int, d: int, k: int, *, codes: bool = True,
               ranges: tuple[float, float, float] = (4.0, 2.0, 1.0), w_gain: float = 1.0,
               flags: Flag = Flag.NONE, gather: bool = False,
               count: int | None = None) -> CodesCase:
    """[3d x k] W8A8 LINEAR on inputs in [-2, 2); part p's multiplier calibrated to
    ``ranges[p]`` (small: its codes clamp); weights N(0, w_gain / sqrt(k)) (large: act
    overflows).  ``flags`` adds GELU / RELU; ``gather`` reads rows through an index list;
    ``count`` runs a u32 token count (DYN_COUNT)."""
    rng = np.random.default_rng(seed)
    f, act = accel.formats, accel.formats.act
    po, pi, n = accel.linear_p_out, accel.linear_p_in, 3 * d
    s = Scratch(accel, size=1 << 19)
    rows = t + 3 if gather else t
    x = s.put_raw(act.quantize(rng.uniform(-2.0, 2.0, (rows, k))), act)
    lay = quantize_q8("qkv", rng.normal(0, w_gain / np.sqrt(k), (n, k)), rng.normal(0, 0.1, n),
                      2.0, accel, QuantReport())
    muls = tuple(int8.input_multiplier(r) for r in ranges)
    dst_bytes = t * n * (int8.HIDDEN_CODE_BYTES if codes else act.storage_dtype.itemsize) + 64
    dst = s.put(np.full(dst_bytes, FILL, np.uint8))
    extra = {}
    if gather:
        flags |= Flag.GATHER
        extra |= {"index": s.put(rng.permutation(rows)[:t].astype("<u4")), "rows": rows}
    if count is not None:
        flags |= Flag.DYN_COUNT
        extra["count"] = s.put(np.array([count], "<u4"))
    code_muls = qkv_code_muls(d, *muls) if codes else None
    ins = Instr.make(
        Op.LINEAR, Flag.WFMT_Q8 | flags, tokens=t, out_features=n, in_features=k, src=x,
        dst=dst, weights=s.put(pack_tiled(lay.codes, po, pi).astype("i1")),
        bias=s.put_raw(np.pad(lay.bias, (0, -n % po)), f.bias),
        scales=s.put(np.frombuffer(q8_scales_block(lay.scales, po, code_muls), np.uint8)),
        x_mul=lay.x_mul, q8_shift_codes=pack_linear_q8(lay.dq_shift, codes), **extra)
    return CodesCase(s, [ins], muls, dst, dst_bytes, t, d)


#: name -> qkv_linear keyword arguments: odd part widths that fill no strip's last tile;
#: ``strips``: two weight strips on tiny and alt (k = 96: 21 of tiny's 22 output tiles fit
#: its buffer, 42 of alt's 44); ``clamps``: every part clamps; ``overflows``: act
#: overflows before the codes.
CASES = {
    "odd": {"seed": 31, "t": 5, "d": 5, "k": 12},
    "strips": {"seed": 32, "t": 4, "d": 29, "k": 96},
    "clamps": {"seed": 33, "t": 6, "d": 7, "k": 20, "ranges": (0.3, 0.15, 0.05)},
    "overflows": {"seed": 34, "t": 5, "d": 3, "k": 16, "w_gain": 300.0},
    "gelu_gather": {"seed": 35, "t": 6, "d": 6, "k": 16, "flags": Flag.GELU, "gather": True},
    "relu_count": {"seed": 36, "t": 7, "d": 4, "k": 8, "flags": Flag.RELU, "count": 5},
}
