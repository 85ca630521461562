"""``attn_act: false``: an attention engine built for int8 only (docs: configs/accel/
edge-moe-zcu102-w8a8.yaml).

The key (default true, in the identity only when false, needs attn_q8 and no attn_topk);
the flag every executor then requires on ATTENTION (isa.required_flags: golden/validate
here, the rendered C++ and SV tables; C-sim and RTL refuse it in tests/test_csim_attn8only.py
and tests/test_rtl_attn8only.py); and the compiler's refusal of a program with act attention.
"""

from __future__ import annotations

import numpy as np
import pytest
from attnq8util import attn_q8_case
from progutil import Scratch

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.isa import Err, Flag, Instr, Op, design_flags, required_flags
from edgemoe.params import ConfigError, list_accels, load_accel, load_model
from edgemoe.params.fit import estimate
from edgemoe.validate import check_instr

#: tests/rtldesigns.py's attn8only design
ONLY = ("attn_lanes=3", "attn_topk=false", "attn_act=false")


def _act_attention(s: Scratch, t: int = 4, nh: int = 1, hd: int = 16) -> Instr:
    act = s.accel.formats.act
    n = t * nh * hd * act.storage_dtype.itemsize
    return Instr.make(Op.ATTENTION, tokens=t, heads=nh, head_dim=hd,
                      qkv=s.put(np.zeros(3 * n, np.uint8)), dst=s.put(np.zeros(n, np.uint8)),
                      scale=int(act.quantize(np.array([0.25]))[0]))


def test_absent_key_is_true_and_keeps_every_config_id():
    for name in list_accels():
        accel = load_accel(name)
        if accel.attn_act:
            same = load_accel(name, ["attn_act=true"])
            assert same == accel and same.config_id == accel.config_id, name
            assert "attn_act" not in accel.to_dict(), name
    off = load_accel("tiny", ONLY)
    assert off.to_dict()["attn_act"] is False
    assert off.config_id != load_accel("tiny", ONLY[:2]).config_id


@pytest.mark.parametrize("sets,words", [
    (("attn_act=false", "attn_q8=false"), ("attn_act", "attn_q8")),
    (("attn_act=false",), ("attn_act", "attn_topk")),  # tiny builds top-k (act rows)
    (("attn_act=0", "attn_topk=false"), ("attn_act", "not a boolean")),
])
def test_bad_values_are_one_line_naming_the_keys(sets, words):
    with pytest.raises(ConfigError) as err:
        load_accel("tiny", sets)
    text = str(err.value)
    assert "\n" not in text and all(w in text for w in words), text


def test_the_design_requires_int8_attention_of_every_executor():
    on, off = load_accel("tiny", ONLY[:2]), load_accel("tiny", ONLY)
    assert required_flags(Op.ATTENTION, off) == Flag.WFMT_Q8
    assert all(required_flags(op, on) == Flag.NONE for op in Op)
    assert all(required_flags(op, off) == Flag.NONE for op in Op if op != Op.ATTENTION)
    assert design_flags(Op.ATTENTION, off) & Flag.WFMT_Q8
    s = Scratch(off)
    act = _act_attention(s)
    problems = check_instr(act, off, s.image.size)
    assert [p.code for p in problems] == [Err.BAD_FLAGS]
    assert "--int8-attn" in problems[0].message and "WFMT_Q8" in problems[0].message
    assert check_instr(act, on, s.image.size) == []
    assert s.run([act]) == Err.BAD_FLAGS  # golden
    case = attn_q8_case(off, 1, 7, 2, 16)  # the int8 one runs
    assert case.scratch.run([case.ins]) == Err.OK


#: Yosys estimates of edgemoe_attn on tiny with attn_topk false and attn_q8 true (``edgemoe
#: synth --accel tiny --set attn_topk=false --set attn_q8=true [--set attn_act=false] --top
#: edgemoe_attn --fast``, 2026-12-07, with the int8 rows' codes in and out): attn_act ->
#: (LUT, FF, DSP)
ATTN_YOSYS = {True: (31139, 5229, 359), False: (26124, 5092, 279)}


def test_the_rtl_estimate_of_the_int8_only_engine_is_near_its_yosys_counts():
    """Without the act products the RTL estimate of edgemoe_attn (attention + attention_q8)
    drops as Yosys measures it drop, and lands within 15 % of the act-free engine's counts
    (it has no calibration point of its own: params/fit_attn_q8.py)."""
    def attn(act):
        est = estimate(load_accel("tiny", [*ONLY[1:2], f"attn_act={act}"]), rtl=True)
        return [sum(est.by_component(r)[c] for c in ("attention", "attention_q8"))
                for r in ("LUT", "DSP")]

    on, off = attn("true"), attn("false")
    for k, (res, i) in enumerate((("LUT", 0), ("DSP", 2))):
        measured = ATTN_YOSYS[False][i]
        assert abs(off[k] - measured) <= 0.15 * measured, (res, off[k], measured)
        assert abs(on[k] - ATTN_YOSYS[True][i]) <= 0.01 * ATTN_YOSYS[True][i], res
        assert on[k] - off[k] > 0.5 * (ATTN_YOSYS[True][i] - measured), res


