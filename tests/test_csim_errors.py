"""Invalid programs: the C-sim top returns the same error status as the golden executor,
stops at the same instruction and leaves the same bytes behind."""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compare import assert_images_equal
from edgemoe.golden import execute, status_words
from edgemoe.isa import ALL_TASKS, INSTR_BYTES, OP_FIELDS, OP_FLAGS, Err, Flag, Instr, Op, encode
from edgemoe.layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

SLOT = 1 << 14  # every address field points into its own 16 KiB slot: operands never overlap
PROGRAM_AT = 64 * 1024


@pytest.fixture(scope="module")
def tiny():
    from edgemoe.flow.csim import CsimExecutor

    accel = load_accel("tiny")
    return accel, CsimExecutor(accel)


def _image(instrs: list[Instr], seed: int, slots: int = 9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, PROGRAM_AT + 64 * 1024 + slots * SLOT, dtype=np.uint8)
    words = encode(instrs).astype("<u4").view(np.uint8).reshape(-1)
    image[PROGRAM_AT:PROGRAM_AT + words.size] = words
    return image


def _compare(design, image: np.ndarray, n: int, task: int = 0, program_offset: int = PROGRAM_AT,
             status_offset: int = 0) -> tuple[int, np.ndarray]:
    accel, csim = design
    gold, sim = image.copy(), image.copy()
    err_g = execute(gold, accel, program_offset, n, task, status_offset)
    err_c = csim.execute(sim, program_offset, n, task, status_offset)
    assert err_c == err_g, f"C-sim returned {err_c}, golden {err_g}"
    manifest = {"program": {"n_instructions": n if 0 <= status_offset < image.size else 0},
                "status": {"offset": max(status_offset, 0)},
                "regions": {"all": [0, image.size]}}
    assert_images_equal(gold, sim, manifest, "golden vs C-sim")
    return err_g, gold


def _addr(slot: int, extra: int = 0) -> int:
    return PROGRAM_AT + 64 * 1024 + slot * SLOT + extra


def _valid_add(count: int = 16) -> Instr:
    return Instr.make(Op.ADD, count=count, a=_addr(0), b=_addr(1), dst=_addr(2))


BAD_INSTRUCTIONS = [
    (Instr(200), Err.BAD_OPCODE),
    (Instr(Op.NOP, flags=int(Flag.GELU)), Err.BAD_FLAGS),
    (Instr.make(Op.LINEAR, Flag.PIXEL_INPUT, tokens=1, out_features=4, in_features=4,
                src=_addr(0), dst=_addr(1), weights=_addr(2), bias=_addr(3)), Err.BAD_FLAGS),
    (Instr.make(Op.ADD, count=16, a=_addr(0, 4), b=_addr(1), dst=_addr(2)), Err.MISALIGNED),
    (Instr.make(Op.ADD, count=16, a=_addr(0), b=_addr(1), dst=_addr(40)), Err.OUT_OF_RANGE),
    (Instr.make(Op.ADD, count=0, a=_addr(0), b=_addr(1), dst=_addr(2)), Err.BAD_SHAPE),
    (Instr.make(Op.LINEAR, tokens=2, out_features=4, in_features=1024, src=_addr(0),
                dst=_addr(1), weights=_addr(2), bias=_addr(3)), Err.BAD_SHAPE),
    (Instr.make(Op.ATTENTION, tokens=17, heads=1, head_dim=4, qkv=_addr(0), dst=_addr(1)),
     Err.BAD_SHAPE),
    (Instr.make(Op.MOE_GATE, tokens=4, dim=8, experts=4, top_k=3, src=_addr(0),
                w_gate=_addr(1), queues=_addr(2)), Err.BAD_SHAPE),
    (Instr.make(Op.CONV, in_h=4, in_w=4, in_ch=1, out_ch=2, kernel_stride_pad=3 | 1 << 8 | 3 << 16,
                src=_addr(0), dst=_addr(1), weights=_addr(2), bias=_addr(3)), Err.BAD_SHAPE),
    (Instr.make(Op.CONV, in_h=2, in_w=2, in_ch=1, out_ch=2, kernel_stride_pad=3 | 2 << 8,
                src=_addr(0), dst=_addr(1), weights=_addr(2), bias=_addr(3)), Err.BAD_SHAPE),
    (Instr.make(Op.MOE_GATE, tokens=4, dim=8, experts=4, top_k=2, src=_addr(0),
                w_gate=_addr(1), queues=_addr(2), task_stride=-(1 << 30)), Err.OUT_OF_RANGE),
    (Instr.make(Op.LINEAR, Flag.RESIDUAL, tokens=2, out_features=16, in_features=4,
                src=_addr(0), dst=_addr(1, 64), weights=_addr(2), bias=_addr(3),
                residual=_addr(1)), Err.OVERLAP),
    (Instr.make(Op.ADD, count=64, a=_addr(0), b=_addr(0, 64), dst=_addr(0)), Err.OVERLAP),
]


