"""Formats the engines cannot run bit-exactly are refused by the loader (issue 9 item 6).

Each message names the key, the value and the allowed range.
"""

from __future__ import annotations

import pytest

from edgemoe.params import ConfigError, load_accel

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("setting,texts", [
    # the compiler packs one uint8 per pixel: a wider format would read past the input
    ("formats.pixel=ap_ufixed<16,0>", ["formats.pixel", "ap_ufixed<16,0>", "ap_ufixed<8,I>"]),
    ("formats.pixel=ap_fixed<8,1>", ["formats.pixel", "ap_fixed<8,1>", "one-byte unsigned"]),
    # 32 x 64-bit products wrap the 64-bit accumulator (6-12% error before this check)
    ("formats.linear_weight=ap_fixed<64,2>", ["formats.linear_weight", "ap_fixed<64,2>",
                                              "at most 32 bits"]),
    ("formats.conv_weight=ap_fixed<40,2>", ["formats.conv_weight", "at most 32 bits"]),
    # negative fraction bits ("negative shift count" deep in numerics before this check)
    ("formats.act=ap_fixed<16,20>", ["formats.act", "ap_fixed<16,20>", "I <= W=16"]),
    ("formats.norm=ap_fixed<8,9>", ["formats.norm", "more integer bits than its width"]),
    # one-byte activations (misaligned-offset failures before this check)
    ("formats.act=ap_fixed<8,3>", ["formats.act", "ap_fixed<8,3>", "9..32 bits"]),
])
def test_unsupported_format_is_refused(setting, texts):
    with pytest.raises(ConfigError) as err:
        load_accel("tiny", [setting])
    msg = str(err.value)
    assert "\n" not in msg
    for text in texts:
        assert text in msg, msg


@pytest.mark.parametrize("setting", ["formats.pixel=ap_ufixed<8,1>",
                                     "formats.linear_weight=ap_fixed<32,4>",
                                     "formats.act=ap_fixed<9,4>", "formats.act=ap_fixed<16,16>"])
def test_formats_at_the_limits_load(setting):
    assert load_accel("tiny", [setting]).formats is not None
