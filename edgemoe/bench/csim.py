"""C simulation: library compile time (cold and cached) and run time per image-task of
m3vit-tiny through the C-sim executor beside the golden executor, measured in one run."""

from __future__ import annotations

import tempfile
import time

from ..compare import diff_images
from ..compiler import compile_model
from ..compiler.io import write_pixels
from ..golden import execute
from ..models import load_default_image
from ..params import load_accel, load_model


def run(quick: bool = False) -> list[tuple[str, str]]:
    """Rows of (metric, value); ``quick`` uses m3vit-micro on the ``tiny`` design point."""
    from ..flow.csim import CsimExecutor, build_csim

    model_name, accel_name = ("m3vit-micro", "tiny") if quick else ("m3vit-tiny", "edge-moe-zcu102")
    model, accel = load_model(model_name), load_accel(accel_name)
    with tempfile.TemporaryDirectory(prefix="edgemoe-bench-") as root:
        cold = build_csim(accel, build_root=root, force=True)
        cached = build_csim(accel, build_root=root)
        csim = CsimExecutor(accel, build=cached)
        compiled = compile_model(model, accel)
        base = compiled.fresh_image()
        write_pixels(base, compiled.manifest, load_default_image(model))
        args = (compiled.program_offset, compiled.n_instructions, 0, compiled.status_offset)
        gold, sim = base.copy(), base.copy()
        t0 = time.perf_counter()
        execute(gold, accel, *args)
        t_gold = time.perf_counter() - t0
        t0 = time.perf_counter()
        csim.execute(sim, *args)
        t_csim = time.perf_counter() - t0
        same = not diff_images(gold, sim, compiled.manifest)
    return [
        (f"C-sim library compile s, cold ({accel_name})", f"{cold.seconds:.1f}"),
        ("C-sim library rebuild s, cached", f"{cached.seconds:.3f}"),
        (f"{model_name} C-sim s per image-task", f"{t_csim:.3g}"),
        (f"{model_name} golden s per image-task", f"{t_gold:.3g}"),
        ("C-sim / golden time ratio", f"{t_csim / t_gold:.2f}"),
        ("C-sim image == golden image (byte for byte)", "yes" if same else "NO"),
    ]
