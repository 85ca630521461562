"""Multi-task reuse: the program's shared prefix runs once per image.

Every instruction before the first task-dependent one (patch embed, block 0, block 1 up
to its router) computes the same bytes for every task, so the host starts the second
task of an image there.  The oracle is running each task alone from the start.
"""

from __future__ import annotations

import numpy as np
import pytest
from rtldesigns import executor

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.compiler.builder import ProgramBuilder, Ref
from edgemoe.compiler.io import write_pixels
from edgemoe.compiler.taps import select_taps
from edgemoe.golden import execute
from edgemoe.host import Accelerator
from edgemoe.isa import INSTR_BYTES, Flag, Op
from edgemoe.models import load_default_image
from edgemoe.rtl import RtlJob

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def compiled(micro, tiny):
    return compile_model(micro, tiny, seed=5, taps=select_taps(["all"], micro))


def _alone(c, accel, pixels, task: int) -> np.ndarray:
    image = c.fresh_image()
    write_pixels(image, c.manifest, pixels)
    assert execute(image, accel, c.program_offset, c.n_instructions, task, c.status_offset) == 0
    return image


def test_prefix_ends_at_the_first_router(compiled, micro):
    k = compiled.shared_prefix
    first_moe = micro.moe_blocks[0]
    assert compiled.manifest["program"]["names"][k].startswith(f"tap.blocks.{first_moe}.")
    assert all(ins.task_mask == 0xFF and ins.op != Op.MOE_GATE for ins in compiled.instrs[:k])
    gates = [i for i, ins in enumerate(compiled.instrs) if ins.op == Op.MOE_GATE]
    assert k < gates[0] and all(compiled.instrs[i].task_mask != 0xFF for i in range(k, gates[0]))


def test_resumed_task_is_byte_identical_to_running_it_alone(compiled, micro, tiny):
    """Task 0 from the start, then task 1 from the shared prefix on the same memory: the
    outputs, taps and every arena byte task 1 reads equal task 1 run alone."""
    pixels = load_default_image(micro)
    image = _alone(compiled, tiny, pixels, 0)
    k = compiled.shared_prefix
    assert execute(image, tiny, compiled.program_offset + k * INSTR_BYTES,
                   compiled.n_instructions - k, 1, compiled.status_offset) == 0
    alone = _alone(compiled, tiny, pixels, 1)
    for name, spec in compiled.manifest["outputs"].items():
        if spec["task_index"] == 1:
            n = int(np.prod(spec["shape"])) * 4
            assert np.array_equal(image[spec["offset"]:spec["offset"] + n],
                                  alone[spec["offset"]:spec["offset"] + n]), name
    for name, spec in compiled.manifest["taps"]["tensors"].items():
        if spec["task_mask"] >> 1 & 1:
            n = int(np.prod(spec["shape"])) * 4
            assert np.array_equal(image[spec["offset"]:spec["offset"] + n],
                                  alone[spec["offset"]:spec["offset"] + n]), name


def test_host_runs_the_prefix_once_with_the_same_results(compiled, micro):
    pixels = load_default_image(micro)
    with Accelerator(compiled) as reuse, Accelerator(compiled, reuse_prefix=False) as plain:
        a, b = reuse.run(pixels, task="all")[0], plain.run(pixels, task="all")[0]
        # every byte but the status block (its profile entries start at the prefix)
        end = sum(compiled.manifest["regions"]["status"])
        assert np.array_equal(reuse.backend.memory[end:], plain.backend.memory[end:])
    k, n = compiled.shared_prefix, compiled.n_instructions
    for task in ("seg", "depth"):
        assert np.array_equal(a[task], b[task]) and a.taps[task].keys() == b.taps[task].keys()
        assert all(np.array_equal(a.taps[task][t], b.taps[task][t]) for t in a.taps[task])
    # seg ran everything; depth only the instructions from the prefix on
    assert [e.index for e in a.profiles["seg"].entries] == \
        [e.index for e in b.profiles["seg"].entries]
    skipped = [e for e in b.profiles["depth"].entries if e.index < k]
    assert skipped and all(e.index >= k for e in a.profiles["depth"].entries)
    assert [e for e in a.profiles["depth"].entries] == \
        [e for e in b.profiles["depth"].entries if e.index >= k]
    saved = sum(e.cycles for e in skipped)
    both = {name: sum(p.totals()["cycles"] for p in r.profiles.values()) for name, r in
            (("reuse", a), ("plain", b))}
    assert both["plain"] - both["reuse"] == saved > 0
    assert 0 < k < n