@pytest.mark.parametrize("bad,code", BAD_INSTRUCTIONS, ids=lambda v: getattr(v, "name", None))
def test_invalid_instruction_stops_the_run(tiny, bad, code):
    """Two valid instructions, then the bad one at index 2, then one more valid one."""
    instrs = [_valid_add(), _valid_add(8), bad, _valid_add(4)]
    err, gold = _compare(tiny, _image(instrs, seed=int(code)), len(instrs), task=1)
    assert err == code
    st = status_words(gold, 0)
    assert (st["error"], st["index"], st["executed"], st["config_id"]) == \
        (int(code), 2, 2, tiny[0].config_id_int)


def test_task_mask_skips_instructions(tiny):
    """An instruction masked off for the task neither runs nor is checked; its profile is 0."""
    bad = Instr(200, task_mask=0b10)
    instrs = [Instr.make(Op.ADD, task_mask=0b01, count=16, a=_addr(0), b=_addr(1), dst=_addr(2)),
              bad, _valid_add()]
    err, gold = _compare(tiny, _image(instrs, seed=3), 3, task=0)
    assert err == Err.OK
    prof = gold[STATUS_BYTES + PROFILE_ENTRY_BYTES:STATUS_BYTES + 2 * PROFILE_ENTRY_BYTES]
    assert not prof.any()
    err, _ = _compare(tiny, _image(instrs, seed=3), 3, task=1)
    assert err == Err.BAD_OPCODE


@pytest.mark.parametrize("program_offset,task,status_offset", [
    (PROGRAM_AT + 4, 0, 0), (PROGRAM_AT, 8, 0), (10**9, 0, 0), (PROGRAM_AT, 0, 32),
    (PROGRAM_AT, 0, 10**9)])
def test_bad_program_arguments(tiny, program_offset, task, status_offset):
    instrs = [_valid_add()]
    image = _image(instrs, seed=5)
    err, gold = _compare(tiny, image, 1, task, program_offset, status_offset)
    assert err == Err.BAD_PROGRAM
    if status_offset % 64 or status_offset > image.size:
        assert np.array_equal(gold, image)  # no status block to write: nothing is written


def _random_instr(rng) -> Instr:
    op = int(rng.choice([*range(len(Op))] * 4 + [99, 77, 255]))  # and unknown opcodes
    if op < len(Op):
        allowed = int(OP_FLAGS[Op(op)])
        flags = allowed & int(rng.integers(0, 1 << 16)) if rng.random() < 0.9 else \
            int(rng.integers(0, 1 << 16))
    else:
        flags = 0
    dims = [int(rng.integers(0, 13)) if rng.random() < 0.95 else int(rng.integers(0, 1 << 32))
            for _ in range(5)]
    if op == Op.CONV:
        dims[4] = int(rng.integers(0, 5)) | int(rng.integers(0, 4)) << 8 | int(rng.integers(0, 4)) << 16
        if flags & Flag.WFMT_Q8 and rng.random() < 0.8:  # mostly a W8A8 conv the spec allows
            flags &= ~int(Flag.PIXEL_INPUT | Flag.WFMT_CONV | Flag.WFMT_PATCH)
            dims[4] |= int(rng.integers(0, 26)) << 24  # its dq_shift, sometimes past the limit
    if op == Op.POOL:  # small windows, a mode mostly in range
        dims[3] = int(rng.integers(0, 5)) | int(rng.integers(0, 4)) << 8
        dims[4] = int(rng.integers(0, 4))
    if op == Op.ATTENTION:
        dims[1], dims[2] = int(rng.integers(0, 3)), int(rng.integers(0, 17))
    addrs = []
    for slot in range(9):
        r = rng.random()
        extra = 64 * int(rng.integers(0, 8))
        if r < 0.03:
            extra += 4 * int(rng.integers(1, 16))  # misaligned
        elif r < 0.05:
            extra += 1 << 22  # beyond the image
        addrs.append(_addr(slot, extra))
    imm = int(rng.integers(-(1 << 31), 1 << 31)) if rng.random() < 0.5 else int(rng.integers(0, 1 << 22))
    mask = ALL_TASKS if rng.random() < 0.8 else int(rng.integers(0, 256))
    return Instr(op, flags, mask, tuple(dims), tuple(addrs), imm)


