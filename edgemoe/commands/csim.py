"""`edgemoe csim`: run a compiled model through the C simulation and the golden executor
and report whether the output images are identical."""

from __future__ import annotations

import time

from ._argtypes import add_simulation_options, task_indices


def _run(args) -> int:
    from ..compiler import compile_model
    from ..compiler.attn_q8 import int8_only_ranges
    from ..flow.csim import CsimExecutor
    from ..params import load_accel, load_model

    accel = load_accel(args.accel, args.set or ())
    model = load_model(args.model)
    accel.check_model(model)
    # (W8A8 with int8 attention where the design builds no other attention)
    compiled = compile_model(model, accel, seed=args.seed,
                             int8=int8_only_ranges(model, accel, args.seed))
    t0 = time.perf_counter()
    csim = CsimExecutor(accel, build_root=args.out)
    t_build = time.perf_counter() - t0
    print(f"  C-sim library: {csim.build.library} ({'cached' if csim.build.cached else 'built'}, "
          f"{t_build:.1f} s)")
    return max(_compare(csim, compiled, model, accel, task)
               for task in task_indices(model, args.task))


def _compare(csim, compiled, model, accel, task: int) -> int:
    """Run one task through golden and C-sim; 0 when the images are identical."""
    from ..compare import diff_images
    from ..golden import execute

    gold, sim = compiled.fresh_image(), compiled.fresh_image()
    args_ = (compiled.program_offset, compiled.n_instructions, task, compiled.status_offset)
    t0 = time.perf_counter()
    err_g = execute(gold, accel, *args_)
    t_gold = time.perf_counter() - t0
    t0 = time.perf_counter()
    err_c = csim.execute(sim, *args_)
    t_csim = time.perf_counter() - t0
    print(f"{model.name} task {model.tasks[task].name} on {accel.name} "
          f"(config_id {accel.config_id}): {compiled.n_instructions} instructions, "
          f"{compiled.image.size / 2**20:.1f} MiB image")
    print(f"  golden: status {err_g}, {t_gold:.2f} s   C-sim: status {err_c}, {t_csim:.2f} s")
    problems = diff_images(gold, sim, compiled.manifest)
    if err_g != err_c:
        problems.insert(0, f"status differs: golden {err_g}, C-sim {err_c}")
    if problems:
        print("DIFFERENT:\n  " + "\n  ".join(problems))
        return 1
    print("identical: the C-sim image equals the golden image byte for byte "
          "(profile cycle counters excluded)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("csim", help="run a model through the g++ C simulation and compare "
                                    "with the golden executor")
    add_simulation_options(p)
    p.add_argument("--out", metavar="DIR", default=None,
                   help="build folder: sources in DIR/<design>/hls, library in "
                        "DIR/<design>/csim (default ./build)")
    p.set_defaults(func=_run)
