"""A W8A8 LINEAR writing int8 codes with a multiplier per output column (codes out), golden.

The reference: the same layer writing act rows, then numerics.int8.input_codes of each
part of its columns with that part's multiplier (numerics.attn_q8 step 1), one byte an
element at ``dst + r * out_features``; the profile's overflows are the act run's plus the
clamps.  The compiler's helper (compiler.qkv_codes) emits exactly such a qkv LINEAR in a
compiled M3ViT.  Bad words are refused by the checks every executor shares.
"""

from __future__ import annotations

import numpy as np
import pytest
from progutil import Scratch
from q8codes import CASES, FILL, qkv_linear
from q8util import micro_calibration_images
from rtldesigns import design as load_design

from edgemoe.compiler import compile_model, qkv_codes
from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
from edgemoe.compiler.io import write_pixels
from edgemoe.golden import execute
from edgemoe.golden.memory import read
from edgemoe.isa import Err, Flag, Instr, Op, pack_linear_q8, unpack_linear_q8
from edgemoe.layout import code_muls_offset, q8_scales_block
from edgemoe.models import load_default_image, random_weights
from edgemoe.numerics import attn_q8, int8
from edgemoe.params import load_accel, load_model
from edgemoe.validate import ProgramError, validate_program

pytestmark = pytest.mark.golden


def _act_run(accel, kw):
    """(act rows (t, 3d), overflows) of the layer written as act rows."""
    case = qkv_linear(accel, codes=False, **kw)
    assert case.scratch.run(case.program) == Err.OK
    t, n = kw.get("count", case.t), 3 * case.d
    act = accel.formats.act
    return case.scratch.get_raw(case.dst, t * n, act).reshape(t, n), \
        case.scratch.profile(0)["overflows"]


@pytest.mark.parametrize("design", ["tiny", "alt"])
@pytest.mark.parametrize("name", list(CASES))
def test_codes_are_each_parts_input_codes(design, name):
    accel = load_design(design)
    kw, act = CASES[name], accel.formats.act
    y, act_overflows = _act_run(accel, kw)
    case = qkv_linear(accel, **kw)
    s, d, t = case.scratch, case.d, y.shape[0]
    assert s.run(case.program) == Err.OK
    want = np.full(case.dst_bytes, FILL, np.uint8)
    clamped = []
    for p, mul in enumerate(case.muls):
        codes, over = int8.input_codes(y[:, p * d:(p + 1) * d], mul, act)
        want[:t * 3 * d].reshape(t, 3 * d)[:, p * d:(p + 1) * d] = codes.astype(np.int8).view(np.uint8)
        clamped.append(int(over.sum()))
    assert (s.image[case.dst:case.dst + case.dst_bytes] == want).all()
    assert s.profile(0)["overflows"] == act_overflows + sum(clamped)
    assert len(set(case.muls)) == 3  # three different multipliers
    if name == "clamps":
        assert all(clamped), clamped
    if name == "overflows":
        assert act_overflows > 0


@pytest.mark.parametrize("name", ["odd", "strips"])
def test_code_muls_count_as_weight_bytes(name):
    """The code multipliers are fetched with the channel multipliers: weight_bytes grows
    by their block (the op spec's scales operand, which the RTL counts)."""
    accel = load_design("tiny")
    runs = []
    for codes in (True, False):
        case = qkv_linear(accel, codes=codes, **CASES[name])
        assert case.scratch.run(case.program) == Err.OK
        runs.append(case.scratch.profile(0)["weight_bytes"])
    assert runs[0] - runs[1] == code_muls_offset(3 * CASES[name]["d"], accel.linear_p_out)


def _one(accel, flags, word, **extra) -> Instr:
    s = Scratch(accel)
    return Instr.make(Op.LINEAR, Flag.WFMT_Q8 | flags, tokens=2, out_features=8, in_features=8,
                      src=s.alloc(4096), dst=s.alloc(4096), weights=s.alloc(4096),
                      bias=s.alloc(256), scales=s.alloc(256), x_mul=1000, q8_shift_codes=word,
                      **extra)


def test_d4_bits_past_codes_out_are_refused():
    accel = load_design("tiny")
    validate_program([_one(accel, 0, pack_linear_q8(10, True, True))], accel, 1 << 20)
    for bit in (7, 12, 31):
        with pytest.raises(ProgramError, match="bits 7-31"):
            validate_program([_one(accel, 0, 10 | 1 << bit)], accel, 1 << 20)


