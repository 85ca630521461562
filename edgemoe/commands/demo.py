"""`edgemoe demo`: the main job on embedded defaults (what `make demo` runs).

1. every design point with its config_id, engine sizes, formats and fit on every board;
2. the shipped trained m3vit-demo (synthetic data) on two generated test scenes and the
   bundled street image, both tasks, through the golden executor: one composite figure
   per image (ground truth beside generated scenes) and the modelled per-op latency plot;
3. the ZCU102 HLS project generated and m3vit-micro run through its g++ C-sim,
   compared byte for byte with golden.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: (model, design point) of step 2.
DEMO_MODEL = ("m3vit-demo", "edge-moe-zcu102")


def _run(args) -> int:
    from ..cli import main
    from ..evaluation.showcase import show_trained
    from ..params.report import describe_all

    out = Path(args.out)
    print(describe_all())
    model, design = DEMO_MODEL
    print(f"\n== {model} (trained on synthetic scenes) on {design}, both tasks, golden executor")
    for path in show_trained(out / model, model, design):
        print(f"wrote {path}")
    steps = []
    if importlib.util.find_spec("edgemoe.commands.csim") is not None:
        steps.append(["generate", "--accel", "edge-moe-zcu102", "--out", str(out / "hls")])
        steps.append(["csim", "--accel", "edge-moe-zcu102", "--model", "m3vit-micro",
                      "--task", "all", "--out", str(out / "build")])
    for step in steps:
        print(f"\n== edgemoe {' '.join(step)}")
        code = main(step)
        if code:
            return code
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="print design points, run the trained M3ViT, C-sim the "
                       "ZCU102 IP")
    p.add_argument("--out", default="out/demo",
                   help="output folder of every step, C-sim build included (default out/demo)")
    p.set_defaults(func=_run)
