"""Both tasks of an image: what the shared prefix saves and what batching the tasks would.

With the prefix reused (``program.shared_prefix``: every instruction before the first
task-dependent one runs once), both tasks cost ``P + R0 + R1`` against one task's
``P + R0``, where P is the prefix and R the per-task rest.  Both <= ``target`` x one task
needs ``R <= (target - 1) / (2 - target) x P`` (1.5 P for 1.6x): :class:`TwoTaskFigures`.

Batching (not built, MODELLED): after the prefix the backbone's LINEARs and MOE_EXPERTS
still use the same weights in both tasks (only the routers and heads differ), so one
instruction over both tasks' tokens would fetch each weight strip once.
:func:`batched_gain` models that program (:func:`batched_program`) against the two runs,
prefetch and all: what the second task's weight loads cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import ALL_TASKS, Instr, Op
from .memory import MemoryTiming
from .model import CONTROL_CYCLES, ProgramModel, model_program

__all__ = ["BatchedGain", "TwoTaskFigures", "batched_gain", "batched_program", "rest_allowed",
           "two_task_figures"]


def rest_allowed(prefix_cycles: float, target: float = 1.6) -> float:
    """Most per-task cycles after the prefix for both tasks <= ``target`` x one task."""
    if not 1.0 < target < 2.0:
        raise ValueError(f"target ratio {target} must be between 1 and 2 (exclusive)")
    return (target - 1.0) / (2.0 - target) * prefix_cycles


@dataclass(frozen=True)
class TwoTaskFigures:
    """MODELLED cycles of the shared prefix and of each task's rest.

    Attributes:
        prefix: Cycles of the instructions before ``program.shared_prefix`` (dispatcher
            included), run once.
        rest: Task name -> cycles of the rest of its run.
        clock_mhz: Clock of the design point.
    """

    prefix: int
    rest: dict[str, int]
    clock_mhz: float

    @property
    def one(self) -> int:
        """Cycles of the first task alone."""
        return self.prefix + next(iter(self.rest.values()))

    @property
    def both(self) -> int:
        """Cycles of all tasks with the prefix run once."""
        return self.prefix + sum(self.rest.values())

    @property
    def ratio(self) -> float:
        """All tasks / the first task alone."""
        return self.both / self.one

    def ms(self, cycles: float) -> float:
        """``cycles`` in milliseconds."""
        return cycles / self.clock_mhz / 1e3


def _control(pm: ProgramModel, runs: bool) -> int:
    lat = pm.memory.latency
    return 2 * lat + CONTROL_CYCLES["run"] if runs else lat + CONTROL_CYCLES["skip"]


def _dispatch_waits(pm: ProgramModel, n_instructions: int) -> int:
    """The dispatcher's reads waiting behind weight prefetches over the whole run (not
    split by instruction: counted with the rest, where the prefetched jobs mostly are)."""
    ran = len(pm.ops)
    return pm.control_cycles - ran * _control(pm, True) - (n_instructions - ran) * _control(pm, False)


def two_task_figures(models: dict[str, ProgramModel], n_instructions: int,
                     shared_prefix: int) -> TwoTaskFigures:
    """Split each task's modelled run at ``shared_prefix`` (dispatcher cycles included).

    Args:
        models: Task name -> its :class:`ProgramModel` (first task first).
        n_instructions: Instructions of the program.
        shared_prefix: Index of the first task-dependent instruction.
    """
    first = next(iter(models.values()))
    prefix = sum(o.cycles + _control(first, True) for o in first.ops if o.index < shared_prefix)
    rest = {}
    for name, pm in models.items():
        ran = [o for o in pm.ops if o.index >= shared_prefix]
        skipped = n_instructions - shared_prefix - len(ran)
        rest[name] = (sum(o.cycles + _control(pm, True) for o in ran)
                      + skipped * _control(pm, False) + _dispatch_waits(pm, n_instructions))
    return TwoTaskFigures(prefix, rest, first.clock_mhz)


@dataclass(frozen=True)
class BatchedGain:
    """MODELLED cycles of both tasks: two runs (prefix once) against one batched run.

    Attributes:
        ops: Instructions batched (shared weights, after the prefix).
        separate: Cycles of both tasks' runs with the prefix run once.
        batched: Cycles of the batched program.
        weight_bytes_saved: Weight and bias bytes the batched run does not read again.
    """

    ops: int
    separate: int
    batched: int
    weight_bytes_saved: int

    @property
    def saved(self) -> int:
        """Cycles saved by batching."""
        return self.separate - self.batched


def _doubled(ins: Instr) -> Instr:
    fields = dict(ins.named(), tokens=2 * ins.get("tokens"))
    return Instr.make(Op(ins.op), ins.flags, ALL_TASKS, ins.comment, **fields)


def _every_task(ins: Instr) -> Instr:
    return Instr.make(Op(ins.op), ins.flags, ALL_TASKS, ins.comment, **ins.named())


def batched_program(instrs, shared_prefix: int, routing: dict[str, dict[int, list[int]]],
                    ) -> tuple[list[Instr], dict[int, list[int]], int]:
    """Both tasks as one program: after the prefix every LINEAR and MOE_EXPERTS of all
    tasks runs once over both tasks' tokens (tokens doubled, experts routed the union);
    the per-image ops (LAYERNORM, ATTENTION, the routers, ADD) run once per task; each
    task's own instructions (its head) once.

    Returns:
        (the program, tokens per expert of its MOE_EXPERTS, instructions batched).
    """
    tasks = list(routing)
    out, rout, batched = list(instrs[:shared_prefix]), {}, 0
    for i, ins in enumerate(instrs[shared_prefix:], shared_prefix):
        op = Op(ins.op)
        if ins.task_mask == ALL_TASKS and op in (Op.LINEAR, Op.MOE_EXPERTS):
            if op == Op.MOE_EXPERTS:
                rout[len(out)] = [sum(c) for c in zip(*(routing[t].get(i, []) for t in tasks))]
            out.append(_doubled(ins))
            batched += 1
        else:
            out += [_every_task(ins)] * sum(ins.runs_for(t) for t in range(len(tasks)))
    return out, rout, batched


def batched_gain(instrs, accel, mem: MemoryTiming, shared_prefix: int,
                 routing: dict[str, dict[int, list[int]]]) -> BatchedGain:
    """Model :func:`batched_program` against both tasks run apart (prefix once).

    Args:
        instrs: The program.
        accel: The design point.
        mem: Its memory timing.
        shared_prefix: Index of the first task-dependent instruction.
        routing: Task name -> tokens per expert of each MOE_EXPERTS (first task first).
    """
    models = {t: model_program(instrs, accel, r, i, mem) for i, (t, r) in enumerate(routing.items())}
    apart = two_task_figures(models, len(instrs), shared_prefix)
    wbytes = sum(o.traffic.weight_bytes for pm in models.values() for o in pm.ops)
    wbytes -= sum(o.traffic.weight_bytes for o in next(iter(models.values())).ops
                  if o.index < shared_prefix)  # the prefix runs once
    program, rout, n = batched_program(instrs, shared_prefix, routing)
    one = model_program(program, accel, rout, 0, mem)
    return BatchedGain(n, apart.both, one.cycles,
                       wbytes - sum(o.traffic.weight_bytes for o in one.ops))
