"""The RTL top as a whole: m3vit-micro against golden, the register interface, bad programs.

Every bad program must end with the same error code, failing index, executed count and
status/profile bytes as the golden executor, within a bounded number of cycles (a run that
does not finish within ``max_cycles`` is reported as timed out, which fails the test).
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import design, executor

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.compiler.taps import read_taps, select_taps, tap_names
from edgemoe.golden import execute, status_words
from edgemoe.isa import ALL_TASKS, Err, Flag, Instr, Op, encode_bytes, pack_ksp
from edgemoe.params import load_model
from edgemoe.rtl import RtlJob
from edgemoe.rtl.regmap import CTRL_BITS

pytestmark = pytest.mark.sim

#: No bad program may take longer than this (the longest valid case here needs ~2k cycles).
BOUND = 50_000


@pytest.mark.slow
def test_m3vit_micro_task0_byte_identical_with_golden():
    """With every tap compiled in: the taps come out of the RTL like any other output."""
    accel = design("tiny")
    model = load_model("m3vit-micro")
    c = compile_model(model, accel, taps=select_taps(["all"], model))
    gold = c.fresh_image()
    assert execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    img = c.fresh_image()
    res = executor("tiny").run_jobs([RtlJob(img, c.program_offset, c.n_instructions, 0,
                                            c.status_offset, max_cycles=1_000_000)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(img, gold, c.manifest, "rtl vs golden")
    taps = read_taps(img, c.manifest, 0)
    assert len(taps) == len(tap_names(model)) - 1  # all but the depth head
    assert all(np.any(v) for v in taps.values())
    prof = img[c.status_offset + 64:][:c.n_instructions * 64].view("<u8").reshape(-1, 8)
    ran = [i for i, ins in enumerate(c.instrs) if ins.runs_for(0)]
    assert all(prof[i, 0] > 0 for i in ran), "every executed instruction records its cycles"
    assert sum(int(prof[i, 0]) for i in ran) < res.cycles


def _bad_cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(21)
    act = accel.formats.act
    ok = ru.add(accel, rng, "tmp", 8)
    a_off = ok.program[0].get("a")
    add = Instr.make(Op.ADD, count=8, a=a_off, b=a_off, dst=a_off + 1024)
    cases = [
        ru.program(accel, "unknown_opcode", [add, Instr(99)]),
        ru.program(accel, "bad_flags", [Instr.make(Op.ADD, Flag.GELU, count=8, a=a_off, b=a_off,
                                                   dst=a_off)]),
        ru.program(accel, "misaligned", [Instr.make(Op.ADD, count=8, a=a_off + 4, b=a_off,
                                                    dst=a_off)]),
        ru.program(accel, "out_of_range", [add, Instr.make(Op.ADD, count=32, a=a_off, b=a_off,
                                                           dst=ru.IMAGE_BYTES - 64)]),
        ru.program(accel, "bad_shape_zero", [Instr.make(Op.LINEAR, tokens=1, out_features=4,
                                                        in_features=0)]),
        ru.program(accel, "bad_shape_tokens", [Instr.make(Op.ATTENTION, tokens=10**6, heads=1,
                                                          head_dim=4)]),
        ru.program(accel, "conv_pad_too_big", [Instr.make(Op.CONV, in_h=4, in_w=4, in_ch=1,
                                                          out_ch=1,
                                                          kernel_stride_pad=pack_ksp(2, 1, 2))]),
        ru.program(accel, "gate_negative_offset",
                   [Instr.make(Op.MOE_GATE, tokens=2, dim=4, experts=2, top_k=1,
                               src=a_off, w_gate=64, queues=a_off, task_stride=-1024)], task=1),
        ru.program(accel, "nop_flags", [Instr(int(Op.NOP), 1)]),
        ru.program(accel, "partial_overlap", [add, Instr.make(Op.ADD, count=32, a=a_off,
                                                              b=a_off + 64, dst=a_off)]),
        ru.program(accel, "in_place_alias", [Instr.make(Op.ADD, count=8, a=a_off, b=a_off,
                                                        dst=a_off)]),
        ru.program(accel, "task_masked", [Instr(int(Op.NOP), 0, 0b10), add,
                                          Instr(200, 0, 0b10)], task=0),
    ]
    # data-dependent faults (BAD_QUEUE): nothing of the faulting instruction is written
    lin = ru.linear(accel, rng, "dyn_count_too_big", 4, 4, 4, Flag.DYN_COUNT)
    cnt_off = lin.program[0].get("count")
    lin.scratch.image[cnt_off:cnt_off + 4] = np.frombuffer(np.uint32(5).tobytes(), np.uint8)
    cases.append(lin)
    lin = ru.linear(accel, rng, "gather_index_out_of_rows", 4, 4, 4, Flag.GATHER, rows=6)
    idx_off = lin.program[0].get("index")
    lin.scratch.image[idx_off + 8:idx_off + 12] = np.frombuffer(np.int32(6).tobytes(), np.uint8)
    cases.append(lin)
    lin = ru.linear(accel, rng, "scatter_negative_index", 4, 4, 4, Flag.SCATTER, rows=6)
    idx_off = lin.program[0].get("index")
    lin.scratch.image[idx_off:idx_off + 4] = np.frombuffer(np.int32(-1).tobytes(), np.uint8)
    cases.append(lin)
    for name, fix in (("moe_count_too_big", "count"), ("moe_repeated_token", "repeat")):
        m = ru.moe(accel, rng, name, 6, 8, 2, 4, 1)
        experts = m.program[1]
        q = experts.get("queues")
        # keep only the MOE_EXPERTS instruction over a hand-written queue region
        m.program = [experts]
        slot = 64
        img = m.scratch.image
        if fix == "count":
            img[q:q + 8] = np.frombuffer(np.array([7, 0], np.uint32).tobytes(), np.uint8)
        else:
            img[q:q + 8] = np.frombuffer(np.array([3, 1], np.uint32).tobytes(), np.uint8)
            img[q + 64:q + 76] = np.frombuffer(np.array([0, 2, 0], np.int32).tobytes(), np.uint8)
            img[q + 64 + slot:q + 68 + slot] = np.frombuffer(np.int32(4).tobytes(), np.uint8)
        cases.append(m)
    # the scale register of an attention program saturates nothing: act is WRAP
    cases.append(ru.attention(accel, rng, "attention_after_errors", 4, 1, 4,
                              scale=int(act.quantize(0.5))))
    return cases


@pytest.fixture(scope="module")
def bad_outcomes():
    accel = design("tiny")
    return ru.run_cases(executor("tiny"), _bad_cases(accel), max_cycles=BOUND)


BAD_NAMES = [c.name for c in _bad_cases(design("tiny"))]
EXPECTED = {"unknown_opcode": Err.BAD_OPCODE, "bad_flags": Err.BAD_FLAGS,
            "misaligned": Err.MISALIGNED, "out_of_range": Err.OUT_OF_RANGE,
            "bad_shape_zero": Err.BAD_SHAPE, "bad_shape_tokens": Err.BAD_SHAPE,
            "conv_pad_too_big": Err.BAD_SHAPE, "gate_negative_offset": Err.OUT_OF_RANGE,
            "nop_flags": Err.BAD_FLAGS, "task_masked": Err.OK,
            "partial_overlap": Err.OVERLAP, "in_place_alias": Err.OK,
            "dyn_count_too_big": Err.BAD_QUEUE, "gather_index_out_of_rows": Err.BAD_QUEUE,
            "scatter_negative_index": Err.BAD_QUEUE, "moe_count_too_big": Err.BAD_QUEUE,
            "moe_repeated_token": Err.BAD_QUEUE, "attention_after_errors": Err.OK}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_program_matches_golden(bad_outcomes, name):
    out = bad_outcomes[name]
    assert out.golden_error == EXPECTED[name], "the case must exercise the intended check"
    assert not out.timed_out, f"{name} did not end within {BOUND} cycles"
    assert out.problems() == []
    st = status_words(out.rtl, 0)
    assert st["error"] == out.rtl_error
    assert st["config_id"] == design("tiny").config_id_int


def test_task_mask_writes_zero_profile(bad_outcomes):
    prof = bad_outcomes["task_masked"].rtl[64:64 + 3 * 64].view("<u8").reshape(3, 8)
    assert not prof[0].any() and not prof[2].any(), "masked instructions: all-zero entries"
    assert prof[1, 0] > 0 and prof[1, 2] > 0, "the ADD ran: cycles and bytes read recorded"


def _raw_job(accel, image, program_offset, n, task, status_offset):
    gold = image.copy()
    err = execute(gold, accel, program_offset, n, task, status_offset)
    return RtlJob(image, program_offset, n, task, status_offset, max_cycles=BOUND), gold, err


def test_bad_program_placement_and_registers():
    """BAD_PROGRAM cases (no status block / bad program / bad task) and the CTRL bits."""
    accel = design("tiny")
    size = 1 << 14
    prog = encode_bytes([Instr.make(Op.NOP), Instr.make(Op.NOP)])
    cases = []
    for po, n, task, so in ((1024, 2, 0, 0),       # fine: two NOPs
                            (1028, 2, 0, 0),       # misaligned program
                            (size - 64, 2, 0, 0),  # program past the end
                            (1024, 2, 8, 0),       # task out of range
                            (1024, 2, 0, 100),     # misaligned status block: nothing written
                            (1024, 2, 0, size - 128)):  # profile past the end: nothing written
        img = np.zeros(size, np.uint8)
        img[1024:1024 + len(prog)] = np.frombuffer(prog, np.uint8)
        img[size - 128:] = 0xAB
        img[100:116] = 0xCD
        cases.append(_raw_job(accel, img, po, n, task, so))
    results = executor("tiny").run_jobs([c[0] for c in cases])
    want = [Err.OK, Err.BAD_PROGRAM, Err.BAD_PROGRAM, Err.BAD_PROGRAM, Err.BAD_PROGRAM,
            Err.BAD_PROGRAM]
    for (job, gold, err), res, w in zip(cases, results, want):
        assert err == w and res.error == w and not res.timed_out
        manifest = {"program": {"n_instructions": job.n_instructions},
                    "status": {"offset": job.status_offset}, "regions": {"image": [0, size]}}
        assert_images_equal(job.image, gold, manifest)
        assert res.config_id == accel.config_id_int
        assert res.ctrl >> CTRL_BITS["AP_DONE"] & 1, "ap_done is set when the run ends"
        assert res.ctrl >> CTRL_BITS["AP_IDLE"] & 1, "the unit is idle after the run"
        assert not res.ctrl >> CTRL_BITS["AP_START"] & 1, "ap_start clears itself"


def _garbage_program(rng, accel, size: int, n: int) -> list[Instr]:
    """Random instructions: mostly invalid, some valid and small (bounded work)."""
    ops = list(Op) + [99, 17, 255]  # and unknown opcodes
    small = [0, 1, 2, 3, 5, 8, 16, 33, 70_000, 2**31]
    out = []
    for _ in range(n):
        op = int(rng.choice(ops))
        flags = int(rng.choice([0, 0, 0, 1 << int(rng.integers(0, 12)), int(rng.integers(0, 1 << 16))]))
        dims = tuple(int(rng.choice(small)) for _ in range(5))
        if op == Op.CONV:
            dims = dims[:4] + (pack_ksp(int(rng.integers(0, 4)), int(rng.integers(0, 3)),
                                        int(rng.integers(0, 3))),)
        addrs = tuple(int(rng.choice([64 * int(rng.integers(40, size // 64)), 3, size, 0]))
                      for _ in range(9))
        out.append(Instr(op, flags, int(rng.choice([ALL_TASKS, 1, 2])), dims, addrs,
                         int(rng.integers(-(2**31), 2**31))))
    return out


def test_random_programs_end_like_golden():
    """Seeded garbage programs: same bytes and error as golden, each within BOUND cycles."""
    accel = design("tiny")
    rng = np.random.default_rng(5)
    size = 1 << 14
    cases = []
    for _ in range(24):
        img = rng.integers(0, 256, size).astype(np.uint8)
        img[:64 + 16 * 64] = 0
        prog = encode_bytes(_garbage_program(rng, accel, size, 6))
        img[2048:2048 + len(prog)] = np.frombuffer(prog, np.uint8)
        cases.append(_raw_job(accel, img, 2048, 6, int(rng.integers(0, 2)), 0))
    results = executor("tiny").run_jobs([c[0] for c in cases])
    assert len(results) == len(cases), "a program hung (the batch stops at a timeout)"
    manifest = {"program": {"n_instructions": 6}, "status": {"offset": 0},
                "regions": {"image": [0, size]}}
    for i, ((job, gold, err), res) in enumerate(zip(cases, results)):
        assert not res.timed_out, f"program {i} did not end within {BOUND} cycles"
        assert res.error == err, f"program {i}"
        assert_images_equal(job.image, gold, manifest, f"program {i}")
    assert len({c[2] for c in cases}) >= 3, "the fuzz hits several error codes"


def test_op_not_built():
    accel = design("p8")
    assert "upsample" not in accel.ops
    case = ru.program(accel, "upsample_missing",
                      [Instr.make(Op.UPSAMPLE, in_h=1, in_w=1, channels=1, src=4096, dst=8192)])
    out = ru.run_cases(executor("p8"), [case], max_cycles=BOUND)["upsample_missing"]
    assert out.golden_error == Err.OP_NOT_BUILT
    assert out.problems() == []


def test_attn_topk_not_built():
    """p8 leaves top-k attention out (attn_topk false): RTL refuses the flag as golden does."""
    accel = design("p8")
    assert not accel.attn_topk and design("tiny").attn_topk
    case = ru.program(accel, "topk_missing", [Instr.make(
        Op.ATTENTION, Flag.ATTN_TOPK, tokens=4, heads=1, head_dim=4, qkv=4096, dst=8192,
        scale=1, codebook_size=2, top_k=2, codebook=12288, codes=16384, picks=20480)])
    out = ru.run_cases(executor("p8"), [case], max_cycles=BOUND)["topk_missing"]
    assert out.golden_error == Err.BAD_FLAGS
    assert out.problems() == []


def test_execute_has_the_golden_contract():
    """RtlsimExecutor.execute(image, ...) -> err, image modified in place, like golden."""
    accel = design("tiny")
    case = ru.add(accel, np.random.default_rng(8), "add", 19)
    s = case.scratch
    code = encode_bytes(case.program)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold = s.image.copy()
    assert execute(gold, accel, s.program, 1, 0, 0) == 0
    assert executor("tiny").execute(s.image, s.program, 1, task=0, status_offset=0) == 0
    manifest = {"program": {"n_instructions": 1}, "status": {"offset": 0},
                "regions": {"image": [0, s.image.size]}}
    assert_images_equal(s.image, gold, manifest)
