"""Multi-task reuse: both tasks of an image with the shared prefix run once, vs twice.

The program's shared prefix (patch embed, block 0, block 1 up to its router) is the same
for every task; the host runs it for the first task only and starts the others after it.
Cycles are the golden cycle model's (modelled, compute only), summed over the
instructions each run executes; the outputs of the reusing runs are checked byte for
byte against each task run alone.
"""

from __future__ import annotations

import numpy as np

from ..compiler import compile_model
from ..compiler.io import write_pixels
from ..golden import execute
from ..isa import INSTR_BYTES
from ..layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
from ..models import load_default_image
from ..params import load_accel, load_model


def _cycles(image: np.ndarray, c, n: int) -> int:
    prof = image[c.status_offset + STATUS_BYTES:][:n * PROFILE_ENTRY_BYTES]
    return int(prof.view("<u8").reshape(-1, 8)[:, 0].sum())


def _ran(c, task: int, first: int = 0) -> int:
    return sum(ins.runs_for(task) for ins in c.instrs[first:])


def run(quick: bool = False) -> list[tuple[str, str]]:
    model_name, accel_name = ("m3vit-micro", "tiny") if quick else ("m3vit-tiny",
                                                                  "edge-moe-zcu102")
    model, accel = load_model(model_name), load_accel(accel_name)
    c = compile_model(model, accel)
    pixels = load_default_image(model)
    k, n = c.shared_prefix, c.n_instructions
    alone, cycles = [], []
    for task in range(len(model.tasks)):
        image = c.fresh_image()
        write_pixels(image, c.manifest, pixels)
        execute(image, accel, c.program_offset, n, task, c.status_offset)
        alone.append(image)
        cycles.append(_cycles(image, c, n))
    shared = alone[0].copy()  # task 0 ran everything; task 1 resumes after the prefix
    execute(shared, accel, c.program_offset + k * INSTR_BYTES, n - k, 1, c.status_offset)
    resumed = _cycles(shared, c, n - k)
    out = c.manifest["outputs"][model.tasks[1].name]
    size = int(np.prod(out["shape"])) * accel.formats.act.storage_dtype.itemsize
    same = np.array_equal(shared[out["offset"]:out["offset"] + size],
                          alone[1][out["offset"]:out["offset"] + size])
    one, both = cycles[0], cycles[0] + resumed
    mhz = accel.clock_mhz
    return [
        (f"{model_name} on {accel_name}: shared prefix",
         (f"instructions 0..{k - 1} of {n} (the first task-dependent one: "
         f"{c.manifest['program']['names'][k]})")),
        ("instructions run, one task / both tasks reusing the prefix / both separately",
         f"{_ran(c, 0)} / {_ran(c, 0) + _ran(c, 1, k)} / {_ran(c, 0) + _ran(c, 1)}"),
        ("modelled cycles, one task / both reusing / both separately",
         (f"{one:,} / {both:,} / {cycles[0] + cycles[1]:,} "
         f"({one / mhz / 1e3:.2f} / {both / mhz / 1e3:.2f} / "
         f"{(cycles[0] + cycles[1]) / mhz / 1e3:.2f} ms at {mhz:g} MHz)")),
        ("both tasks / one task (modelled)", f"{both / one:.3f}x"),
        (f"{model.tasks[1].name} output after reuse vs run alone",
         "byte-identical" if same else "DIFFERENT"),
    ]
