"""RTL engine efficiency and simulation speed (Verilator + cocotb).

Efficiency = ideal cycles (golden/cycles.py: MACs / MACs per cycle, one beat per step) /
measured cycles of the RTL, per instruction, for the first two transformer blocks of
m3vit-tiny (dense, then MoE) on Edge-MoE's design point (``quick``: m3vit-micro on
``tiny``), run in program order from the memory state the golden executor reaches just
before them, so the data, the MoE routing and the weight prefetch are real; the RTL
result is also checked byte for byte against golden.  Simulation speed is
simulated clock cycles per second of wall time, for those single-layer runs and for the
whole m3vit-micro program on ``tiny``.
"""

from __future__ import annotations

import time

from ..compare import diff_images
from ..compiler import compile_model
from ..compiler.io import write_pixels
from ..golden import execute
from ..isa import Op
from ..models import load_default_image
from ..params import load_accel, load_model


def _span(instrs) -> tuple[int, int]:
    """First LAYERNORM .. first MOE_EXPERTS: two transformer blocks (dense, then MoE)."""
    first = next(i for i, ins in enumerate(instrs) if ins.op == Op.LAYERNORM)
    last = next(i for i, ins in enumerate(instrs) if ins.op == Op.MOE_EXPERTS)
    return first, last


def _layers(accel_name: str, model_name: str) -> list[tuple[str, str]]:
    from ..rtl import RtlJob, RtlsimExecutor

    accel, model = load_accel(accel_name), load_model(model_name)
    c = compile_model(model, accel)
    write_pixels(c.image, c.manifest, load_default_image(model))
    ex = RtlsimExecutor(accel)
    t0 = time.perf_counter()
    build_s = ex.sim.seconds or (time.perf_counter() - t0)
    first, last = _span(c.instrs)
    n = last - first + 1
    state = c.fresh_image()  # the golden state just before the first measured instruction
    execute(state, accel, c.program_offset, first, 0, c.status_offset)
    gold = state.copy()
    execute(gold, accel, c.program_offset + 64 * first, n, 0, c.status_offset)
    job = RtlJob(state.copy(), c.program_offset + 64 * first, n, 0, c.status_offset)
    res = ex.run_jobs([job])[0]
    manifest = dict(c.manifest, program={"offset": c.program_offset, "n_instructions": n})
    same = not diff_images(gold, job.image, manifest) and res.error == 0
    base = c.status_offset + 64
    ideal = gold[base:base + 64 * n].view("<u8").reshape(n, 8)[:, 0]
    meas = job.image[base:base + 64 * n].view("<u8").reshape(n, 8)[:, 0]
    span = (f"{accel.name} {model.name} instructions {first}..{last} in program order "
            "(weights of the next matmul prefetched)")
    verdict = "identical" if same else "DIFFERENT"
    rows = [(f"{accel.name}: Verilator build s (0 = cached)", f"{build_s:.1f}"),
            (span, f"{res.cycles} cycles, {verdict} to golden")]
    effs: dict[str, list[float]] = {}
    for k in range(n):
        ins = c.instrs[first + k]
        name = Op(ins.op).name
        eff = ideal[k] / meas[k] if meas[k] else 0.0
        effs.setdefault(name, []).append(eff)
        shape = ",".join(f"{key}={v}" for key, v in ins.named().items()
                         if key in ("tokens", "out_features", "in_features", "heads",
                                    "head_dim", "dim", "experts", "hidden") and v)
        rows.append((f"  #{first + k} {name} ({shape}) efficiency",
                     f"{eff:.1%}  ({meas[k]} measured cycles, ideal {ideal[k]} modelled)"))
    for name in ("LINEAR", "ATTENTION", "MOE_EXPERTS", "LAYERNORM", "MOE_GATE"):
        if name in effs:
            rows.append((f"{accel.name} {name.lower()} efficiency (mean over the span)",
                         f"{sum(effs[name]) / len(effs[name]):.1%}"))
    rows.append((f"{accel.name} {model.name} span: simulated cycles per second",
                 f"{res.cycles / max(res.wall_s, 1e-9):,.0f} ({res.wall_s:.1f} s wall)"))
    return rows


def _top_speed() -> list[tuple[str, str]]:
    from ..rtl import RtlJob, RtlsimExecutor

    accel, model = load_accel("tiny"), load_model("m3vit-micro")
    c = compile_model(model, accel)
    write_pixels(c.image, c.manifest, load_default_image(model))
    ex = RtlsimExecutor(accel)
    img = c.fresh_image()
    res = ex.run_jobs([RtlJob(img, c.program_offset, c.n_instructions, 0,
                              c.status_offset)])[0]
    gold = c.fresh_image()
    execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset)
    same = not diff_images(gold, img, c.manifest)
    return [("tiny m3vit-micro whole program on the RTL top: cycles",
             f"{res.cycles} ({'identical' if same else 'DIFFERENT'} to golden)"),
            ("tiny m3vit-micro top: simulated cycles per second",
             f"{res.cycles / max(res.wall_s, 1e-9):,.0f} ({res.wall_s:.1f} s wall)")]


def run(quick: bool = False) -> list[tuple[str, str]]:
    """Efficiency per layer and simulation speed (see the module docstring)."""
    rows = _layers("tiny", "m3vit-micro") if quick else \
        _layers("edge-moe-zcu102", "m3vit-tiny")
    return rows + _top_speed()
