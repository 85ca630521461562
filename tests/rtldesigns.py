"""Design points and executors shared by the RTL tests (imported by the test modules).

Three builds cover every bench: ``tiny`` (attention p=2), ``alt`` (p=4 with an 8x2 linear
tile, 4 vector lanes and head rows up to 40 elements: the engines' second parallelism
setting, and int8 attention rows of several code words) and ``p8`` (p=8, UPSAMPLE, top-k
and int8 attention left out so OP_NOT_BUILT and unbuilt flags can be exercised).
All three have 128-bit AXI, so the attention monitor test compares p alone.  ``narrow`` is
``tiny`` with 16-bit activations; ``wide`` is ``tiny`` with an 8x8 linear tile (a two-step
linear epilogue); ``wide_epi8`` and ``tiny_epi1`` set the epilogue's lanes (one step, four
steps); ``slots2`` and ``slots4`` are ``tiny`` at 300 MHz (the board's read latency then
64 cycles, as on edge-moe-zcu102-w8a8) with the CONV line buffer and 2 or 4 linear row
slots (``linear_row_slots``); ``attn8only`` builds the int8 attention alone (attn_act:
false) on 3 lanes.  Verilator models are
cached under build/rtlsim by source hash, so only the first run pays for the builds.
"""

from __future__ import annotations

import functools

import rtlutil

from edgemoe.params import load_accel
from edgemoe.rtl import RtlsimExecutor

ALT = ("attn_lanes=4", "linear_p_in=8", "linear_p_out=2", "vector_lanes=4",
       "buffers.max_head_dim=40")
P8 = ("attn_lanes=8", "ops=[linear, layernorm, attention, moe_gate, moe_experts, conv, add]",
      "attn_topk=false", "attn_q8=false")
NARROW = ("formats.act=ap_fixed<16,6>",)  # 2-byte activations: other element packing
# an 8x8 tile: the linear epilogue serves 4 of the 8 output lanes per cycle (2 steps)
WIDE = ("linear_p_in=8", "linear_p_out=8")
# the epilogue's lanes set by the design point (linear_epilogue_lanes): ``wide`` with all 8
# lanes (one step, default 4 lanes), ``tiny`` with one lane (4 steps, default 4 lanes)
WIDE_EPI8 = (*WIDE, "linear_epilogue_lanes=8")
TINY_EPI1 = ("linear_epilogue_lanes=1",)
# 64 cycles of read latency (rows wait on it) and the CONV line buffer; 2 or 4 row slots
SLOTS2 = ("clock_mhz=300", "buffers.conv_line_words=2048")
SLOTS4 = (*SLOTS2, "linear_row_slots=4")
# int8 attention only (attn_act: false; top-k, an act mode, left out too): three lanes, so
# blocks of odd token counts end part-full
ATTN8ONLY = ("attn_lanes=3", "attn_topk=false", "attn_act=false")
DESIGNS = {"tiny": (), "alt": ALT, "p8": P8, "narrow": NARROW, "wide": WIDE,
           "wide_epi8": WIDE_EPI8, "tiny_epi1": TINY_EPI1, "slots2": SLOTS2,
           "slots4": SLOTS4, "attn8only": ATTN8ONLY}
#: The two parallelism settings each engine suite runs its cases on.
SETTINGS = ("tiny", "alt")


def design(name: str):
    """The AccelConfig of a named test design."""
    return load_accel("tiny", DESIGNS[name])


@functools.cache
def executor(name: str):
    """A shared RtlsimExecutor per test design (built once, cached across runs)."""
    return RtlsimExecutor(design(name))


@functools.cache
def board_executor(name: str):
    """A shared RtlsimExecutor per test design whose AXI RAM has the board's port rate and
    read latency, and that memory timing (what edgemoe.perf models)."""
    from edgemoe.perf.memory import memory_timing

    mem = memory_timing(design(name))
    return RtlsimExecutor(design(name), memory=mem.bench_spec()), mem


def outcomes_per_setting(cases) -> dict:
    """``cases(accel)`` run on the RTL of each of :data:`SETTINGS`: setting -> name -> outcome."""
    return {s: rtlutil.run_cases(executor(s), cases(design(s))) for s in SETTINGS}


def assert_program_rtl_equals_golden(compiled, pixels, task: int, label: str,
                                     max_cycles: int, name: str = "tiny") -> None:
    """Run ``compiled`` on ``pixels`` for ``task`` on golden and on design ``name``'s RTL:
    the whole images are equal, and the program wrote something."""
    import numpy as np

    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler.io import write_pixels
    from edgemoe.golden import execute
    from edgemoe.rtl import RtlJob

    c = compiled
    gold, img = c.fresh_image(), c.fresh_image()
    for image in (gold, img):
        write_pixels(image, c.manifest, pixels)
    args = (c.program_offset, c.n_instructions, task, c.status_offset)
    assert execute(gold, design(name), *args) == 0
    res = executor(name).run_jobs([RtlJob(img, *args, max_cycles=max_cycles)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(img, gold, c.manifest, label)
    assert np.any(img != c.fresh_image())
