"""`edgemoe rtlsim`: run a compiled model on the SystemVerilog top (Verilator + cocotb)
beside the golden executor, report identical-or-diff, cycles per instruction and speed."""

from __future__ import annotations

import json
import time
from pathlib import Path


def _task_indices(model, task: str) -> list[int]:
    names = [t.name for t in model.tasks]
    if task == "all":
        return list(range(len(names)))
    if task.isdigit() and int(task) < len(names):
        return [int(task)]
    if task in names:
        return [names.index(task)]
    raise ValueError(f"unknown task {task!r} of {model.name}; choose one of {names}, "
                     f"0..{len(names) - 1} or all")


def _profile(image, compiled):
    base = compiled.status_offset + 64
    return image[base:base + compiled.n_instructions * 64].view("<u8").reshape(-1, 8)


def _run(args) -> int:
    from ..compare import diff_images
    from ..compiler import compile_model
    from ..compiler.io import write_pixels
    from ..golden import execute
    from ..models import load_default_image
    from ..params import load_accel, load_model
    from ..rtl import RtlJob, RtlsimExecutor

    accel = load_accel(args.accel, args.set or ())
    model = load_model(args.model)
    accel.check_model(model)
    compiled = compile_model(model, accel, seed=args.seed)
    write_pixels(compiled.image, compiled.manifest, load_default_image(model))
    sources = [Path(s) for s in args.sources] if args.sources else None
    ex = RtlsimExecutor(accel, sources=sources, toplevel=args.top, waves=args.waves,
                        build_root=args.out)
    t0 = time.perf_counter()
    sim = ex.sim
    print(f"  Verilator model: {sim.build_dir} ({'cached' if not sim.seconds else 'built'}, "
          f"{time.perf_counter() - t0:.1f} s)")
    tasks = _task_indices(model, args.task)
    golds, jobs = [], []
    for task in tasks:
        gold = compiled.fresh_image()
        err = execute(gold, accel, compiled.program_offset, compiled.n_instructions, task,
                      compiled.status_offset)
        golds.append((gold, err))
        jobs.append(RtlJob(compiled.fresh_image(), compiled.program_offset,
                           compiled.n_instructions, task, compiled.status_offset,
                           max_cycles=args.max_cycles))
    t0 = time.perf_counter()
    results = ex.run_jobs(jobs)
    wall = time.perf_counter() - t0
    status, report = 0, {"design": accel.name, "config_id": accel.config_id,
                         "model": model.name, "tasks": []}
    for task, (gold, err_g), job, res in zip(tasks, golds, jobs, results):
        problems = diff_images(gold, job.image, compiled.manifest)
        if res.timed_out:
            problems.insert(0, f"the RTL did not finish within {args.max_cycles} cycles")
        if res.error != err_g:
            problems.insert(0, f"status differs: golden {err_g}, RTL {res.error}")
        ideal, meas = _profile(gold, compiled)[:, 0], _profile(job.image, compiled)[:, 0]
        print(f"{model.name} task {model.tasks[task].name} on {accel.name} "
              f"(config_id {accel.config_id}): {compiled.n_instructions} instructions, "
              f"{res.cycles} cycles = {res.cycles / accel.clock_mhz / 1e3:.3f} ms at "
              f"{accel.clock_mhz:g} MHz, {res.cycles / max(res.wall_s, 1e-9):,.0f} simulated "
              "cycles per second")
        rows = []
        for i, ins in enumerate(compiled.instrs):
            if ins.runs_for(task) and meas[i]:
                eff = ideal[i] / meas[i] if meas[i] else 0.0
                rows.append({"index": i, "op": str(ins).split()[0], "cycles": int(meas[i]),
                             "ideal": int(ideal[i]), "efficiency": round(float(eff), 4)})
                if args.verbose_table:
                    print(f"  {i:3d} {rows[-1]['op']:<12} {meas[i]:>9} cycles  ideal "
                          f"{ideal[i]:>9}  efficiency {eff:6.1%}")
        if problems:
            print("DIFFERENT:\n  " + "\n  ".join(problems))
            status = 1
        else:
            print("identical: the RTL image equals the golden image byte for byte "
                  "(profile cycle counters excluded)")
        report["tasks"].append({"task": model.tasks[task].name, "identical": not problems,
                                "problems": problems, "error": res.error,
                                "cycles": res.cycles, "sim_wall_s": res.wall_s,
                                "instructions": rows})
    report["wall_s"] = wall
    if args.waves and ex.last_run_dir is not None:
        print(f"  waveforms in {ex.last_run_dir}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return status


def register(sub) -> None:
    p = sub.add_parser("rtlsim", help="run a model on the SystemVerilog top (Verilator) and "
                                      "compare with the golden executor")
    p.add_argument("--accel", required=True, help="design point name or YAML path")
    p.add_argument("--model", required=True, help="model name (configs/models) or YAML path")
    p.add_argument("--task", default="0", help="task index, name or all (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a design-point key (repeatable)")
    p.add_argument("--waves", action="store_true", help="dump waveforms (slower)")
    p.add_argument("--max-cycles", type=int, default=20_000_000,
                   help="give up after this many cycles (default 20M)")
    p.add_argument("--sources", nargs="+", metavar="SV",
                   help="simulate these RTL files instead of the generated ones "
                        "(e.g. the Vitis-exported RTL of the HLS top)")
    p.add_argument("--top", default="edgemoe_top", help="top module of --sources")
    p.add_argument("--table", dest="verbose_table", action="store_true",
                   help="print cycles and efficiency per instruction")
    p.add_argument("--json", help="write the report (cycles per instruction, speed) here")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="build folder: rendered RTL, Verilator model and run folders "
                        "(default ./build)")
    p.set_defaults(func=_run)
