"""Mixed int8/int4 MOE_EXPERTS (Flag.WFMT_Q4) on the golden executor: against float,
against W8A8, the compiler's row choice, errors and limits.

Bound per output element (tests/q4moe.py, on the weights the device holds): W8A8's
(tests/q8moe.py): per expert and layer half an int8 input step times sum |w|, the fc1
error through GELU (slope <= 1.13, plus its 5.5e-5 table error), the multipliers'
rounding, the aligned bias floor and act LSBs.  Against the original float weights the
int4 rounding adds, per weight, at most half its group step (checked on the weights).
"""

from __future__ import annotations

import numpy as np
import pytest
from q4moe import q4_experts
from q8moe import moe_output

from edgemoe.compiler.mixed import set_high_count, tile_count
from edgemoe.compiler.quantize import QuantReport, quantize_q8_experts
from edgemoe.isa import Err, Flag, Instr, Op, pack_moe_q8
from edgemoe.layout import bias_block_bytes, pack_tiled
from edgemoe.numerics import int4
from edgemoe.validate import ProgramError, validate_program

pytestmark = pytest.mark.golden


@pytest.mark.parametrize("seed,t,d,h,e,top_k,high,group,residual", [
    (1, 7, 20, 24, 4, 2, 0.1, 16, True),  # dim not a multiple of the group
    (2, 1, 4, 4, 2, 1, 0.0, 16, False),  # every row int4, one group per row
    (3, 9, 32, 48, 4, 2, 0.25, 32, True),
    (4, 5, 16, 40, 3, 2, 0.1, 1024, True),  # group code 1024 >= K: one group per row
])
def test_mixed_experts_within_bound_of_float(tiny, seed, t, d, h, e, top_k, high, group,
                                             residual):
    case = q4_experts(tiny, seed, t, d, h, e, top_k, high, group, residual=residual)
    assert case.scratch.run([case.ins]) == Err.OK
    got = moe_output(case, case.scratch.image, tiny.formats.act)
    err = np.abs(got - case.ref)
    assert (err <= case.bound).all(), float((err / case.bound).max())
    assert err.max() > 0
    # the bound is a worst case (measured errors 7-46% of it); the error itself stays
    # within 3% of the largest output (measured 0.7-1.1%): a swapped row, a dropped bias or
    # another expert's weights would not
    assert err.max() <= 0.03 * max(1.0, np.abs(case.ref).max())
    prof = case.scratch.profile(0)
    assert prof["overflows"] == 0
    assert prof["experts_active"] == e - 1  # the last expert's queue is empty
    assert prof["macs"] == 2 * t * top_k * d * h


def test_device_weights_are_within_half_a_group_step_of_float(tiny):
    """What the experts hold against the original float weights: int8 rows within half
    an int8 step (max|w| / 127), int4 rows within half their group's step (range / 15)
    plus the scale code's rounding (S / 255, S the row's widest step): no clipping."""
    case = q4_experts(tiny, 5, t=4, d=20, h=24, e=3, high=0.2, group=16)
    for layers, w in ((case.experts.fc1, case.w1), (case.experts.fc2, case.w2)):
        k = w.shape[2]
        size = int4.group_size(k, layers[0].groups)
        for ex, lay in enumerate(layers):
            hi, lo = lay.order[:len(lay.high_codes)], lay.order[len(lay.high_codes):]
            err = np.abs(lay.weight_deq - w[ex])
            assert (err[hi] <= 0.5 * np.abs(w[ex][hi]).max(axis=1, keepdims=True) / 127
                    + 1e-12).all()
            pad = np.pad(w[ex][lo], ((0, 0), (0, -k % size)))  # zeros do not widen a range
            g = pad.reshape(lo.size, -1, size)
            step = (np.maximum(g.max(axis=2), 0) - np.minimum(g.min(axis=2), 0)) / 15
            r = np.repeat(step + step.max(axis=1, keepdims=True) / 255, size, axis=1)[:, :k]
            assert (err[lo] <= 0.5 * r + 1e-12).all()
            assert err[lo].max() > 0.1 * r.max()  # 4-bit rounding shows