def test_scales_operand_holds_both_multiplier_blocks():
    """With codes out the scales operand spans two multiplier blocks: ending at the image's
    end passes, a block less of room is out of range."""
    accel, size = load_design("tiny"), 1 << 20
    block = code_muls_offset(8, accel.linear_p_out)
    for codes, fits in ((False, True), (True, False)):
        ins = _one(accel, 0, pack_linear_q8(10, codes))
        ins = Instr.make(Op.LINEAR, ins.flags, **{**ins.named(), "scales": size - block})
        if fits:
            validate_program([ins], accel, size)
        else:
            with pytest.raises(ProgramError):
                validate_program([ins], accel, size)


def test_isa_packs_booleans_only():
    assert unpack_linear_q8(pack_linear_q8(24, True, False)) == (24, True, False)
    assert unpack_linear_q8(pack_linear_q8(3, False, True)) == (3, False, True)
    with pytest.raises(ValueError):
        pack_linear_q8(10, 1000)  # session 13's multiplier field is gone


def test_scales_block_layout():
    scales, muls = np.arange(1, 6), np.array([7, 7, 9, 9, -3])
    raw = np.frombuffer(q8_scales_block(scales, 4, muls), "<i4")
    off = code_muls_offset(5, 4) // 4
    assert raw.size == 2 * off and (raw[:5] == scales).all() and (raw[5:off] == 0).all()
    assert (raw[off:off + 5] == muls).all() and (raw[off + 5:] == 0).all()
    with pytest.raises(ValueError):
        q8_scales_block(scales, 4, muls[:4])


# ------------------------------------------------------------------ the compiler's helper
@pytest.fixture(scope="module")
def micro():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    weights = random_weights(model, 1)
    ranges = linear_input_ranges(model, weights, micro_calibration_images(model),
                                 int8_layers(model, attn=True))
    return model, accel, weights, ranges


def _qkv_rows(c, model, accel, block: int):
    """Run a compiled program up to block ``block``'s qkv LINEAR: (its dst bytes, the LINEAR)."""
    names = c.manifest["program"]["names"]
    i = names.index(f"blocks.{block}.attn.qkv")
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    assert execute(image, accel, c.program_offset, i + 1, 0, c.status_offset) == 0
    ins = c.instrs[i]
    return image, ins


def test_lower_qkv_codes_writes_each_parts_codes(micro):
    """Block 0's qkv LINEAR as the compiler lowers it (compiler.qkv_codes; the ATTENTION
    after it is not run): its dst holds the int8 codes of the act qkv rows of the program
    that taps them (the tap keeps act rows), part p with the multiplier the ATTENTION's
    parameter block holds for q, k, v."""
    model, accel, weights, ranges = micro
    plain = compile_model(model, accel, weights, heads=False, int8=ranges,
                          taps=frozenset({"blocks.0.qkv"}))
    coded = compile_model(model, accel, weights, heads=False, int8=ranges)
    act = accel.formats.act
    img_a, ins_a = _qkv_rows(plain, model, accel, 0)
    img_c, ins_c = _qkv_rows(coded, model, accel, 0)
    assert unpack_linear_q8(ins_c.get("q8_shift_codes"))[1] and ins_c.has(Flag.WFMT_Q8)
    assert not unpack_linear_q8(ins_a.get("q8_shift_codes"))[1]
    t, n = ins_c.get("tokens"), ins_c.get("out_features")
    y = read(img_a, ins_a.get("dst"), t * n, act).reshape(t, n)
    names = coded.manifest["program"]["names"]
    att = coded.instrs[names.index("blocks.0.attn")]
    at = att.get("q8_params")
    words = attn_q8.param_words(img_c[at:at + attn_q8.Q8_PARAM_BYTES].view("<u4"))
    got = img_c[ins_c.get("dst"):ins_c.get("dst") + t * n].view(np.int8).reshape(t, n)
    d = n // 3
    for p, name in enumerate(qkv_codes.QKV_PARTS):
        want, _ = int8.input_codes(y[:, p * d:(p + 1) * d], words[name], act)
        assert (got[:, p * d:(p + 1) * d] == want).all(), name
    assert len({words[k] for k in qkv_codes.QKV_PARTS}) == 3


def test_lower_qkv_codes_refuses_a_w16_qkv():
    class Low:
        int8, mixed = {}, {}

    with pytest.raises(ValueError, match="W8A8"):
        qkv_codes.lower_qkv_codes(Low(), "blocks.0.attn.qkv", None, None, 1, (1, 2, 3))
