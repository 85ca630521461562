"""The compiler moves a W8A8 dense MLP's hidden rows as int8 codes (compiler.dense_mlp).

fc1 writes int8 codes (isa.pack_linear_q8 codes out) with fc2's input multiplier in every
column of its code_muls vector (layout.code_muls_offset) into a hidden tensor of one byte
an element; fc2 reads it as codes.  Only when both layers are W8A8 (a W16/W8A8 pair keeps
act rows); any int32 multiplier fits the vector.  The program's outputs are the bytes of
the act-row program.
"""

from __future__ import annotations

import pytest
from q8util import micro_calibration_images

from edgemoe.compiler import compile_model, dense_mlp
from edgemoe.compiler.calibrate import linear_input_ranges
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.golden import execute
from edgemoe.isa import Flag, Op, unpack_linear_q8
from edgemoe.layout import code_muls_offset
from edgemoe.models import load_default_image, random_weights
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, micro_calibration_images(model))
    return model, accel, weights, ranges


def _mlps(c, model):
    """(fc1, fc2) LINEARs of every dense block, by their comments."""
    by = {name: ins for ins, name in zip(c.instrs, c.manifest["program"]["names"])
          if ins.op == Op.LINEAR}
    return [(by[f"blocks.{i}.mlp.fc1"], by[f"blocks.{i}.mlp.fc2"])
            for i in range(model.depth) if not model.is_moe(i)]


def _codes(c, accel, fc1, fc2) -> tuple[int, bool]:
    """(fc1's code multiplier, 0 without codes out; fc2 reads codes)."""
    if not unpack_linear_q8(fc1.get("q8_shift_codes"))[1]:
        return 0, unpack_linear_q8(fc2.get("q8_shift_codes"))[2]
    n, image = fc1.get("out_features"), c.fresh_image()
    at = fc1.get("scales") + code_muls_offset(n, accel.linear_p_out)
    muls = image[at:at + 4 * n].view("<i4")
    assert (muls == muls[0]).all()  # one multiplier: fc2's
    return int(muls[0]), unpack_linear_q8(fc2.get("q8_shift_codes"))[2]


def _tokens(c, model, accel):
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    assert execute(image, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    return read_tokens(image, c.manifest, accel.formats.act.cpp())


def test_w8a8_mlp_writes_and_reads_codes(micro, monkeypatch):
    model, accel, weights, ranges = micro
    c = compile_model(model, accel, weights, heads=False, int8=ranges)
    pairs = _mlps(c, model)
    assert pairs
    for fc1, fc2 in pairs:
        assert fc1.has(Flag.WFMT_Q8 | Flag.GELU) and fc2.has(Flag.WFMT_Q8 | Flag.RESIDUAL)
        assert _codes(c, accel, fc1, fc2) == (fc2.get("x_mul"), True) and fc2.get("x_mul") > 0
        assert unpack_linear_q8(fc1.get("q8_shift_codes"))[2] is False
        assert fc1.get("dst") == fc2.get("src")
    # the same program with act hidden rows: the same tokens
    monkeypatch.setattr(dense_mlp, "hidden_codes_mul", lambda low, p: 0)
    plain = compile_model(model, accel, weights, heads=False, int8=ranges)
    assert all(_codes(plain, accel, *p) == (0, False) for p in _mlps(plain, model))
    assert (_tokens(c, model, accel) == _tokens(plain, model, accel)).all()
    # one byte instead of the act word per hidden element: a smaller arena (or equal)
    assert c.manifest["regions"]["arena"][1] <= plain.manifest["regions"]["arena"][1]


def test_mixed_w16_w8a8_pair_keeps_act_rows(micro):
    model, accel, weights, ranges = micro
    i = next(i for i in range(model.depth) if not model.is_moe(i))
    for drop in (f"blocks.{i}.mlp.fc1", f"blocks.{i}.mlp.fc2"):
        c = compile_model(model, accel, weights, heads=False,
                          int8={k: v for k, v in ranges.items() if k != drop})
        fc1, fc2 = _mlps(c, model)[0]
        assert fc1.has(Flag.WFMT_Q8) != fc2.has(Flag.WFMT_Q8)
        assert _codes(c, accel, fc1, fc2) == (0, False)
        assert unpack_linear_q8(fc1.get("q8_shift_codes"))[1] is False


def test_a_multiplier_past_session_13s_field_moves_codes(micro, monkeypatch):
    """A tiny calibrated hidden range (x_mul ~ 2**27, past the 26-bit d4 field codes used
    to fall back from) now moves codes too: the tokens of the act-row program."""
    model, accel, weights, ranges = micro
    i = next(i for i in range(model.depth) if not model.is_moe(i))
    fc2 = f"blocks.{i}.mlp.fc2"
    tiny_range = 127 * 2.0 ** 16 / 2 ** 26 / 2  # x_mul ~ 2**27
    c = compile_model(model, accel, weights, heads=False, int8={**ranges, fc2: tiny_range})
    a, b = _mlps(c, model)[0]
    assert b.get("x_mul") >= 1 << 26
    assert _codes(c, accel, a, b) == (b.get("x_mul"), True)
    monkeypatch.setattr(dense_mlp, "hidden_codes_mul", lambda low, p: 0)
    plain = compile_model(model, accel, weights, heads=False, int8={**ranges, fc2: tiny_range})
    assert (_tokens(c, model, accel) == _tokens(plain, model, accel)).all()
