"""The compiler moves an int8 ATTENTION's rows as int8 codes (compiler.qkv_codes): the qkv
LINEAR writes q, k, v codes and the ATTENTION reads them (codes in,
compiler.attn_q8.attn_codes_in_allowed); it writes proj's input codes (codes out,
attn_codes_out_mul): its parameter block's out_x_mul is proj's x_mul, proj reads codes (LINEAR
codes_in); both tensors hold a byte an element.  Only when the LINEAR is W8A8 and nobody
taps the act rows.  The program's outputs and overflow total are those of the act-row
program (golden), and C-sim == golden on it."""

from __future__ import annotations

import numpy as np
import pytest
from progutil import assert_compiled_csim_equals_golden
from q8util import micro_calibration_images

from edgemoe.compiler import compile_model
from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.golden import execute
from edgemoe.golden.attn_q8 import read_params
from edgemoe.isa import Flag, Op, unpack_linear_q8
from edgemoe.layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES
from edgemoe.models import load_default_image, random_weights
from edgemoe.numerics.attn_q8 import Q8_CODES_IN, Q8_CODES_OUT, choose_params
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, micro_calibration_images(model),
                                 int8_layers(model, attn=True))
    codes = compile_model(model, accel, weights, heads=False, int8=ranges)
    taps = frozenset(f"blocks.{i}.{t}" for i in range(model.depth) for t in ("qkv", "attn"))
    act_rows = compile_model(model, accel, weights, heads=False, int8=ranges, taps=taps)
    return model, accel, ranges, codes, act_rows


def _named(c, op):
    return {n: ins for ins, n in zip(c.instrs, c.manifest["program"]["names"], strict=True)
            if ins.op == op}


def _run(c, accel, model, task):
    """Golden's image; the program's output tokens and its overflow total."""
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    assert execute(image, accel, c.program_offset, c.n_instructions, task, c.status_offset) == 0
    base = c.status_offset + STATUS_BYTES
    prof = image[base:base + c.n_instructions * PROFILE_ENTRY_BYTES].view("<u8")
    total = int(prof.reshape(c.n_instructions, len(PROFILE_FIELDS))[
        :, PROFILE_FIELDS.index("overflows")].sum())
    return image, read_tokens(image, c.manifest, accel.formats.act.cpp()), total


def test_attention_writes_proj_input_codes(micro):
    model, accel, ranges, c, _ = micro
    attn, lin = _named(c, Op.ATTENTION), _named(c, Op.LINEAR)
    image = c.fresh_image()
    assert len(attn) == model.depth
    for i in range(model.depth):
        a, proj = attn[f"blocks.{i}.attn"], lin[f"blocks.{i}.attn.proj"]
        assert a.has(Flag.WFMT_Q8) and a.get("q8_codes") == Q8_CODES_IN | Q8_CODES_OUT
        # the qkv LINEAR writes the codes it reads (compiler.qkv_codes), proj reads its codes
        qkv = lin[f"blocks.{i}.attn.qkv"]
        assert unpack_linear_q8(qkv.get("q8_shift_codes"))[1:] == (True, False)
        assert qkv.get("dst") == a.get("qkv")
        prm = read_params(image, a)
        assert prm["out_x_mul"] == proj.get("x_mul") > 0
        assert proj.has(Flag.WFMT_Q8) and unpack_linear_q8(proj.get("q8_shift_codes"))[2]
        # the block's other fields are those without codes
        want = choose_params(*(ranges[f"blocks.{i}.attn.{p}"] for p in "qkv"),
                             model.head_dim ** -0.5, accel.formats.act)
        assert {k: v for k, v in prm.items() if k != "out_x_mul"} == \
            {k: v for k, v in want.items() if k != "out_x_mul"}


def test_tapped_attention_keeps_act_rows(micro):
    _, _, _, _, act_rows = micro
    attn, lin = _named(act_rows, Op.ATTENTION), _named(act_rows, Op.LINEAR)
    assert all(a.get("q8_codes") == 0 for a in attn.values())
    assert not any(unpack_linear_q8(p.get("q8_shift_codes"))[2]
                   for n, p in lin.items() if n.endswith("attn.proj"))


@pytest.mark.parametrize("task", [0, 1])
def test_codes_program_equals_act_rows_program(micro, task):
    """The same output tokens, byte for byte, and the same overflow total."""
    model, accel, _, c, act_rows = micro
    _, got, ovf = _run(c, accel, model, task)
    _, want, ovf_act = _run(act_rows, accel, model, task)
    np.testing.assert_array_equal(got, want)
    assert ovf == ovf_act


def test_codes_in_is_a_parameter(micro):
    """The qkv LINEAR's side (wired after lincodes14): attn_q8_fields(codes_in=True) sets
    q8_codes' codes-in bit; the q, k, v multipliers the producer must use are the block's."""
    from edgemoe.compiler.attn_q8 import attn_codes_in_allowed, attn_q8_fields
    from edgemoe.compiler.builder import ProgramBuilder
    from edgemoe.numerics.attn_q8 import Q8_CODES_IN

    model, accel, ranges, _, _ = micro

    class Low:  # the lowering's parts attn_q8_fields and attn_codes_in_allowed use
        b, f, m = ProgramBuilder(), accel.formats, model
        topk, int8, mixed, want = None, ranges, frozenset(), frozenset()

    assert attn_q8_fields(Low(), 0, ranges, codes_in=True)["q8_codes"] == Q8_CODES_IN
    both = attn_q8_fields(Low(), 0, ranges, out_x_mul=5, codes_in=True)
    assert both["q8_codes"] == Q8_CODES_IN | Q8_CODES_OUT
    # allowed where the attention is int8, the qkv LINEAR W8A8 and its rows untapped
    low = Low()
    assert attn_codes_in_allowed(low, 0)
    for change in ({"want": frozenset({"blocks.0.qkv"})},
                   {"mixed": frozenset({"blocks.0.attn.qkv"})},
                   {"int8": {k: v for k, v in ranges.items() if k != "blocks.0.attn.qkv"}},
                   {"int8": {k: v for k, v in ranges.items() if not k.startswith("blocks.0.attn.")
                             or k.endswith(("qkv", "proj"))}},
                   {"topk": object()}):
        other = Low()
        other.__dict__.update(change)
        assert not attn_codes_in_allowed(other, 0), change


@pytest.mark.csim
@pytest.mark.parametrize("task", [0, 1])
def test_codes_program_csim_equals_golden(micro, task):
    model, accel, _, c, _ = micro
    assert_compiled_csim_equals_golden(c, accel, model, task,
                                       f"m3vit-micro attention codes in and out task {task}")
