"""Write notebooks/edgemoe_board.ipynb (nbformat 4) from the cells below.

Run ``python notebooks/make_notebook.py`` after editing a cell; the notebook is committed.
The first code cell holds every setting, so a test can replace it (e.g. with a fake device).
"""

from __future__ import annotations

import json
from pathlib import Path

CELLS: list[tuple[str, str]] = [
    ("markdown", """\
# edgemoe on a PYNQ board: M3ViT segmentation and depth

This notebook loads an edgemoe deploy package (`bitstreams/<name>/`, copied here by
`edgemoe deploy --package bitstreams/<name> --target xilinx@board:/home/xilinx/edgemoe`),
places the model's weights in DDR once, runs both M3ViT tasks on an image and shows the
input, the segmentation, the depth map and the per-op latency: measured by the HLS top's
cycle counter on the board, modelled (the ideal-cycle model) on the `golden` backend; every
figure says which. The `edgemoe` runtime sits next to this notebook, so nothing is installed."""),
    ("code", """\
# Settings
from pathlib import Path

PACKAGE = min(p for p in Path("bitstreams").iterdir() if p.is_dir())  # or Path("bitstreams/<name>")
BACKEND = "pynq"          # "golden" runs the bit-exact numpy model instead of the FPGA
OPTIONS = {"timeout_s": 30.0}
IMAGE_FILE = None         # a PNG/JPEG path, or None for the shipped street scene
BATCH = 16                # images for the throughput measurement"""),
    ("code", """\
import io
import time

from IPython.display import Image, display
from matplotlib.figure import Figure

from edgemoe.host import Accelerator
from edgemoe.host.images import colorize_depth, colorize_segmentation, read_image
from edgemoe.models import load_default_image
from edgemoe.params import load_model


def show(fig):
    \"\"\"Show a matplotlib Figure inline as a PNG (no pyplot, so no GUI backend needed).\"\"\"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    display(Image(buf.getvalue()))


t0 = time.perf_counter()
acc = Accelerator(PACKAGE, backend=BACKEND, **OPTIONS)
print(acc, f"opened in {time.perf_counter() - t0:.2f} s")
print("tasks:", ", ".join(acc.tasks), "| config_id", acc.design.config_id)"""),
    ("markdown", "## Input"),
    ("code", """\
model = load_model(acc.design.manifest["model"])
image = read_image(IMAGE_FILE) if IMAGE_FILE else load_default_image(model)
pixels = acc.prepare(image)  # planar uint8 at the model's input size
print("input", pixels.shape, pixels.dtype)"""),
    ("markdown", "## Both tasks on the accelerator"),
    ("code", """\
t0 = time.perf_counter()
result = acc.run(pixels, task="all")[0]
print(f"seg + depth in {1e3 * (time.perf_counter() - t0):.1f} ms (wall, incl. host work)")
for task, prof in result.profiles.items():
    tot = prof.totals()
    print(f"{task}: {int(tot['cycles']):,} {prof.cycles_source} cycles = "
          f"{tot['latency_us'] / 1e3:.2f} ms on the device")"""),
    ("code", """\
seg = result.predictions["seg"]
depth = result.predictions["depth"]
fig = Figure(figsize=(15, 3.6))
axes = fig.subplots(1, 3)
panels = [(pixels.transpose(1, 2, 0), "input"),
          (colorize_segmentation(seg, result["seg"].shape[-1]), "segmentation"),
          (colorize_depth(depth), "depth")]
for ax, (img, title) in zip(axes, panels):
    ax.imshow(img)
    ax.set_title(title)
    ax.axis("off")
show(fig)"""),
    ("markdown", "## Per-op latency breakdown (measured on the board, modelled on `golden`)"),
    ("code", """\
print(result.profiles["seg"].table())
show(result.profiles["seg"].figure())"""),
    ("code", """\
show(result.profiles["depth"].figure())"""),
    ("markdown", "## Throughput and host overhead"),
    ("code", """\
from edgemoe.host.throughput import measure_throughput

# the same test as `edgemoe throughput --package DIR` on the command line
report = measure_throughput(acc, [pixels] * BATCH, task="seg")
print("\\n".join(report.lines()))
t = acc.timings"""),
    ("code", """\
acc.close()  # frees the DDR buffer"""),
]


def notebook() -> dict:
    """The notebook as nbformat-4 JSON data."""
    cells = []
    for kind, text in CELLS:
        cell = {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python", "version": "3.10"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main() -> None:
    out = Path(__file__).with_name("edgemoe_board.ipynb")
    data = notebook()
    for i, cell in enumerate(data["cells"]):
        cell["id"] = f"cell-{i:02d}"
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
