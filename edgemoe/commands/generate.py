"""`edgemoe generate`: write a design point's Vitis HLS project (sources, scripts, test data)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _run(args) -> int:
    from ..flow.generate import generate
    from ..params import load_accel

    accel = load_accel(args.accel, args.set or ())
    project = generate(accel, out_dir=args.out, tb_model=None if args.no_testbench else args.tb_model)
    print(f"generated {len(project.files)} files for {accel.name} (config_id {accel.config_id}, "
          f"board {accel.board.key}, part {accel.board.part}) in {project.out_dir}")
    if project.testbench_model:
        print(f"testbench vectors: {project.testbench_model} in {project.out_dir / 'tb_data'}")
    print(f"next: edgemoe csim --accel {args.accel} --model m3vit-micro   |   "
          f"vitis-run --mode hls --tcl {project.run_hls_tcl}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate the Vitis HLS project of a design point")
    p.add_argument("--accel", required=True, help="design point name (configs/accel) or YAML path")
    p.add_argument("--out", default=None, help="output folder (default build/<design>/hls)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a design-point key, e.g. linear_p_in=8 (repeatable)")
    p.add_argument("--tb-model", default="m3vit-micro",
                   help="model whose program the testbench runs (default m3vit-micro)")
    p.add_argument("--no-testbench", action="store_true", help="skip the testbench vectors")
    p.set_defaults(func=_run)
