"""Mixed int4/int8 LINEAR (Flag.WFMT_Q4) on the golden executor: against float, limits.

Bounds (tests/q4util.py, per output, against float on the weights the device holds): half
an input step times sum |w| (the activation's int8 rounding), the channel multiplier's
relative rounding 0.5 / m, and one LSB each for the floor of the aligned bias and the act
rounding.  Against the original float weights the int4 rounding adds at most half a group
step per weight: sum_k |x_k| * step(k) / 2.
"""

from __future__ import annotations

import numpy as np
import pytest
from q4util import mixed_linear, output
from q8util import q8_linear

from edgemoe.compiler.mixed import MixedChoice, quantize_mixed
from edgemoe.compiler.quantize import QuantReport
from edgemoe.isa import Err, Flag, Instr, Op, pack_linear_q8
from edgemoe.layout import bias_block_bytes
from edgemoe.numerics import int4
from edgemoe.params import load_accel
from edgemoe.validate import ProgramError, validate_program

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def tiny():
    return load_accel("tiny")


@pytest.mark.parametrize("t,n,k,group", [(5, 12, 20, 8), (1, 1, 1, 32), (3, 96, 768, 32),
                                         (9, 33, 64, 32), (4, 40, 100, 32)])
def test_mixed_linear_matches_float_within_bound(tiny, t, n, k, group):
    case = mixed_linear(tiny, seed=t + n + k, t=t, n=n, k=k, group=group)
    assert case.scratch.run([case.ins]) == Err.OK
    got = output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert (err <= case.bound).all(), float((err - case.bound).max())
    # the bound is tight enough to catch a wrong scale, a dropped bias or a swapped row
    assert case.bound.max() < 0.1 * max(1.0, np.abs(case.ref).max())
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["macs"] == t * n * k


def test_int4_weights_are_within_half_a_group_step_of_float():
    """The compiler's int4 rounding: |w - w_dev| <= step / 2 per weight (no clipping)."""
    rng = np.random.default_rng(7)
    w = rng.normal(0, 1, (16, 96)) * rng.uniform(0.1, 10, (16, 1))
    u, e, z, s = int4.low_codes(w, 3)
    deq = int4.low_dequantized(u, e, z, s)
    step = np.repeat(s[:, None] * e / int4.E_MAX, 32, axis=1)
    assert (np.abs(w - deq) <= 0.5 * step + 1e-12).all()
    assert ((0 <= u) & (u <= int4.Q4_MAX)).all() and (e <= int4.E_MAX).all()
    assert (e.max(axis=1) == int4.E_MAX).all()  # the widest group uses the full scale code


def test_mixed_output_vs_original_float_weights(tiny):
    """End to end against the float weights: the device bound plus the weight rounding,
    sum_k |x_k| * r(c, k) with r = half a step: max|w| / 127 for int8 rows; for int4 rows
    the group's range over 15 plus the scale code's rounding (S / 255, S the widest step)."""
    case = mixed_linear(tiny, seed=11, t=6, n=40, k=96, high=0.1, group=32)
    case.scratch.run([case.ins])
    got = output(case, case.scratch.image, tiny.formats.act)
    w, lay = case.w, case.layer
    high = lay.order[:len(lay.high_codes)]
    g = w.reshape(40, 3, 32)
    step = (np.maximum(g.max(axis=2), 0) - np.minimum(g.min(axis=2), 0)) / 15
    r = 0.5 * np.repeat(step + step.max(axis=1, keepdims=True) / 255, 32, axis=1)
    r[high] = 0.5 * np.abs(w[high]).max(axis=1, keepdims=True) / 127
    xf = tiny.formats.act.to_float(case.x_raw)
    ref = xf @ w.T + (case.ref - xf @ lay.weight_deq.T)  # same device bias
    bound = case.bound + np.abs(xf) @ r.T
    err = np.abs(got - ref)
    assert (err <= bound).all(), float((err - bound).max())
    assert err.max() > 0.1 * case.bound.max()  # the int4 rounding shows: 4 bits, not 16


