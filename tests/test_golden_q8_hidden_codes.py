"""A W8A8 MOE_EXPERTS' hidden rows in scratch are fc2's int8 input codes (golden).

numerics.int8.hidden_codes defines the bytes: expert e's token r at ``scratch + r * hidden``,
one int8 code an element (step 1 of fc2's input, ``hidden_x_mul``), later experts
overwriting earlier ones' rows, every other scratch byte untouched.  The reference here is
built from edgemoe.numerics directly (step by step, in the order the definition gives),
not from the executor: the scratch bytes, dst and the profile's overflow count must equal
it exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from q8moe import q8_experts
from rtldesigns import design as load_design

from edgemoe import numerics
from edgemoe.golden.memory import read, read_matrix, read_u32
from edgemoe.isa import Err, unpack_moe_q8
from edgemoe.layout import bias_block_bytes, moe_scales_offset, queue_layout, weight_block_bytes
from edgemoe.numerics import int8
from edgemoe.params.fixed import FixedType


class _I32:
    storage_dtype = np.dtype("<i4")


def _layer(x, x_mul, w, b, m, dq, act, bf):
    """One W8A8 layer on act rows (step 1 unless ``x_mul`` is None: x are codes)."""
    clamped = 0
    if x_mul is not None:
        x, over = int8.input_codes(x, x_mul, act)
        clamped = int(over.sum())
    acc = x.astype(np.int64) @ w.T.astype(np.int64)  # small shapes: exact in int64
    shift = act.frac_bits + dq - bf.frac_bits
    b_al = b << shift if shift >= 0 else b >> -shift
    y, count = int8.dequantize(acc, m, b_al, dq, act)
    return y, clamped + count


def _reference(case, accel):
    """(scratch bytes, dst raw, overflows) of the case's instruction, from numerics."""
    img, g = case.scratch.image.copy(), case.ins.get
    act, bf = accel.formats.act, accel.formats.bias
    po, pi = accel.linear_p_out, accel.linear_p_in
    t, d, h, e = g("tokens"), g("dim"), g("hidden"), g("experts")
    dq, hx_mul = unpack_moe_q8(g("q8_shift_mul"))
    lay = queue_layout(e, t)
    counts = read_u32(img, g("queues"), e)
    x = read(img, g("src"), t * d, act).reshape(t, d)
    out = read(img, g("residual"), t * d, act).reshape(t, d)
    scratch = img[g("scratch"):g("scratch") + t * h * act.storage_dtype.itemsize].copy()
    i8 = FixedType(8, 8)
    overflows = 0
    for ex in range(e):
        c = int(counts[ex])
        if not c:
            continue
        idx = read(img, g("queues") + lay["index"] + ex * lay["slot"], c, _I32)
        sc = read(img, g("queues") + lay["scores"] + ex * lay["slot"], c, _I32)
        w1 = read_matrix(img, g("w1") + ex * weight_block_bytes(h, d, po, pi, 1), h, d, i8, accel)
        w2 = read_matrix(img, g("w2") + ex * weight_block_bytes(d, h, po, pi, 1), d, h, i8, accel)
        b1 = read(img, g("b1") + ex * bias_block_bytes(h, po, bf.storage_dtype.itemsize), h, bf)
        b2 = read(img, g("b2") + ex * bias_block_bytes(d, po, bf.storage_dtype.itemsize), d, bf)
        bb = bf.storage_dtype.itemsize
        m1 = read(img, moe_scales_offset(g("b1"), ex, e, h, po, bb), h, _I32)
        m2 = read(img, moe_scales_offset(g("b2"), ex, e, d, po, bb), d, _I32)
        y1, n1 = _layer(x[idx], g("x_mul"), w1, b1, m1, dq, act, bf)
        hid, n_gelu = numerics.gelu_counted(y1, act)
        codes, over = int8.input_codes(hid, hx_mul, act)  # the definition: fc2's step 1
        for r in range(c):
            at = int8.hidden_row_offset(0, r, h)
            scratch[at:at + h] = codes[r].astype(np.int8).view(np.uint8)
        y2, n2 = _layer(codes, None, w2, b2, m2, dq, act, bf)
        contrib, n3 = act.from_raw_counted(sc[:, None] * y2, 2 * act.frac_bits)
        summed, n4 = act.from_raw_counted(out[idx] + contrib, act.frac_bits)
        out[idx] = summed
        overflows += n1 + n_gelu + int(over.sum()) + n2 + n3 + n4
    return scratch, out, overflows


CASES = [  # (seed, t, d, h, e, top_k, x_range, calib, h_calib, w_gain)
    (11, 7, 12, 20, 4, 2, 2.0, None, None, 1.0),  # expert 3 empty
    (13, 9, 32, 48, 4, 2, 2.0, None, None, 1.0),  # several weight strips per layer
    (14, 6, 8, 12, 3, 2, 3.0, 1.5, 0.5, 1.0),  # fc1 inputs and hidden codes clamp
    (15, 5, 8, 16, 3, 1, 4.0, None, None, 300.0),  # fc1, GELU and fc2 beyond act
]


@pytest.mark.parametrize("design", ["tiny", "alt"])
@pytest.mark.parametrize("seed,t,d,h,e,top_k,x_range,calib,h_calib,w_gain", CASES)
def test_scratch_holds_hidden_codes_and_dst_matches_numerics(design, seed, t, d, h, e, top_k,
                                                             x_range, calib, h_calib, w_gain):
    accel = load_design(design)
    act = accel.formats.act
    case = q8_experts(accel, seed, t, d, h, e, top_k, x_range, calib, h_calib, w_gain)
    want_scratch, want_dst, want_over = _reference(case, accel)
    s, g = case.scratch, case.ins.get
    assert s.run([case.ins]) == Err.OK
    got = s.image[g("scratch"):g("scratch") + want_scratch.size]
    assert (got == want_scratch).all()
    # rows past the longest queue and the act-sized rest keep the 0x5A fill
    written = int(read_u32(s.image, g("queues"), e).max()) * h * int8.HIDDEN_CODE_BYTES
    assert written > 0 and (got[written:] == 0x5A).all()
    assert (read(s.image, case.dst, t * d, act).reshape(t, d) == want_dst).all()
    assert s.profile(0)["overflows"] == want_over
    if calib is not None or w_gain > 10:  # the cases there to clamp or overflow do
        assert want_over > 0
    if h_calib is not None:  # and the hidden codes do clamp
        assert (np.abs(got[:written].view(np.int8)) == int8.Q8_MAX).any()
