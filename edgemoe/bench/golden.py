"""Golden executor speed and memory on m3vit-tiny, beside the float64 reference."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from ..compiler import compile_model
from ..compiler.io import read_output, write_pixels
from ..golden import execute
from ..isa import Op
from ..layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
from ..models import M3ViTReference, load_default_image, random_weights
from ..params import load_accel, load_model


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(quick: bool = False) -> list[tuple[str, str]]:
    model_name = "m3vit-micro" if quick else "m3vit-tiny"
    model, accel = load_model(model_name), load_accel("tiny" if quick else "edge-moe-zcu102")
    weights = random_weights(model, 0)
    t0 = time.perf_counter()
    c = compile_model(model, accel, weights)
    compile_s = time.perf_counter() - t0
    pixels = load_default_image(model)
    image = c.fresh_image()
    write_pixels(image, c.manifest, pixels)

    def golden():
        execute(image, accel, c.program_offset, c.n_instructions, 0, c.status_offset)

    golden()  # warm up tables
    ref = M3ViTReference(model, c.effective_weights)
    g_s = _best(golden, 3)
    f_s = _best(lambda: ref.forward(pixels, 0), 3)
    tracemalloc.start()
    golden()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # accuracy of the device weights against the original float weights (weight rounding)
    full = M3ViTReference(model, weights).forward(pixels, 0)["head"].transpose(1, 2, 0)
    got = read_output(image, c.manifest, model.tasks[0].name)
    seg_agree = float((got.argmax(-1) == full.argmax(-1)).mean())
    seg_rel = float(np.linalg.norm(got - full) / np.linalg.norm(full))
    prof = image[c.status_offset + STATUS_BYTES:][:c.n_instructions * PROFILE_ENTRY_BYTES]
    prof = prof.view("<u8").reshape(-1, 8)
    cycles = int(prof[:, 0].sum())
    experts = [i for i, ins in enumerate(c.instrs) if ins.op == Op.MOE_EXPERTS]
    fetched = int(sum(prof[i, 4] for i in experts))
    active = int(sum(prof[i, 5] for i in experts))
    per_expert = fetched // max(active, 1)
    per_token = len(experts) * model.num_tokens * model.top_k * per_expert
    return [
        (f"{model_name} compile s", f"{compile_s:.2f}"),
        (f"{model_name} golden s per image-task", f"{g_s:.3f}"),
        (f"{model_name} float64 reference s per image-task", f"{f_s:.3f}"),
        ("golden / float reference time ratio", f"{g_s / f_s:.2f}"),
        ("golden peak traced memory MiB (incl. image)", f"{(peak + image.nbytes) / 2**20:.0f}"),
        ("memory image MiB", f"{image.nbytes / 2**20:.1f}"),
        ("seg logits rel. error vs unquantized float weights", f"{seg_rel:.2e}"),
        ("seg argmax agreement vs unquantized float weights", f"{seg_agree:.4f}"),
        ("MoE expert weight MiB per image-task, patch reordering",
         f"{fetched / 2**20:.2f} ({active} expert loads in {len(experts)} layers)"),
        ("MoE expert weight MiB if fetched per (token, expert) pair",
         f"{per_token / 2**20:.1f} ({per_token / max(fetched, 1):.1f}x more)"),
        (f"modelled cycles per image-task @ {accel.clock_mhz} MHz",
         f"{cycles} = {cycles / accel.clock_mhz / 1e3:.2f} ms"),
    ]