def test_all_high_channels_give_the_w8a8_bytes(tiny):
    """A map that keeps every channel int8 is the W8A8 layer: same output bytes."""
    q8 = q8_linear(tiny, seed=5, t=4, n=16, k=48)
    q8.scratch.run([q8.ins])
    want = bytes(q8.scratch.image[q8.dst:q8.dst + 4 * 16 * 4])
    rng = np.random.default_rng(5)  # q8_linear's draws, in its order
    x = rng.uniform(-2.0, 2.0, (4, 48))
    w = rng.normal(0.0, 1.0 / np.sqrt(48), (16, 48))
    b = rng.normal(0.0, 0.1, 16)
    layer = quantize_mixed("fc", w, b, MixedChoice(np.ones(16, bool), 32, 2.0), tiny,
                           QuantReport(), tiny.formats.bias)
    assert (layer.order == np.arange(16)).all()
    s = q8.scratch
    act = tiny.formats.act
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    wts = s.put(np.frombuffer(int4.pack_weights(layer.high_codes, layer.low_codes, layer.e,
                                                layer.z, po, pi), np.uint8))
    dst = s.put(np.zeros(4 * 16 * 4, np.uint8))
    ins = Instr.make(Op.LINEAR, Flag.WFMT_Q4, tokens=4, out_features=16, in_features=48,
                     src=s.put_raw(act.quantize(x), act), dst=dst, weights=wts,
                     bias=s.put_raw(layer.bias, tiny.formats.bias),
                     scales=s.put(layer.scales.astype("<i4")),
                     channel_index=s.put(layer.order.astype("<u4")), x_mul=layer.x_mul,
                     q8_shift_codes=pack_linear_q8(layer.dq_shift), q4_split=int4.pack_split(16, layer.groups))
    assert s.run([ins]) == Err.OK
    assert bytes(s.image[dst:dst + 4 * 16 * 4]) == want


def test_mixed_inputs_beyond_calibration_clamp_and_count(tiny):
    """x in +-3 calibrated for +-2: clamped inputs count as overflows."""
    case = mixed_linear(tiny, seed=8, t=4, n=8, k=16, x_range=3.0)
    # recompile the same layer for a narrower calibrated range
    lay = case.layer
    s_x = 2.0 ** 16 / lay.x_mul
    xq = np.abs(tiny.formats.act.to_float(case.x_raw)) / s_x
    assert not (xq > 127.5).any()  # calibrated on the range itself: nothing clamps
    case.scratch.run([case.ins])
    assert case.scratch.profile(0)["overflows"] == 0
    narrow = Instr.make(Op.LINEAR, case.ins.flags, **{**case.ins.named(),
                                                      "x_mul": lay.x_mul * 2})
    case.scratch.run([narrow])
    clamped = int(np.count_nonzero(xq * 2 > 127.5))
    assert clamped > 0
    assert case.scratch.profile(0)["overflows"] == clamped  # outputs stay in range


def test_mixed_relu_gelu_and_residual_run_on_the_scattered_output(tiny):
    case = mixed_linear(tiny, seed=4, t=3, n=24, k=32, flags=Flag.RELU)
    case.scratch.run([case.ins])
    got = output(case, case.scratch.image, tiny.formats.act)
    ref = np.maximum(case.ref, 0)
    assert (np.abs(got - ref) <= case.bound).all()
    assert (got >= 0).all() and (got > 0).any()


def test_mixed_profile_counts_its_weight_bytes(tiny):
    """int8 rows + int4 rows (half a byte) + group parameters, then the bias and scales."""
    case = mixed_linear(tiny, seed=5, t=2, n=40, k=64, high=0.1, group=32)
    case.scratch.run([case.ins])
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    # 4 int8 rows: 4x64 B; 36 int4 rows: 36x32 B; 36 rows x 2 groups x 2 B (64-aligned)
    bias = bias_block_bytes(40, po, tiny.formats.bias.storage_dtype.itemsize)
    want = 256 + 1152 + 192 + bias + bias_block_bytes(40, po, 4)
    assert int4.weight_bytes(40, 4, 64, 2, po, pi) == 256 + 1152 + 192
    assert case.scratch.profile(0)["weight_bytes"] == want