def test_set_high_count_promotes_the_worst_and_demotes_the_best_int4_rows():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1, (3, 8, 32)) * rng.uniform(0.1, 5, (3, 8, 1))
    high = np.zeros((3, 8), bool)
    high[0, [1, 5, 6, 7]] = True
    high[2, 4] = True
    out = set_high_count(high, w, 2, 3)
    assert (out.sum(axis=1) == 3).all()
    for ex in range(3):
        u, e, z, s = int4.low_codes(w[ex], 2)
        err = ((w[ex] - int4.low_dequantized(u, e, z, s)) ** 2).sum(axis=1)
        if ex == 0:  # one int8 row too many: the one int4 represents best goes
            gone = high[ex] & ~out[ex]
            assert gone.sum() == 1 and err[gone][0] == err[high[ex]].min()
        else:  # the map's int8 rows stay, the worst int4 rows join them
            assert out[ex][high[ex]].all()
            promoted = out[ex] & ~high[ex]
            assert err[promoted].min() >= err[~out[ex]].max()


@pytest.mark.parametrize("count,n,want", [(0, 96, 0), (7, 96, 0), (8, 96, 16), (55, 96, 48),
                                          (56, 96, 64), (95, 96, 96), (12, 12, 12)])
def test_int8_rows_round_to_whole_tile_rows(count, n, want):
    """tiny's P_OUT is 4, the zcu102 point's 16: nearest multiple, halves up, at most n."""
    assert tile_count(count, n, 16) == want


def test_all_int8_rows_are_the_w8a8_experts_byte_for_byte(tiny):
    """Mixed experts with every row int8 give the W8A8 experts' output bytes."""
    case = q4_experts(tiny, 6, t=6, d=12, h=20, e=4, high=1.0, group=16)
    assert int4.unpack_moe_split(case.ins.get("q4_split"))[:2] == (20, 12)
    s, g, q = case.scratch, case.ins.get, case.experts
    w1 = np.stack([lay.weight_deq for lay in q.fc1])
    b1 = np.stack([tiny.formats.bias.to_float(lay.bias) for lay in q.fc1])
    w2 = np.stack([lay.weight_deq for lay in q.fc2])
    b2 = np.stack([tiny.formats.bias.to_float(lay.bias) for lay in q.fc2])
    assert all((lay.order == np.arange(lay.order.size)).all() for lay in q.fc1 + q.fc2)
    # W8A8 of the same float weights, the same calibrated ranges (same multipliers)
    x_abs = 2.0 ** 16 * 127 / q.x_mul
    h_abs = 2.0 ** 16 * 127 / q.hidden_x_mul
    q8 = quantize_q8_experts("moe", case.w1, b1, case.w2, b2, x_abs, h_abs, tiny,
                             QuantReport())
    assert (q8.x_mul, q8.hidden_x_mul, q8.dq_shift) == (q.x_mul, q.hidden_x_mul, q.dq_shift)
    assert np.allclose(np.stack([lay.weight_deq for lay in q8.fc1]), w1)
    assert np.allclose(np.stack([lay.weight_deq for lay in q8.fc2]), w2)
    po, pi, bdt = tiny.linear_p_out, tiny.linear_p_in, tiny.formats.bias.storage_dtype

    def put(layers, n, what):
        blocks = [pack_tiled(lay.codes, po, pi).astype("i1") if what == "w" else
                  np.pad(lay.bias, (0, -n % po)).astype(bdt) for lay in layers]
        if what == "b":
            blocks += [np.pad(lay.scales, (0, -n % po)).astype("<i4") for lay in layers]
        raw = [np.frombuffer(v.tobytes(), np.uint8) for v in blocks]
        return s.put(np.concatenate([np.pad(r, (0, -r.size % 64)) for r in raw]))

    dst = s.put(np.zeros(6 * 12 * 4, np.uint8))
    w8 = Instr.make(Op.MOE_EXPERTS, Flag.RESIDUAL | Flag.WFMT_Q8,
                    **{**case.ins.named(), "dst": dst, "w1": put(q8.fc1, 20, "w"),
                       "b1": put(q8.fc1, 20, "b"), "w2": put(q8.fc2, 12, "w"),
                       "b2": put(q8.fc2, 12, "b"),
                       "q8_shift_mul": pack_moe_q8(q8.dq_shift, q8.hidden_x_mul)})
    assert s.run([case.ins, w8]) == Err.OK
    assert (s.image[g("dst"):g("dst") + 6 * 12 * 4] == s.image[dst:dst + 6 * 12 * 4]).all()
    assert (s.image[dst:dst + 6 * 12 * 4] != 0).any()


