"""The cycle model of a W8A8 LINEAR (Flag.WFMT_Q8): int8 weight reads plus the multipliers,
and pairs of output tiles sharing the MAC array (edgemoe_lin_dot.sv: two int8 MACs per
multiplier)."""

from __future__ import annotations

import pytest

from edgemoe.isa import Flag, Instr, Op, pack_ksp
from edgemoe.params import load_accel
from edgemoe.perf.model import model_program

pytestmark = pytest.mark.unit


def _linear(flags: int, n: int, k: int, t: int = 9) -> Instr:
    return Instr.make(Op.LINEAR, flags, tokens=t, out_features=n, in_features=k, src=0,
                      dst=1 << 20, weights=2 << 20, bias=3 << 20, scales=4 << 20,
                      x_mul=1000, q8_shift_codes=10)


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
    # 8 routed tokens; fc1: 12 output tiles (6 pairs) x 8 input tiles, fc2: 8 (4) x 12
    assert w16.compute == 8 * (12 * 8 + 8 * 12)
    assert q8.compute == 8 * (6 * 8 + 4 * 12)
    assert q8.cycles < w16.cycles


@pytest.mark.parametrize("n,k,beats", [(64, 128, 8 * 32), (20, 9, 3 * 3), (9, 4, 2 * 2),
                                       (4, 4, 1 * 2)])
def test_q8_ideal_cycles_count_tile_pairs(n, k, beats):
    """The op table's ideal cycles on tiny (4 x 4): per token, pairs of output tiles x input
    tiles, at least two beats a pair (the epilogue finishes the pair's tiles in turn)."""
    from edgemoe.golden.cycles import ideal_cycles
    from edgemoe.numerics.int8 import q8_mac_beats

    accel = load_accel("tiny")
    t = 9
    assert ideal_cycles(_linear(Flag.WFMT_Q8, n, k, t), accel, {}) == t * beats
    assert q8_mac_beats(-(-n // 4), -(-k // 4)) == beats
    assert ideal_cycles(_linear(0, n, k, t), accel, {}) == t * -(-n // 4) * -(-k // 4)


def test_int8_roofline_is_two_macs_per_multiplier():
    """ZCU102 at W16A32 weights x act: 2 DSP per multiplier; W8A8 doubles the MACs."""
    from edgemoe.params.fit import LIMIT_PERCENT
    from edgemoe.perf.report import roofline_macs_per_cycle

    accel = load_accel("edge-moe-zcu102")
    w16 = accel.board.dsp * LIMIT_PERCENT["DSP"] / 100 / 2
    assert roofline_macs_per_cycle(accel) == pytest.approx(w16)
    assert roofline_macs_per_cycle(accel, int8=True) == pytest.approx(2 * w16)


def test_w8a8_design_point_fits_and_is_faster_on_the_w8a8_program():
    """configs/accel/edge-moe-zcu102-w8a8: within the physical fit check of the ZCU102, and
    its W8A8 m3vit-micro program (int8 attention: the only one it builds) is modelled
    faster than the W8A8 program on Edge-MoE's design point (act attention)."""
    import numpy as np

    from edgemoe.compiler import compile_model
    from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model
    from edgemoe.params.fit import fit_report
    from edgemoe.perf.memory import memory_timing

    w8, base = load_accel("edge-moe-zcu102-w8a8"), load_accel("edge-moe-zcu102")
    report = fit_report(w8)
    assert report.fits, report.message
    assert w8.formats == base.formats and w8.board == base.board
    model = load_model("m3vit-micro")
    weights = random_weights(model, 0)
    ranges = linear_input_ranges(model, weights, [load_default_image(model)],
                                 int8_layers(model, attn=True))
    plain = {k: v for k, v in ranges.items() if k in int8_layers(model)}  # act attention
    ms = {}
    for accel, int8 in ((w8, ranges), (base, plain)):
        c = compile_model(model, accel, weights, heads=False, int8=int8)
        mem = memory_timing(accel, ports=accel.m_axi_bundles)
        ms[accel.name] = model_program(c.instrs, accel, memory=mem).latency_ms
    assert ms[w8.name] < ms[base.name]
    assert np.isfinite(list(ms.values())).all()


def _conv(flags: int, ci: int, co: int, h: int = 4, w: int = 8) -> Instr:
    return Instr.make(Op.CONV, flags, in_h=h, in_w=w, in_ch=ci, out_ch=co,
                      kernel_stride_pad=pack_ksp(3, 1, 1, 10 if flags & Flag.WFMT_Q8 else 0),
                      src=0, dst=1 << 20, weights=2 << 20, bias=3 << 20, scales=4 << 20,
                      x_mul=1000)


@pytest.mark.parametrize("ci", [8, 6])  # through the line buffer (ci % P_IN == 0), and not
def test_q8_conv_reads_int8_codes_and_runs_tile_pairs(ci):
    """A W8A8 head conv: int8 weight tiles plus biases and 4-byte multipliers, and per
    output pixel pairs of output tiles (int8.q8_mac_beats) instead of every tile."""
    accel = load_accel("tiny")
    po, pi, co = accel.linear_p_out, accel.linear_p_in, 16
    cikk = -(-ci * 9 // pi) * pi
    q8 = model_program([_conv(Flag.WFMT_Q8, ci, co)], accel).ops[0]
    w16 = model_program([_conv(Flag.WFMT_CONV, ci, co)], accel).ops[0]
    assert w16.traffic.weight_bytes == co * cikk * 2 + co * 2
    assert q8.traffic.weight_bytes == co * cikk * 1 + co * 2 + co * 4
    tiles_in = cikk // pi
    assert w16.compute == 32 * (co // po) * tiles_in
    assert q8.compute == 32 * (co // po // 2) * tiles_in
    assert q8.cycles < w16.cycles  # by less than half: the rows still load as in W16
