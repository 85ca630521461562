"""Unit benches of every RTL engine against the golden executor, at two parallelism settings.

Each case is a one-instruction program (MoE: gate + experts) on random data; the RTL and
the golden executor must leave byte-identical images (except the profile ``cycles``
field) and the same error code.  Settings: ``tiny`` (4x4 linear tile, p=2, 2 vector
lanes) and ``alt`` (8x2 tile, p=4, 4 vector lanes); ``narrow`` repeats ``tiny`` with
16-bit activations (two-byte element packing everywhere).  One simulator process per
setting.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from magnitude import edge_cases
from magnitude_ops import op_cases
from rtldesigns import design, executor

from edgemoe.isa import Flag

pytestmark = pytest.mark.sim

SETTINGS = ("tiny", "alt", "narrow")


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(11)
    kin = accel.max_in_features
    kout = accel.max_out_features
    return [
        # linear engine
        ru.linear(accel, rng, "linear", 5, 7, 9),
        ru.linear(accel, rng, "linear_gelu_attnbias", 3, 8, 8, Flag.GELU | Flag.BFMT_ATTN),
        ru.linear(accel, rng, "linear_residual_relu", 4, 6, 5, Flag.RESIDUAL | Flag.RELU),
        ru.linear(accel, rng, "linear_gather_scatter_score", 5, 9, 11,
                  Flag.GATHER | Flag.SCATTER | Flag.SCORE_ACC, rows=8),
        ru.linear(accel, rng, "linear_dyncount_gather", 6, 5, 7,
                  Flag.DYN_COUNT | Flag.GATHER, rows=9),
        ru.linear(accel, rng, "linear_strips", 3, kout, kin),  # weights in several strips
        # CONV lowered onto the linear engine (im2col)
        ru.conv(accel, rng, "conv3x3_pad_relu", 4, 5, 3, 6, 3, 1, 1, Flag.RELU | Flag.WFMT_CONV),
        ru.conv(accel, rng, "conv2x2_stride2", 5, 6, 4, 5, 2, 2, 1),
        ru.conv(accel, rng, "conv_residual_wide_pad", 7, 5, 2, 3, 3, 2, 2, Flag.RESIDUAL),
        ru.conv(accel, rng, "conv_patch_pixels", 8, 16, 3, 8, 4, 4, 0,
                Flag.PIXEL_INPUT | Flag.WFMT_PATCH | Flag.RESIDUAL),
        ru.conv(accel, rng, "conv_pixels_pad", 6, 7, 2, 4, 3, 2, 1, Flag.PIXEL_INPUT),
        ru.conv(accel, rng, "conv1x1", 3, 4, 5, 7, 1, 1, 0),
        # router + experts
        ru.moe(accel, rng, "moe_micro_shape", 9, 32, 4, 48, 2),
        ru.moe(accel, rng, "moe_top1_no_residual", 7, 12, 3, 10, 1, residual=False),
        ru.moe(accel, rng, "moe_task1_full_tokens", 16, 20, 4, 9, 2, task=1),
        # vector units
        ru.layernorm(accel, rng, "layernorm", 9, 32),
        ru.layernorm(accel, rng, "layernorm_odd", 3, 7),
        ru.layernorm(accel, rng, "layernorm_negative_eps", 5, 13, eps=-5),
        ru.upsample(accel, rng, "upsample", 2, 4, 16),
        ru.upsample(accel, rng, "upsample_edges", 3, 1, 3),
        ru.upsample(accel, rng, "upsample_one_row_partial_word", 1, 3, 19),
        ru.upsample(accel, rng, "upsample_one_pixel", 1, 1, 5),
        ru.add(accel, rng, "add_wraps", 37),
        ru.add(accel, rng, "add_chunks", 700),
        ru.add(accel, rng, "copy", 45, copy=True),
        # attention
        ru.attention(accel, rng, "attention_micro_shape", 9, 2, 16),
        ru.attention(accel, rng, "attention_one_token", 1, 1, 1),
        ru.attention(accel, rng, "attention_full_tokens", 16, 2, 6),
        ru.attention(accel, rng, "attention_negative_scale", 3, 2, 5, scale=-300000),
        # every op near its format limits (tests/magnitude.py; 1.5x counts overflows)
        *[ru.Case(c.name, c.scratch, c.program) for c in edge_cases(accel)],
        # LINEAR/CONV/MoE/ADD at 0.9x and 1.3x the range (tests/magnitude_ops.py)
        *[ru.Case(c.name, c.scratch, c.program) for c in op_cases(accel)],
    ]


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    """All cases of both settings, run once per module."""
    runs = {}
    for setting in SETTINGS:
        accel = design(setting)
        runs[setting] = ru.run_cases(executor(setting), _cases(accel))
    return runs


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_engine_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"
    # the RTL wrote its measured cycles into the profile (excluded from the comparison)
    cycles = out.rtl[64:72].view("<u8")[0]
    assert 0 < cycles <= out.cycles


def test_settings_differ_in_parallelism():
    a, b = design("tiny"), design("alt")
    assert (a.linear_p_in, a.linear_p_out, a.attn_lanes, a.vector_lanes) != \
        (b.linear_p_in, b.linear_p_out, b.attn_lanes, b.vector_lanes)
