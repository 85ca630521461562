"""`edgemoe throughput`: images/s and host overhead of a deploy package (FINN-like)."""

from __future__ import annotations

import json


def _run(args) -> int:
    import numpy as np

    from ..host import Accelerator
    from ..host.images import read_image
    from ..host.outdir import write_text_atomic
    from ..host.throughput import measure_throughput
    from ..models import load_default_image
    from ..params import load_model

    if args.batch < 1:
        raise ValueError(f"--batch {args.batch} is not a batch size: pass 1 or more")
    options = {}
    if args.backend == "pynq":
        options = {"timeout_s": args.timeout, "download": not args.no_download}
    with Accelerator(args.package, backend=args.backend, **options) as acc:
        image = read_image(args.image) if args.image else \
            load_default_image(load_model(acc.design.manifest["model"]))
        pixels = acc.prepare(image)
        # distinct inputs (as a camera gives), so nothing is served from a cache
        rng = np.random.default_rng(0)
        batch = [np.clip(pixels.astype(np.int16) + rng.integers(-4, 5, pixels.shape), 0, 255)
                 .astype(np.uint8) for _ in range(args.batch)]
        report = measure_throughput(acc, batch, task=args.task)
    print("\n".join(report.lines()))
    if args.json:
        write_text_atomic(args.json, json.dumps(report.to_dict(), indent=1))
        print(f"wrote {args.json}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("throughput", help="images/s and host overhead of a deploy package",
                       description="Run a batch of images through a deploy package (on the "
                       "board by default) and report images/s, host overhead per run and the "
                       "device's cycles and DRAM traffic (measured on the board, modelled "
                       "on golden/csim).")
    p.add_argument("--package", required=True, metavar="DIR",
                   help="deploy package bitstreams/<name>/ (or a compiled design folder)")
    p.add_argument("--backend", choices=("pynq", "golden", "csim"), default="pynq",
                   help="executor (default pynq: the FPGA)")
    p.add_argument("--batch", type=int, default=16, help="images in the timed batch (default 16)")
    p.add_argument("--task", default="all", help="task name or all (default all)")
    p.add_argument("--image", metavar="FILE", help="input image (default: the street scene)")
    p.add_argument("--json", metavar="FILE", help="write the report here as JSON")
    p.add_argument("--timeout", type=float, default=30.0, help="pynq: seconds per run")
    p.add_argument("--no-download", action="store_true",
                   help="pynq: the bitstream is already loaded")
    p.set_defaults(func=_run)
