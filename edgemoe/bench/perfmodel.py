"""Cycle model with memory against the RTL on the board's memory, per op type.

The RTL runs under Verilator with the bench's AXI RAM given the board's port bandwidth and
read latency (sim/memory_model.py, figures from edgemoe.perf.memory_timing), so its cycle
counters mean board cycles; the model (edgemoe.perf) predicts the same counters.  Spans:
the whole m3vit-micro program on ``tiny``, and (not ``quick``) the first two transformer
blocks of m3vit-tiny (dense, then MoE) on Edge-MoE's design point and, with its W8A8
program, on the W8A8 one, run from the memory state the golden executor reaches just
before them so the routing is real.  The tiny span
runs again at two ports (the RTL top with the weight prefetch on ``m_axi_wgt``) and at three
(the prefetch striped over ``m_axi_wgt`` and ``m_axi_wgt1``).  The model's
figures are MODELLED; the RTL's are cycles measured in simulation, not on a board.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compare import diff_images
from ..compiler import compile_model
from ..compiler.attn_q8 import int8_only_ranges
from ..compiler.io import write_pixels
from ..golden import execute
from ..isa import INSTR_BYTES, Op
from ..layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
from ..models import load_default_image
from ..params import load_accel, load_model
from ..perf import golden_routing, memory_timing, model_program

__all__ = ["OpTypeRow", "SpanComparison", "compare_span", "run"]


@dataclass(frozen=True)
class OpTypeRow:
    """One op type of a span: instructions, modelled and RTL-measured cycles."""

    op: str
    count: int
    modelled: int
    rtl: int

    @property
    def error(self) -> float:
        """Relative error of the model against the RTL."""
        return self.modelled / self.rtl - 1.0 if self.rtl else 0.0


@dataclass(frozen=True)
class SpanComparison:
    """Model against RTL over one span of a program."""

    title: str
    rows: tuple[OpTypeRow, ...]
    modelled_total: int
    rtl_total: int
    identical: bool
    wall_s: float
    instructions: tuple[tuple[int, str, int, int], ...] = ()  # index, op, modelled, RTL


def _span(instrs, blocks: bool) -> tuple[int, int]:
    if not blocks:
        return 0, len(instrs) - 1
    first = next(i for i, ins in enumerate(instrs) if ins.op == Op.LAYERNORM)
    last = next(i for i, ins in enumerate(instrs) if ins.op == Op.MOE_EXPERTS)
    return first, last


def compare_span(accel_name: str, model_name: str, blocks: bool = False,
                 task: int = 0, model_overrides: tuple[str, ...] = (),
                 overrides: tuple[str, ...] = (), ports: int = 1,
                 heads: bool = True) -> SpanComparison:
    """Run a span on the RTL with the board's memory and model it; compare per op type.

    Args:
        accel_name: Design point.
        model_name: Model.
        blocks: Only the first two transformer blocks (first LAYERNORM .. first
            MOE_EXPERTS); otherwise the whole program.
        task: The device task.
        model_overrides: ``key=value`` changes of the model (e.g. a smaller image: fewer
            tokens through the same engines, so a big design point finishes in Verilator).
        overrides: ``--set`` style design-point overrides (``"buffers.conv_line_words=2048"``).
        ports: PS ports of model and bench (2: the RTL top with the weight prefetch on
            ``m_axi_wgt``; 3 or more: striped over ``m_axi_wgt`` and ``m_axi_wgt1``; each
            master on a bench port of its own).
        heads: False compiles the backbone only (the whole program is then the backbone).
    """
    from ..rtl import RtlJob, RtlsimExecutor

    accel = load_accel(accel_name, list(overrides))
    model = load_model(model_name, model_overrides)
    # (a design point building int8 attention only runs the W8A8 program with it)
    c = compile_model(model, accel, heads=heads, int8=int8_only_ranges(model, accel))
    write_pixels(c.image, c.manifest, load_default_image(model))
    first, last = _span(c.instrs, blocks)
    n = last - first + 1
    state = c.fresh_image()
    execute(state, accel, c.program_offset, first, task, c.status_offset)
    span_offset = c.program_offset + INSTR_BYTES * first
    instrs = c.instrs[first:last + 1]
    routing = golden_routing(state, accel, span_offset, instrs, task, c.status_offset)
    gold = state.copy()
    execute(gold, accel, span_offset, n, task, c.status_offset)
    mem = memory_timing(accel, ports=ports)
    ex = RtlsimExecutor(accel, memory=mem.bench_spec())
    job = RtlJob(state.copy(), span_offset, n, task, c.status_offset)
    res = ex.run_jobs([job])[0]
    manifest = dict(c.manifest, program={"offset": c.program_offset, "n_instructions": n})
    identical = res.error == 0 and not res.timed_out and not diff_images(gold, job.image, manifest)
    base = c.status_offset + STATUS_BYTES
    measured = job.image[base:base + PROFILE_ENTRY_BYTES * n].view("<u8").reshape(n, 8)[:, 0]
    pm = model_program(instrs, accel, routing, task, mem)
    agg: dict[str, list[int]] = {}
    for o in pm.ops:
        row = agg.setdefault(o.op, [0, 0, 0])
        row[0] += 1
        row[1] += o.cycles
        row[2] += int(measured[o.index])
    rows = tuple(OpTypeRow(op, *v) for op, v in sorted(agg.items(), key=lambda kv: -kv[1][2]))
    shape = f" ({', '.join(model_overrides)}: {model.num_tokens} tokens)" if model_overrides else ""
    title = (f"{accel.name} {model.name}{shape} task {task} instructions {first}..{last} "
             f"({mem.describe()})")
    per_instr = tuple((o.index, o.op, o.cycles, int(measured[o.index])) for o in pm.ops)
    return SpanComparison(title, rows, pm.cycles, res.cycles, identical, res.wall_s, per_instr)


def _rows(cmp: SpanComparison) -> list[tuple[str, str]]:
    out = [(cmp.title, "identical to golden" if cmp.identical else "DIFFERENT from golden")]
    for r in cmp.rows:
        out.append((f"  {r.op} x{r.count}: modelled / RTL cycles",
                    f"{r.modelled:,} / {r.rtl:,} ({r.error:+.1%})"))
    ratio = cmp.modelled_total / max(cmp.rtl_total, 1) - 1
    out.append(("  whole span incl. dispatcher: modelled / RTL cycles",
                f"{cmp.modelled_total:,} / {cmp.rtl_total:,} ({ratio:+.1%}, {cmp.wall_s:.0f} s wall)"))
    return out


#: Blocks 0-1 of m3vit-tiny on edge-moe-zcu102 with a 32x64 image: 9 tokens through the
#: same engines and experts (the 129-token span did not finish on a loaded 2-core machine).
ZCU102_SLICE = ("image_height=32", "image_width=64")

#: Edge-MoE's measured latency per image and task on the ZCU102 (reference/edge-moe.md).
EDGE_MOE_MS = 34.64


def edge_moe_figures(accel_name: str = "edge-moe-zcu102",
                     model_name: str = "m3vit-tiny") -> list[tuple[str, str]]:
    """MODELLED m3vit-tiny latency with memory: backbone, head, per task, both tasks, with
    the ratios to Edge-MoE's measured 34.64 ms and to the compute roofline."""
    from ..perf.report import model_tasks, roofline_macs_per_cycle, split_parts

    accel, model = load_accel(accel_name), load_model(model_name)
    c = compile_model(model, accel)
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    macs: dict[str, dict[int, int]] = {}
    routings: dict[str, dict[int, list[int]]] = {}
    models = model_tasks(accel, c.instrs, image, c.program_offset, c.status_offset,
                         c.manifest["tasks"], macs, routings)
    mhz, peak = float(accel.clock_mhz), roofline_macs_per_cycle(accel)
    rows, both = [], 0.0
    for task, pm in models.items():
        parts = split_parts(pm, c.instrs, macs[task])
        for name, part in parts.items():
            roof = part.macs / peak / mhz / 1e3
            ms = part.ms(mhz)
            rows.append((f"{accel.name} {model.name} {task} {name}: modelled ms",
                         f"{ms:.2f} (compute roofline {roof:.2f} ms, {ms / roof:.1f}x it)"))
        ms = pm.latency_ms
        both += ms
        rows.append((f"{accel.name} {model.name} {task} whole task: modelled ms",
                     f"{ms:.2f} ({ms / EDGE_MOE_MS:.2f}x Edge-MoE's measured {EDGE_MOE_MS} ms)"))
    one = next(iter(models.values())).latency_ms
    rows.append((f"{accel.name} {model.name} both tasks (two runs): modelled ms",
                 f"{both:.2f} ({both / one:.2f}x one task)"))
    return rows + two_task_rows(accel, c, models, routings)


