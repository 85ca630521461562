"""Host runtime overhead: packing, cache sync and decoding around each run.

The pynq backend runs on the fake device (pynq's real Overlay/allocate/DefaultIP over
numpy registers and DDR, with the golden executor behind ap_start); its host phases are
compared with the golden compute time of the same run.  Throughput is measured over a
batch of 16 images (one task each).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ..compiler import compile_model
from ..models import load_default_image
from ..params import load_accel, load_model

BATCH = 16


def run(quick: bool = False) -> list[tuple[str, str]]:
    from ..host import Accelerator

    try:
        from ..host.fake_device import FakeDevice, make_fake_package
    except ImportError as exc:
        return [("host overhead (fake pynq)", f"skipped: pynq not installed ({exc})")]
    model_name, accel_name = ("m3vit-micro", "tiny") if quick else ("m3vit-tiny", "edge-moe-zcu102")
    model, accel = load_model(model_name), load_accel(accel_name)
    compiled = compile_model(model, accel)
    base = load_default_image(model)
    rng = np.random.default_rng(0)
    images = [np.clip(base.astype(np.int16) + rng.integers(-8, 9, base.shape), 0, 255)
              .astype(np.uint8) for _ in range(BATCH)]
    task = model.tasks[0].name
    with tempfile.TemporaryDirectory() as tmp:
        package = make_fake_package(compiled, accel, Path(tmp))
        device = FakeDevice(accel)
        with Accelerator(package, backend="pynq", device=device, timeout_s=600) as acc:
            acc.run(images[:1], task=task)  # warm-up (tables, first-touch pages)
            acc.timings.reset()
            t0 = time.perf_counter()
            acc.run(images, task=task)
            wall = time.perf_counter() - t0
            t = acc.timings
        with Accelerator(compiled) as gold:
            gold.run(images[:1], task=task)
            gold.timings.reset()
            gold.run(images[:4], task=task)
            golden_run = gold.timings.compute / gold.timings.runs
    per = {k: getattr(t, k) / t.runs for k in ("pack", "sync", "decode")}
    host = sum(per.values())
    return [
        (f"{model_name} on {accel_name}: golden compute ms per run", f"{1e3 * golden_run:.1f}"),
        ("fake-pynq host ms per run: pack / sync / decode",
         " / ".join(f"{1e3 * v:.3f}" for v in per.values())),
        ("fake-pynq host overhead / golden compute (target <= 5%)",
         f"{100 * host / golden_run:.2f}%"),
        (f"fake-pynq images/s over a batch of {BATCH} ({task})", f"{BATCH / wall:.2f}"),
        ("fake-pynq wall time / golden compute per image",
         f"{wall / BATCH / golden_run:.3f}"),
    ]