#: Yosys estimate of edgemoe_attn on edge-moe-zcu102-w8a8 as shipped (9 lanes, int8 only,
#: the rows' codes in and out: ``edgemoe synth --accel edge-moe-zcu102-w8a8 --top edgemoe_attn
#: --fast``, 416 s, 2026-12-07): LUT, FF, DSP (5 lanes with the act products: 95,553, 2,952,
#: 1,209)
W8A8_ATTN_YOSYS = (113579, 3267, 1377)


def test_the_rtl_estimate_of_the_w8a8_attention_is_near_its_yosys_counts():
    est = estimate(load_accel("edge-moe-zcu102-w8a8"), rtl=True)
    for res, measured in (("LUT", W8A8_ATTN_YOSYS[0]), ("DSP", W8A8_ATTN_YOSYS[2])):
        got = sum(est.by_component(res)[c] for c in ("attention", "attention_q8"))
        assert abs(got - measured) <= 0.1 * measured, (res, got, measured)


@pytest.mark.codegen
def test_the_rendered_checks_carry_the_required_flag(tmp_path):
    from edgemoe.codegen import render_hls
    from edgemoe.rtl.render import render_rtl

    for sets, required in ((ONLY, int(Flag.WFMT_Q8)), (ONLY[:2], 0)):
        accel = load_accel("tiny", sets)
        out = tmp_path / str(required)
        render_hls(accel, out / "hls")
        pkg = render_rtl(accel, out / "rtl")[0].read_text()
        assert f"localparam int ATTN_ACT_BUILT = {int(accel.attn_act)};" in pkg
        assert (f"OP_ATTENTION: op_required_flags = 16'd{required};" in pkg) == bool(required)
        assert pkg.count("op_required_flags = 16'd") == 1 + bool(required)  # + the default
        isa_hpp = (out / "hls" / "edgemoe_isa.hpp").read_text()
        table = isa_hpp[isa_hpp.index("OP_REQUIRED_FLAGS["):]
        assert f"0x{required:x},  // ATTENTION" in table[:table.index("};")]
        params = (out / "hls" / "edgemoe_params.hpp").read_text()
        assert f"ATTN_ACT_BUILT = {int(accel.attn_act)}" in params


def test_the_compiler_refuses_act_attention_before_calibrating(tmp_path, monkeypatch, capsys):
    off, model = load_accel("tiny", ONLY), load_model("m3vit-micro")
    with pytest.raises(ValueError, match="builds int8 attention only: add --int8 N --int8-attn"):
        compile_model(model, off, None, heads=False)
    import edgemoe.commands.compile as cmd

    def no_calibration(*a, **k):
        raise AssertionError("calibrated before refusing")

    monkeypatch.setattr(cmd, "_int8_ranges", no_calibration)
    args = ["compile", "--model", "m3vit-micro", "--accel", "tiny", "--int8", "1",
            "--heads", "none", "--out", str(tmp_path)] + [f"--set={s}" for s in ONLY]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "tiny builds int8 attention only: add --int8 N --int8-attn" in err
    # the same with act attention built goes on to the calibration
    assert main(args[:-1] + ["--set=attn_act=true"]) == 3
    assert "calibrated before refusing" in capsys.readouterr().err


@pytest.mark.slow
def test_an_int8_attention_program_compiles_and_runs_on_golden():
    from edgemoe.compiler.attn_q8 import int8_only_ranges
    from edgemoe.compiler.calibrate import int8_layers, linear_input_ranges
    from edgemoe.compiler.io import write_pixels
    from edgemoe.golden import execute
    from edgemoe.models import load_default_image, random_weights

    off, model = load_accel("tiny", ONLY), load_model("m3vit-micro")
    pixels = load_default_image(model)
    # the default program there (testbench vectors, test_csim_models): W8A8, int8 attention
    assert int8_only_ranges(model, load_accel("tiny")) is None
    ranges = int8_only_ranges(model, off)
    assert ranges == linear_input_ranges(model, random_weights(model, 0), [pixels],
                                         int8_layers(model, attn=True))
    c = compile_model(model, off, int8=ranges)
    attn = [ins for ins in c.instrs if ins.op == Op.ATTENTION]
    assert attn and all(ins.has(Flag.WFMT_Q8) for ins in attn)
    img = c.fresh_image()
    write_pixels(img, c.manifest, pixels)
    assert execute(img, off, c.program_offset, c.n_instructions, 0, c.status_offset) == 0


def test_explore_routes_an_int8_only_base_as_every_other():
    """explore's MoE routing (the W16A32 program of the default image) from the int8-only
    edge-moe-zcu102-w8a8 is Edge-MoE's design point's (the formats are the same)."""
    from edgemoe.commands.explore import _routing

    assert _routing("edge-moe-zcu102-w8a8", "m3vit-micro") == \
        _routing("edge-moe-zcu102", "m3vit-micro")