@pytest.mark.parametrize("seed", range(6))
def test_random_programs(tiny, seed):
    """Random instruction words over random memory: same status, same bytes."""
    rng = np.random.default_rng(1000 + seed)
    codes = set()
    for k in range(40):
        instrs = [_random_instr(rng) for _ in range(int(rng.integers(1, 5)))]
        err, _ = _compare(tiny, _image(instrs, seed=seed * 100 + k), len(instrs),
                          task=int(rng.integers(0, 8)))
        codes.add(err)
    assert len(codes) >= 3  # the programs reach several different outcomes


def test_every_named_field_is_a_real_word():
    """The field table the C++ is rendered from covers exactly edgemoe.isa.OP_FIELDS."""
    from edgemoe.codegen.context import hls_context

    ctx = hls_context(load_accel("tiny"))
    names = {f["name"] for f in ctx["isa"]["fields"]}
    expected = {f"FLD_{op.name}_{k.upper()}" for op, fields in OP_FIELDS.items() for k in fields}
    assert names == expected
    assert all(1 <= f["word"] < INSTR_BYTES // 4 for f in ctx["isa"]["fields"])


def test_image_size_not_a_multiple_of_the_bus_width(tiny):
    """The last operand ends exactly at an image end that is not on an AXI beat boundary."""
    base = _image([], seed=9, slots=0)
    image = np.concatenate([base, np.random.default_rng(1).integers(0, 256, 84, np.uint8)])
    dst = image.size - 20  # 64-byte aligned; 5 activations reach the last byte
    instrs = [Instr.make(Op.ADD, count=5, a=_addr(0, -128), b=_addr(0, -64), dst=dst)]
    words = encode(instrs).astype("<u4").view(np.uint8).reshape(-1)
    image[PROGRAM_AT:PROGRAM_AT + words.size] = words
    err, gold = _compare(tiny, image, 1)
    assert err == Err.OK and image.size % 16 and not np.array_equal(gold[dst:], image[dst:])
    image[PROGRAM_AT:PROGRAM_AT + words.size] = encode(
        [Instr.make(Op.ADD, count=6, a=_addr(0, -128), b=_addr(0, -64), dst=dst)]
    ).astype("<u4").view(np.uint8).reshape(-1)
    err, _ = _compare(tiny, image, 1)
    assert err == Err.OUT_OF_RANGE


def test_executor_arguments(tiny):
    accel, csim = tiny
    image = _image([_valid_add()], seed=2)
    with pytest.raises(TypeError, match="uint8"):
        csim.execute(image.view(np.int32), PROGRAM_AT, 1)
    assert csim.execute(image.copy(), PROGRAM_AT, 1, 0, -64) == \
        execute(image.copy(), accel, PROGRAM_AT, 1, 0, -64) == Err.BAD_PROGRAM
    err, _ = _compare(tiny, image, 1, task=0, program_offset=PROGRAM_AT)
    assert err == Err.OK


def _collide(rng, ins: Instr) -> Instr:
    """Point some address fields at (or 64-byte steps around) another field's operand."""
    addrs = list(ins.addrs)
    for _ in range(int(rng.integers(1, 3))):
        src, dst = (int(i) for i in rng.choice(len(addrs), 2, replace=False))
        addrs[dst] = max(0, addrs[src] + 64 * int(rng.choice([0, 0, -1, 1, 2])))
    return Instr(ins.op, ins.flags, ins.task_mask, ins.dims, tuple(addrs), ins.imm)


def test_random_programs_with_overlapping_operands(tiny):
    """Random instructions whose operands share or straddle bytes: golden and C-sim agree on
    OVERLAP (partial overlaps) and on running the exact aliases the op spec allows."""
    rng = np.random.default_rng(2000)
    codes = set()
    for k in range(120):
        instrs = [_collide(rng, _random_instr(rng)) for _ in range(int(rng.integers(1, 4)))]
        err, _ = _compare(tiny, _image(instrs, seed=k), len(instrs),
                          task=int(rng.integers(0, 8)))
        codes.add(err)
    assert Err.OVERLAP in codes and Err.OK in codes