def two_task_rows(accel, c, models, routings) -> list[tuple[str, str]]:
    """MODELLED: both tasks with the shared prefix run once, what the 1.6x target needs,
    and what batching both tasks through the shared-weight instructions would save."""
    from ..perf.tasks import batched_gain, rest_allowed, two_task_figures

    f = two_task_figures(models, len(c.instrs), c.shared_prefix)
    need = rest_allowed(f.prefix)
    rest = max(f.rest.values())
    g = batched_gain(c.instrs, accel, memory_timing(accel), c.shared_prefix, routings)
    name = f"{accel.name} {c.manifest['model']}"
    return [
        (f"{name} both tasks, shared prefix run once: modelled ms",
         (f"{f.ms(f.both):.2f} ({f.ratio:.2f}x one task; prefix {f.ms(f.prefix):.2f} ms, "
         f"per-task rest up to {f.ms(rest):.2f} ms)")),
        (f"{name} both tasks <= 1.6x one task needs the rest <= 1.5x the prefix",
         f"<= {f.ms(need):.2f} ms ({rest / need:.1f}x over)"),
        (f"{name} both tasks batched through the {g.ops} shared-weight instructions",
         (f"{f.ms(g.batched):.2f} ms, saves {f.ms(g.saved):.2f} ms "
         f"({g.weight_bytes_saved / 2**20:.1f} MiB weights read once): "
         f"{g.batched / f.one:.2f}x one task (modelled, not built)")),
    ]


def run(quick: bool = False) -> list[tuple[str, str]]:
    """Per-op-type table, model vs RTL with board memory (see the module docstring)."""
    rows = _rows(compare_span("tiny", "m3vit-micro"))
    # the HLS kernel's layout: the weight prefetch on a master and port of its own
    rows += _rows(compare_span("tiny", "m3vit-micro", ports=2))
    # ... and striped over two weight masters (the RTL top's three-port layout)
    rows += _rows(compare_span("tiny", "m3vit-micro", ports=3))
    if not quick:
        rows += _rows(compare_span("edge-moe-zcu102", "m3vit-tiny", blocks=True,
                                   model_overrides=ZCU102_SLICE))
        # the W8A8 design point's program (int8 attention) on its three-master top
        rows += _rows(compare_span("edge-moe-zcu102-w8a8", "m3vit-tiny", blocks=True,
                                   model_overrides=ZCU102_SLICE, ports=3))
        rows += edge_moe_figures()
    return rows