def test_bad_channel_index_is_an_error_status(tiny):
    case = mixed_linear(tiny, seed=2, t=2, n=8, k=16)
    off = case.ins.get("channel_index")
    case.scratch.image[off:off + 4] = np.frombuffer(np.uint32(9).tobytes(), np.uint8)
    assert case.scratch.run([case.ins]) == Err.BAD_QUEUE


@pytest.mark.parametrize("change,what", [
    ({"q4_split": int4.pack_split(9, 1)}, "high_out"),
    ({"q4_split": int4.pack_split(0, 17)}, "q4_groups"),
    ({"q8_shift_codes": 25}, "dq_shift"),
])
def test_validation_refuses_bad_mixed_fields(tiny, change, what):
    case = mixed_linear(tiny, seed=1, t=2, n=8, k=16)
    ins = Instr.make(Op.LINEAR, case.ins.flags, **{**case.ins.named(), **change})
    with pytest.raises(ProgramError, match=what):
        validate_program([ins], tiny, 1 << 18)


@pytest.mark.parametrize("flag", [Flag.WFMT_Q8, Flag.GATHER, Flag.WSKIP])
def test_validation_refuses_q4_with_another_weight_mode(tiny, flag):
    case = mixed_linear(tiny, seed=1, t=2, n=8, k=16)
    ins = Instr.make(Op.LINEAR, case.ins.flags | flag, **case.ins.named())
    with pytest.raises(ProgramError, match="not with WFMT_Q4"):
        validate_program([ins], tiny, 1 << 18)


@pytest.mark.parametrize("n,high,k,groups", [(12, 3, 20, 3), (1, 0, 1, 1), (96, 10, 768, 24),
                                             (40, 40, 100, 4), (33, 0, 64, 64), (13, 2, 37, 1),
                                             (96, 16, 96, 1)])
@pytest.mark.parametrize("tile", [(), ("linear_p_out=8", "linear_p_in=2")])
def test_op_table_weight_size_is_the_packed_size(n, high, k, groups, tile):
    """The op spec's `weights` extent (what validation and every executor's checks use)
    equals the bytes pack_weights writes."""
    from edgemoe.ops import OpEnv, spec_of

    accel = load_accel("tiny", tile)
    ins = Instr.make(Op.LINEAR, Flag.WFMT_Q4, tokens=1, out_features=n, in_features=k,
                     q4_split=int4.pack_split(high, groups))
    size = next(o.size for o in spec_of(Op.LINEAR).operands if o.name == "weights")
    rng = np.random.default_rng(n)
    e = rng.integers(0, 256, (n - high, groups))
    if groups == 1:  # one group per row: e is E_MAX by definition (not stored)
        e[:] = int4.E_MAX
    parts = (rng.integers(-127, 128, (high, k)), rng.integers(0, 16, (n - high, k)), e,
             rng.integers(0, 16, (n - high, groups)))
    blob = int4.pack_weights(*parts, accel.linear_p_out, accel.linear_p_in)
    assert size.value(OpEnv(ins, accel)) == len(blob) == int4.weight_bytes(
        n, high, k, groups, accel.linear_p_out, accel.linear_p_in)
    back = int4.unpack_weights(np.frombuffer(blob, np.uint8), n, high, k, groups,
                               accel.linear_p_out, accel.linear_p_in)
    assert all(np.array_equal(b, p) for b, p in zip(back, parts, strict=True))