def test_profile_counts_the_mixed_weight_bytes(tiny):
    """Per active expert: both layers' mixed weights, biases and multipliers."""
    case = q4_experts(tiny, 7, t=5, d=20, h=24, e=3, high=0.1, group=16)
    assert case.scratch.run([case.ins]) == Err.OK
    po, pi = tiny.linear_p_out, tiny.linear_p_in
    bb = tiny.formats.bias.storage_dtype.itemsize
    hi1, hi2, code = int4.unpack_moe_split(case.ins.get("q4_split"))
    assert code == int4.MOE_GROUP_SIZES.index(16)
    per = (int4.weight_bytes(24, hi1, 20, 2, po, pi) + int4.weight_bytes(20, hi2, 24, 2, po, pi)
           + bias_block_bytes(24, po, bb) + bias_block_bytes(20, po, bb)
           + bias_block_bytes(24, po, 4) + bias_block_bytes(20, po, 4))
    assert case.scratch.profile(0)["weight_bytes"] == 2 * per  # expert 2 is empty


def test_bad_channel_index_and_bad_shift_word_are_error_statuses(tiny):
    """Checked before anything runs: dst keeps its bytes."""
    case = q4_experts(tiny, 8, t=4, d=12, h=20, e=3)
    s, g = case.scratch, case.ins.get
    before = s.image[g("dst"):g("dst") + 4 * 12 * 4].copy()
    po, bb = tiny.linear_p_out, tiny.formats.bias.storage_dtype.itemsize
    # the empty expert's fc2 list is checked too
    off = int4.moe_index_offset(g("b2"), 2, 3, 12, po, bb)
    saved = s.image[off:off + 4].copy()
    s.image[off:off + 4] = np.frombuffer(np.uint32(12).tobytes(), np.uint8)
    assert s.run([case.ins]) == Err.BAD_QUEUE
    s.image[off:off + 4] = saved
    word = int4.moe_q8_word_offset(g("b1"), 3, 20, po, bb)
    s.image[word:word + 4] = np.frombuffer(np.uint32(25).tobytes(), np.uint8)  # dq_shift 25
    assert s.run([case.ins]) == Err.BAD_SHAPE
    assert (s.image[g("dst"):g("dst") + 4 * 12 * 4] == before).all()


@pytest.mark.parametrize("change,flags,what", [
    ({"q4_split": int4.pack_moe_split(21, 0, 0)}, 0, "fc1_high"),
    ({"q4_split": int4.pack_moe_split(0, 13, 0)}, 0, "fc2_high"),
    ({}, Flag.WSKIP, "not with WFMT_Q4"),
    ({}, Flag.WFMT_Q8, "not with WFMT_Q4"),
])
def test_validation_refuses_bad_mixed_expert_fields(tiny, change, flags, what):
    case = q4_experts(tiny, 9, t=4, d=12, h=20, e=3)
    ins = Instr.make(Op.MOE_EXPERTS, case.ins.flags | flags, **{**case.ins.named(), **change})
    with pytest.raises(ProgramError, match=what):
        validate_program([ins], tiny, 1 << 19)


@pytest.mark.parametrize("code", range(len(int4.MOE_GROUP_SIZES)))
def test_op_table_expert_weight_size_is_the_packed_size(tiny, code):
    """The op spec's w1 / w2 extents (validation, every executor's checks) equal the
    bytes the compiler writes, for every group code."""
    from edgemoe.compiler.mixed_experts import expert_blobs
    from edgemoe.ops import OpEnv, spec_of

    size = int4.MOE_GROUP_SIZES[code] or 4096
    case = q4_experts(tiny, 10, t=3, d=40, h=36, e=3, top_k=1, high=0.15, group=size)
    blobs = expert_blobs(case.experts, tiny)
    ops = {o.name: o.size for o in spec_of(Op.MOE_EXPERTS).operands}
    env = OpEnv(case.ins, tiny)
    assert [ops[n].value(env) for n in ("w1", "b1", "w2", "b2")] == [len(b) for b in blobs]
