"""Int8 ATTENTION with its rows as int8 codes in memory (q8_codes, numerics.attn_q8) on the
golden executor: codes in (the qkv rows are the producer's codes of q, k, v) gives the same
output bytes as act rows, its step-1 clamps counted by the producer instead; codes out
writes int8.input_codes of the act output with out_x_mul, a byte an element, its clamps
counted here; both together; other q8_codes bits refused; the op spec sizes the rows."""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import attn_q8_case

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT, Q8_PARAM_BYTES
from edgemoe.numerics.int8 import input_codes, input_multiplier
from edgemoe.ops import elem_bytes, spec_of
from edgemoe.params import load_accel

pytestmark = pytest.mark.golden

BOTH = Q8_CODES_IN | Q8_CODES_OUT
# (t, heads, head_dim, ranges, calib): plain, a partial beat, clamped q and v, one token
SHAPES = [(9, 2, 16, (2.0, 2.0, 2.0), None), (16, 1, 5, (1.0, 3.0, 0.5), None),
          (9, 2, 16, (3.0, 2.0, 3.0), (2.0, 2.0, 2.0)), (1, 2, 16, (2.0, 2.0, 2.0), None)]


@pytest.fixture(scope="module")
def tiny():
    return load_accel("tiny")


def _run(case) -> tuple[np.ndarray, dict]:
    assert case.scratch.run([case.ins]) == Err.OK
    return case.scratch.image, case.scratch.profile(0)


def _act_out(case, image, act) -> np.ndarray:
    n = int(np.prod(case.shape))
    return image[case.dst:case.dst + n * act.storage_dtype.itemsize].view(act.storage_dtype) \
        .astype(np.int64)


def _pair(accel, k: int, codes: int, out_x_mul: int = 0):
    t, nh, hd, ranges, calib = SHAPES[k]
    args = {"seed": 20 + k, "t": t, "nh": nh, "hd": hd, "ranges": ranges, "calib": calib}
    return (attn_q8_case(accel, **args, out_x_mul=out_x_mul),
            attn_q8_case(accel, **args, codes=codes, out_x_mul=out_x_mul))


@pytest.mark.parametrize("k", range(len(SHAPES)))
def test_codes_in_equal_act_rows_but_the_clamps(tiny, k):
    """The producer's codes in: the same output bytes; the step-1 clamps are not counted
    here (the producer counts them), everything else is."""
    act_case, codes_case = _pair(tiny, k, Q8_CODES_IN)
    act_img, act_prof = _run(act_case)
    img, prof = _run(codes_case)
    n = int(np.prod(act_case.shape)) * tiny.formats.act.storage_dtype.itemsize
    np.testing.assert_array_equal(img[codes_case.dst:codes_case.dst + n],
                                  act_img[act_case.dst:act_case.dst + n])
    assert prof["overflows"] == act_prof["overflows"] - act_case.clamped
    assert prof["macs"] == act_prof["macs"]
    assert prof["bytes_read"] == 3 * n // tiny.formats.act.storage_dtype.itemsize + Q8_PARAM_BYTES
    if k == 2:
        assert act_case.clamped > 20


@pytest.mark.parametrize("k", range(len(SHAPES)))
@pytest.mark.parametrize("codes", [Q8_CODES_OUT, BOTH])
def test_codes_out_are_the_consumers_input_codes(tiny, k, codes):
    """Codes out == int8.input_codes(act output, out_x_mul), a byte an element, the clamps
    counted here; with codes in too, minus the producer's clamps."""
    act = tiny.formats.act
    x_mul = input_multiplier(0.25)  # outputs reach ~|v|: many clamp beyond 0.25
    act_case, codes_case = _pair(tiny, k, codes, x_mul)
    act_img, act_prof = _run(act_case)
    want, clamped = input_codes(_act_out(act_case, act_img, act), x_mul, act)
    assert clamped.any() and (np.abs(want) < 127).any()
    before = codes_case.scratch.image.copy()
    img, prof = _run(codes_case)
    n = int(np.prod(act_case.shape))
    got = img[codes_case.dst:codes_case.dst + n].view(np.int8).astype(np.int64)
    np.testing.assert_array_equal(got, want)
    changed = np.flatnonzero(img[codes_case.dst:] != before[codes_case.dst:])
    assert changed.max() < n  # a byte an element: nothing past the rows (the last allocation)
    moved = act_case.clamped if codes & Q8_CODES_IN else 0
    assert prof["overflows"] == act_prof["overflows"] + int(clamped.sum()) - moved
    assert prof["bytes_written"] == n


def test_codes_out_with_a_zero_multiplier_writes_zeros(tiny):
    """out_x_mul is any int32: 0 gives zero codes (the compiler never makes it)."""
    _, case = _pair(tiny, 0, Q8_CODES_OUT, 0)
    img, prof = _run(case)
    n = int(np.prod(case.shape))
    assert (img[case.dst:case.dst + n] == 0).all() and prof["overflows"] == 0


def test_other_q8_codes_bits_are_refused(tiny):
    case = attn_q8_case(tiny, seed=1, t=4, nh=1, hd=16)
    bad = Instr.make(Op.ATTENTION, Flag.WFMT_Q8, **{**case.ins.named(), "q8_codes": 4})
    assert case.scratch.run([bad]) == Err.BAD_SHAPE


def test_op_spec_sizes_the_rows_from_q8_codes(tiny):
    """qkv and dst elements: a byte with codes in / out, act otherwise, and act without
    WFMT_Q8 whatever d3 holds (top-k's codebook size there)."""
    a = tiny.formats.act.storage_dtype.itemsize
    base = {"tokens": 4, "heads": 1, "head_dim": 16, "qkv": 0, "dst": 0, "q8_params": 0}
    for codes, want in ((0, (a, a)), (Q8_CODES_IN, (1, a)), (Q8_CODES_OUT, (a, 1)),
                        (BOTH, (1, 1))):
        ins = Instr.make(Op.ATTENTION, Flag.WFMT_Q8, **base, q8_codes=codes)
        assert tuple(elem_bytes(ins, tiny, o) for o in ("qkv", "dst")) == want
    dense = Instr.make(Op.ATTENTION, **base, q8_codes=BOTH)
    assert tuple(elem_bytes(dense, tiny, o) for o in ("qkv", "dst")) == (a, a)
    assert "q8c" in dict(spec_of(Op.ATTENTION).job)
