"""The cycle model of a W8A8 LINEAR (Flag.WFMT_Q8): int8 weight reads plus the multipliers."""

from __future__ import annotations

import pytest

from edgemoe.isa import Flag, Instr, Op
from edgemoe.params import load_accel
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.unit


def _linear(flags: int, n: int, k: int, t: int = 9) -> Instr:
    return Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=0,
                      dst=1 << 20, weights=2 << 20, bias=3 << 20, scales=4 << 20,
                      x_mul=1000, dq_shift=10)


@pytest.mark.parametrize("n,k", [(96, 768), (33, 20)])
def test_q8_weight_traffic_is_int8_codes_bias_and_multipliers(n, k):
    """Each strip reads its padded int8 tiles, its 2-byte biases and 4-byte multipliers
    (W16: 2-byte tiles and biases, no multipliers)."""
    accel = load_accel("tiny")
    po, pi = accel.linear_p_out, accel.linear_p_in
    n_pad, k_pad = -(-n // po) * po, -(-k // pi) * pi
    q8 = model_program([_linear(Flag.WFMT_Q8, n, k)], accel).ops[0].traffic
    w16 = model_program([_linear(0, n, k)], accel).ops[0].traffic
    assert w16.weight_bytes == n_pad * k_pad * 2 + n_pad * 2
    assert q8.weight_bytes == n_pad * k_pad * 1 + n_pad * 2 + n_pad * 4


def _experts(flags: int) -> Instr:
    return Instr.make(Op.MOE_EXPERTS, flags, tokens=8, dim=32, hidden=48, experts=4, src=0,
                      dst=1 << 14, w1=1 << 15, b1=1 << 16, w2=1 << 17, b2=1 << 18,
                      queues=1 << 19, scratch=1 << 20, x_mul=1000, q8_shift_mul=10)


def test_q8_experts_read_int8_codes_biases_and_multipliers():
    """Per active expert: int8 w1 and w2, 2-byte biases and 4-byte multipliers (W16: 2-byte
    weights and biases); the same MACs, so the MAC-bound part does not change."""
    accel = load_accel("tiny")
    routing = {0: [4, 0, 4, 0]}
    q8 = model_program([_experts(Flag.WFMT_Q8)], accel, routing).ops[0]
    w16 = model_program([_experts(0)], accel, routing).ops[0]
    mat, bias_h, bias_d = 48 * 32, 48, 32  # tiny's 4 x 4 tiles divide every size
    assert w16.traffic.weight_bytes == 2 * (2 * mat * 2 + (bias_h + bias_d) * 2)
    assert q8.traffic.weight_bytes == 2 * (2 * mat + (bias_h + bias_d) * (2 + 4))
    assert q8.compute == w16.compute
    assert q8.cycles < w16.cycles
