"""What `edgemoe demo` shows of the trained model: composite figures and the latency plot."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgemoe.data import synthetic, trained_weights
from edgemoe.evaluation.figure import composite_figure, save_figure

__all__ = ["DEMO_SCENES", "show_trained"]

log = logging.getLogger(__name__)

DEMO_SCENES = (("test", 0), ("test", 1))
"""Generated scenes (split, index) the demo runs; the shipped street photo-like image too."""


def show_trained(out: str | Path, model_name: str = "m3vit-demo",
                 design: str = "edge-moe-zcu102", backend: str = "golden") -> list[Path]:
    """Run the shipped trained weights on the demo scenes and write one figure per image.

    Writes ``<image>.png`` composites (ground truth beside generated scenes) and
    ``latency_<task>.png``, the per-instruction latency of the last image, labelled as
    modelled (the golden and C-sim executors count cycles with the cycle model).

    Args:
        out: Output folder.
        model_name: Model with shipped trained weights.
        design: Design point to compile for.
        backend: ``golden`` or ``csim``.

    Returns:
        The written PNG paths.
    """
    from edgemoe.compiler import compile_model
    from edgemoe.host import Accelerator
    from edgemoe.models import load_default_image, load_weights
    from edgemoe.params import load_accel, load_model

    model, accel = load_model(model_name), load_accel(design)
    compiled = compile_model(model, accel, load_weights(trained_weights(model_name), model))
    images: list[tuple[str, np.ndarray, synthetic.Scene | None]] = [
        (f"{split}_scene{i}", synthetic.scene(split, i).pixels(), synthetic.scene(split, i))
        for split, i in DEMO_SCENES]
    images.append(("street", load_default_image(model), None))
    out = Path(out)
    written = []
    with Accelerator(compiled, backend=backend) as acc:
        for stem, pixels, scene in images:
            result = acc.run(pixels, task="all")[0]
            fig = composite_figure(
                pixels.transpose(1, 2, 0), result.predictions["seg"].astype(np.int64),
                result.predictions["depth"], f"{model_name} on {design} ({backend}): {stem}",
                None if scene is None else scene.labels, None if scene is None else scene.depth)
            written.append(save_figure(fig, out / f"{stem}.png"))
        for task, prof in result.profiles.items():
            title = (f"{task}: {prof.totals()['latency_us']:.1f} us per image at "
                     f"{prof.clock_mhz:g} MHz - modelled cycles ({backend} executor)")
            written.append(prof.plot(out / f"latency_{task}.png", title=title))
    for path in written:
        log.debug("wrote %s", path)
    return written