def test_a_single_task_program_has_no_shared_prefix(tiny):
    """finalize(share_prefix=False) records 0 (the m3vit lowering passes False for one task)."""
    b = ProgramBuilder()
    t = b.tensor("t", 256)
    b.emit(Op.ADD, Flag.COPY, count=8, a=Ref("inputs"), dst=Ref(t))
    b.emit(Op.ADD, Flag.COPY, task_mask=1, count=8, a=Ref(t), dst=Ref("outputs"))
    b.reserve("inputs", 64)
    b.reserve("outputs", 64)
    assert b.finalize().shared_prefix == 0


def test_a_write_into_a_handed_on_tensor_is_refused():
    """The prefix's result may not be overwritten after it: a resumed task would read the
    previous task's bytes."""
    b = ProgramBuilder()
    b.reserve("inputs", 64)
    b.reserve("outputs", 128)
    t = b.tensor("x", 64)
    b.emit(Op.ADD, Flag.COPY, count=8, a=Ref("inputs"), dst=Ref(t))
    b.emit(Op.ADD, task_mask=1, count=8, a=Ref(t), b=Ref(t), dst=Ref("outputs"))
    b.emit(Op.ADD, Flag.COPY, task_mask=2, count=8, a=Ref("inputs"), dst=Ref(t))
    with pytest.raises(ValueError, match="writes x, which the shared prefix hands on"):
        b.finalize(share_prefix=True)


def test_handed_on_tensors_keep_their_bytes_to_the_end():
    """A tensor read after the prefix is not shared with a tensor born later."""
    b = ProgramBuilder()
    b.reserve("inputs", 64)
    b.reserve("outputs", 64)
    x = b.tensor("x", 64)
    b.emit(Op.ADD, Flag.COPY, count=8, a=Ref("inputs"), dst=Ref(x))
    b.emit(Op.ADD, Flag.COPY, task_mask=1, count=8, a=Ref(x), dst=Ref("outputs"))
    late = b.tensor("late", 64)
    b.emit(Op.ADD, Flag.COPY, task_mask=2, count=8, a=Ref("inputs"), dst=Ref(late))
    shared = b.finalize(share_prefix=True)
    plain_b = ProgramBuilder()
    plain_b.reserve("inputs", 64)
    plain_b.reserve("outputs", 64)
    x2, late2 = plain_b.tensor("x", 64), plain_b.tensor("late", 64)
    plain_b.emit(Op.ADD, Flag.COPY, count=8, a=Ref("inputs"), dst=Ref(x2))
    plain_b.emit(Op.ADD, Flag.COPY, task_mask=1, count=8, a=Ref(x2), dst=Ref("outputs"))
    plain_b.emit(Op.ADD, Flag.COPY, task_mask=2, count=8, a=Ref("inputs"), dst=Ref(late2))
    plain = plain_b.finalize()
    assert shared.shared_prefix == 1
    assert shared.tensors["x"][0] != shared.tensors["late"][0]
    assert plain.tensors["x"][0] == plain.tensors["late"][0]  # reused without the prefix


@pytest.mark.sim
def test_rtl_resumes_after_the_prefix_like_golden(compiled, micro, tiny):
    """The RTL runs task 1 from the shared prefix on the memory task 0 left (here made by
    golden) and ends byte identical with golden doing the same."""
    pixels = load_default_image(micro)
    start = _alone(compiled, tiny, pixels, 0)
    k, n = compiled.shared_prefix, compiled.n_instructions
    offset = compiled.program_offset + k * INSTR_BYTES
    gold = start.copy()
    assert execute(gold, tiny, offset, n - k, 1, compiled.status_offset) == 0
    img = start.copy()
    res = executor("tiny").run_jobs([RtlJob(img, offset, n - k, 1, compiled.status_offset,
                                            max_cycles=1_000_000)])[0]
    assert not res.timed_out and res.error == 0
    manifest = dict(compiled.manifest, program={"offset": offset, "n_instructions": n - k})
    assert_images_equal(img, gold, manifest, "rtl vs golden, resumed task 1")
    alone = _alone(compiled, tiny, pixels, 1)
    out = compiled.manifest["outputs"]["depth"]
    size = int(np.prod(out["shape"])) * 4
    assert np.array_equal(img[out["offset"]:out["offset"] + size],
                          alone[out["offset"]:out["offset"] + size])