def test_one_byte_weight_buffers_refuse_mixed_layers():
    """Every weight format one byte: the buffer cannot hold (u - z) * e, so validation
    (and every executor's checks) refuse WFMT_Q4."""
    small = load_accel("tiny", ("formats.linear_weight=ap_fixed<8,1>",
                                "formats.conv_weight=ap_fixed<8,1>",
                                "formats.patch_weight=ap_fixed<8,0>"))
    case = mixed_linear(small, seed=1, t=2, n=8, k=16)
    with pytest.raises(ProgramError, match="weight buffer bytes"):
        validate_program([case.ins], small, 1 << 18)


@pytest.mark.parametrize("tile", [(), ("linear_p_out=8", "linear_p_in=2")])
def test_one_group_per_row_stores_zero_points_two_a_byte(tile):
    """q4_groups == 1: the parameter block is the zero points only, row 2i in the low
    nibble of byte i and row 2i + 1 in the high one, rows padded to P_OUT with zeros, then
    64-byte aligned; unpacking gives e = E_MAX."""
    accel = load_accel("tiny", tile)
    po, pi = accel.linear_p_out, accel.linear_p_in
    n, high, k = 13, 2, 37  # 11 int4 rows: odd, not a multiple of P_OUT; K odd
    rng = np.random.default_rng(3)
    hi, u = rng.integers(-127, 128, (high, k)), rng.integers(0, 16, (n - high, k))
    z = rng.integers(0, 16, (n - high, 1))
    blob = np.frombuffer(int4.pack_weights(hi, u, np.full_like(z, int4.E_MAX), z, po, pi),
                         np.uint8)
    start = int4.high_bytes(high, k, po, pi) + int4.low_code_bytes(n - high, k, po, pi)
    rows = -(-(n - high) // po) * po
    padded = np.zeros(rows + rows % 2, np.int64)
    padded[:n - high] = z[:, 0]
    want = padded[0::2] | padded[1::2] << 4
    assert len(blob) - start == 64 * -(-len(want) // 64)
    assert (blob[start:start + len(want)] == want).all()
    assert not blob[start + len(want):].any()
    _, _, e_back, z_back = int4.unpack_weights(blob, n, high, k, 1, po, pi)
    assert (e_back == int4.E_MAX).all() and (z_back == z).all()
    for row in range(n - high):  # where the loaders read a row's zero point
        assert int4.group_param_span(row, 1) == (row // 2, 1)


def test_one_group_per_row_saves_the_scale_codes():
    """96 x 96 with 16 int8 rows at 16 x 16 tiles: the 80 int4 rows' parameters are 40 B
    (one 64-byte block) instead of 80 x 2 B (192 B after alignment); two groups keep the
    pairs."""
    assert int4.group_param_bytes(80, 1, 16) == 64
    assert int4.group_param_bytes(80, 2, 16) == 64 * -(-80 * 2 * 2 // 64)
    assert int4.weight_bytes(96, 16, 96, 1, 16, 16) == 16 * 96 + 80 * 48 + 64


def test_one_group_per_row_refuses_a_stored_scale_code():
    with pytest.raises(int4.NumericsError, match="every e must be 255"):
        int4.pack_weights(np.zeros((0, 4)), np.zeros((2, 4)), np.array([[255], [128]]),
                          np.zeros((2, 1)), 4, 4)


def test_one_group_per_row_codes_keep_the_same_weights():
    """low_codes with one group: e = E_MAX on every row (a zero row too: its codes equal
    its zero point, so it stays zero) and the weights within half a step S / E_MAX * E_MAX
    of float."""
    rng = np.random.default_rng(5)
    w = rng.normal(0, 1, (9, 37)) * rng.uniform(0.1, 10, (9, 1))
    w[4] = 0.0
    u, e, z, s = int4.low_codes(w, 1)
    assert (e == int4.E_MAX).all() and s[4] == 0 and (u[4] == z[4]).all()
    deq = int4.low_dequantized(u, e, z, s)
    assert (np.abs(w - deq) <= 0.5 * s[:, None] + 1e-12).all()
    assert (deq[4] == 0).all()
