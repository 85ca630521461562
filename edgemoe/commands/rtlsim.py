"""`edgemoe rtlsim`: run a compiled model on the SystemVerilog top (Verilator + cocotb)
beside the golden executor, report identical-or-diff, cycles per instruction and speed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..host.outdir import write_text_atomic
from ._argtypes import add_simulation_options, positive_int, task_indices
from ._cyclebar import CycleBar

#: Margin of the RTL over the modelled (ideal) cycles in :func:`estimate_cycles`.
RTL_MARGIN = 1.5
#: Cycles of start-up, program fetch and status write-back added to every estimate.
RTL_FIXED_CYCLES = 10_000
#: What the top's AXI masters carry, per master count (each on a PS port of its own).
MASTER_ROLES = {1: "m_axi_mem (instructions, every engine, the weight prefetch) on 1 port",
                2: "m_axi_mem (instructions, every engine) and m_axi_wgt (the weight "
                   "prefetch), each on a port of its own",
                3: "m_axi_mem (instructions, every engine), m_axi_wgt and m_axi_wgt1 (the "
                   "weight prefetch, its bursts alternating over the two), each on a port of "
                   "its own"}
#: Verilator's speed on the top, simulated cycles per wall second: measured once for
#: m3vit-micro on tiny on a busy 2-core machine; used only to say how long a run may take.
TYPICAL_CYCLES_PER_S = 5_000


def _profile(image, compiled):
    base = compiled.status_offset + 64
    return image[base:base + compiled.n_instructions * 64].view("<u8").reshape(-1, 8)


def estimate_cycles(modelled: np.ndarray) -> int:
    """Cycles the RTL needs for a program whose modelled (ideal) cycles are ``modelled``.

    The ideal count assumes every engine busy every cycle; the RTL also waits for DMA
    bursts and pipeline fills, so the estimate adds :data:`RTL_MARGIN` of the ideal.
    """
    return int(int(modelled.sum()) * RTL_MARGIN) + RTL_FIXED_CYCLES


def _check_budget(model, accel, tasks, estimates, max_cycles: int) -> None:
    """Refuse a run whose estimate exceeds ``--max-cycles`` before anything is built."""
    worst = max(estimates)
    if worst > max_cycles:
        task = model.tasks[tasks[estimates.index(worst)]].name
        raise ValueError(f"{model.name} task {task} on {accel.name} needs about {worst:,} RTL "
                         f"cycles (modelled estimate), more than --max-cycles {max_cycles:,}: "
                         f"pass --max-cycles {int(worst * 1.5)} to simulate it anyway (about "
                         f"{worst / TYPICAL_CYCLES_PER_S / 3600:.1f} h at ~"
                         f"{TYPICAL_CYCLES_PER_S:,} simulated cycles/s), or a smaller model "
                         "such as m3vit-micro")


def _run(args) -> int:
    from ..compare import diff_images
    from ..compiler import compile_model
    from ..compiler.attn_q8 import int8_only_ranges
    from ..compiler.io import write_pixels
    from ..golden import execute
    from ..models import load_default_image
    from ..params import load_accel, load_model
    from ..perf.report import check_ports
    from ..rtl import RtlJob, RtlsimExecutor
    from ..rtl.render import masters_for

    accel = load_accel(args.accel, args.set or ())
    check_ports(accel, args.ports)  # before anything is compiled or built
    model = load_model(args.model)
    accel.check_model(model)
    tasks = task_indices(model, args.task)
    # (W8A8 with int8 attention where the design builds no other attention)
    compiled = compile_model(model, accel, seed=args.seed,
                             int8=int8_only_ranges(model, accel, args.seed))
    write_pixels(compiled.image, compiled.manifest, load_default_image(model))
    golds, jobs, estimates = [], [], []
    for task in tasks:  # golden first: its modelled cycles size the RTL run
        gold = compiled.fresh_image()
        err = execute(gold, accel, compiled.program_offset, compiled.n_instructions, task,
                      compiled.status_offset)
        golds.append((gold, err))
        estimates.append(estimate_cycles(_profile(gold, compiled)[:, 0]))
        jobs.append(RtlJob(compiled.fresh_image(), compiled.program_offset,
                           compiled.n_instructions, task, compiled.status_offset,
                           max_cycles=args.max_cycles))
    _check_budget(model, accel, tasks, estimates, args.max_cycles)
    sources = [Path(s) for s in args.sources] if args.sources else None
    memory = None
    if args.board_memory:
        from ..perf import memory_timing

        timing = memory_timing(accel, ports=args.ports)
        memory = timing.bench_spec()
        print(f"  memory: {accel.board.key}'s, {timing.describe()}")
    masters = masters_for(args.ports)
    print(f"  AXI masters: {MASTER_ROLES[masters]}")
    ex = RtlsimExecutor(accel, sources=sources, toplevel=args.top, waves=args.waves,
                        build_root=args.out, memory=memory, masters=masters)
    t0 = time.perf_counter()
    sim = ex.sim
    print(f"  Verilator model: {sim.build_dir} ({'cached' if not sim.seconds else 'built'}, "
          f"{time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    with CycleBar(estimates, f"{model.name} on RTL") as bar:
        results = ex.run_jobs(jobs, progress=bar.update)
    wall = time.perf_counter() - t0
    status, report = 0, {"design": accel.name, "config_id": accel.config_id,
                         "model": model.name, "tasks": []}
    for task, (gold, err_g), job, res, estimate in zip(tasks, golds, jobs, results, estimates):
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
                    print(f"  {i:3d} {rows[-1]['op']:<12} {meas[i]:>9} cycles (measured)  "
                          f"ideal {ideal[i]:>9} (modelled)  efficiency {eff:6.1%}")
        if problems:
            print("DIFFERENT:\n  " + "\n  ".join(problems))
            status = 1
        else:
            print("identical: the RTL image equals the golden image byte for byte "
                  "(profile cycle counters excluded)")
        report["tasks"].append({"task": model.tasks[task].name, "identical": not problems,
                                "problems": problems, "error": res.error,
                                "cycles": res.cycles, "sim_wall_s": res.wall_s,
                                "estimated_cycles": estimate,
                                "instructions": rows})
    report["wall_s"] = wall
    if args.waves and ex.last_run_dir is not None:
        print(f"  waveforms in {ex.last_run_dir}")
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=1))
    return status


def register(sub) -> None:
    p = sub.add_parser("rtlsim", help="run a model on the SystemVerilog top (Verilator) and "
                                      "compare with the golden executor")
    add_simulation_options(p)
    p.add_argument("--waves", action="store_true", help="dump waveforms (slower)")
    p.add_argument("--board-memory", action="store_true",
                   help="the bench's RAM gets the board's port bandwidth and read latency "
                   "(sim/memory_model.py), so the cycles are board cycles; default: ideal")
    p.add_argument("--ports", type=positive_int, default=1, metavar="N",
                   help="PS ports of the unit (default 1): 2 renders the top with the "
                        "weight prefetch on a master of its own (m_axi_wgt), as the HLS "
                        "kernel has it; 3 or more stripes the prefetch over two (m_axi_wgt, "
                        "m_axi_wgt1); --board-memory gives each master a port; up to the "
                        "design point's m_axi masters")
    p.add_argument("--max-cycles", type=positive_int, default=20_000_000,
                   help="give up after this many cycles (default 20M); a run whose "
                        "modelled estimate exceeds it is refused before it starts")
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
