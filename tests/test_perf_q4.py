"""The cycle model of a mixed int4/int8 LINEAR (Flag.WFMT_Q4, edgemoe/perf/q4.py): the bytes
edgemoe_lin_q4.sv reads (int4 codes at half a byte, group parameters, a bias and a
multiplier per row, channel_index), its pace, and the unpaired MAC beats.  The model
against the measured RTL cycles: tests/test_rtl_q4_cycles.py."""

from __future__ import annotations

import pytest

from edgemoe.isa import Flag, Instr, Op
from edgemoe.numerics import int4
from edgemoe.params import load_accel
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.unit


def _mixed(n: int, k: int, high: int, groups: int, t: int = 9) -> Instr:
    return Instr.make(Op.LINEAR, Flag.WFMT_Q4, tokens=t, out_features=n, in_features=k, src=0,
                      dst=1 << 20, weights=2 << 20, bias=3 << 20, scales=4 << 20,
                      channel_index=5 << 20, x_mul=1000, q8_shift_codes=10,
                      q4_split=int4.pack_split(high, groups))


@pytest.mark.parametrize("n,k,high,groups", [(64, 128, 6, 4), (33, 20, 3, 3), (16, 48, 16, 3),
                                             (16, 48, 0, 3), (33, 21, 3, 1), (64, 128, 6, 1)])
def test_mixed_weight_traffic_is_what_the_loader_reads(n, k, high, groups):
    """Per int8 row a P_IN-byte read per input tile, per int4 row half that and its group
    parameters (2 bytes each; one group per row: the one byte holding its zero point), per
    row a 2-byte bias and a 4-byte multiplier; the index list is read twice (the
    controller's check and the strip's table) as plain reads."""
    accel = load_accel("tiny")
    pi = accel.linear_p_in
    kt = -(-k // pi)
    op = model_program([_mixed(n, k, high, groups)], accel).ops[0]
    low = n - high
    params = groups * int4.GROUP_PARAM_BYTES if groups > 1 else 1
    codes = high * kt * pi + low * kt * (pi // 2) + low * params
    assert op.traffic.weight_bytes == codes + n * (2 + 4)
    # the int4 rows: fewer weight bytes than the same layer at W8A8 unless every row is int8
    q8 = Instr.make(Op.LINEAR, Flag.WFMT_Q8, **{f: v for f, v in _mixed(n, k, high, groups)
                                                  .named().items()
                                                  if f not in ("q4_split", "channel_index")})
    w8 = model_program([q8], accel).ops[0].traffic.weight_bytes
    assert (op.traffic.weight_bytes < w8) == (low > 0)


def test_mixed_macs_are_unpaired_and_int4_rows_set_the_load_pace():
    """The 13-bit weights cannot share a multiplier: t x tiles MAC beats, as W16 (W8A8:
    half); an int4 row's load takes a cycle per weight (an int8 row a read per tile), so
    the all-int4 layer models slower than the all-int8 one, and both slower than W16
    whose strip loads in one burst."""
    accel = load_accel("tiny")
    n, k, t = 64, 128, 9
    tiles = (n // 4) * (k // 4)
    all4 = model_program([_mixed(n, k, 0, 4, t)], accel).ops[0]
    all8 = model_program([_mixed(n, k, n, 4, t)], accel).ops[0]
    w16 = model_program([Instr.make(Op.LINEAR, 0, tokens=t, out_features=n, in_features=k,
                                    src=0, dst=1 << 20, weights=2 << 20, bias=3 << 20)],
                        accel).ops[0]
    assert all4.compute == all8.compute == w16.compute == t * tiles
    assert w16.cycles < all8.cycles < all4.cycles
