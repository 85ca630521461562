"""The cycle model with memory: every instruction of a run, with the overlap the RTL has.

Per instruction (edgemoe.perf.engines) plus what the dispatcher adds around it
(edgemoe_ctrl.sv): fetching the instruction and peeking at the next one (two dependent
64-byte reads) and writing the profile entry are outside the instruction's own counter.
While an instruction runs, the next linear-engine instruction's first strip of weights
loads through the prefetch DMA, which shares the read channel; who pays for it follows
the RTL's per-op profile counters (:func:`_prefetch_split`): the running op loses the
prefetch bursts its reads queue behind, the dispatcher's fetch and peek queue too, and
the next job waits at its strip 0 for whatever of the prefetch is left.  With two or more
m_axi masters the prefetch has its own (``MemoryTiming.prefetch_apart``): nothing queues
behind it and the next job waits only for what the op, the dispatcher and the job's own
strip-0 bias and multiplier reads did not cover;
with three it moves at two ports' rate (``MemoryTiming.prefetch_cycles``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Flag, Instr, Op
from .engines import op_cycles
from .layernorm import layernorm_beside_prefetch
from .memory import PF_BURST, MemoryTiming, memory_timing
from .moe import expert_keep
from .traffic import Traffic, lin_geometry

__all__ = ["CONTROL_CYCLES", "ModelledOp", "ProgramModel", "model_program"]

#: Dispatcher cycles per instruction besides its reads' latency (S_NEXT..S_PEEK_DEC:
#: fetch, decode, operand check; S_PROF: the profile entry), for an instruction that runs
#: (fetch + peek) and one the task skips (fetch only).
CONTROL_CYCLES = {"run": 114, "skip": 20}
#: Most of the prefetch's read time an engine with dependent reads loses to it (fitted on
#: tiny/m3vit-micro RTL runs: the R channel still carries some of its own reads).
PF_SERIAL_SHARE = 0.9
#: Share of the prefetch's read time a linear job whose token loop is bound by its row
#: reads' round trip loses to it at least (each row read waits behind the queued prefetch
#: bursts; the other row slot hides about half; fitted on vovnet-tiny's 1x1 convs).
LIN_ROW_SHARE = 0.5
#: Engines whose reads queue behind the prefetch bursts: those issued one after another's
#: data (not streamed ahead), and the fused attention, whose K/V loads restart per head.
_SERIAL = {Op.LAYERNORM, Op.MOE_GATE, Op.UPSAMPLE, Op.ADD, Op.MOE_EXPERTS, Op.ATTENTION,
           Op.POOL}
_LIN = {Op.LINEAR, Op.CONV, Op.MOE_GATE}


@dataclass(frozen=True)
class ModelledOp:
    """Modelled figures of one executed instruction.

    Attributes:
        index: Instruction index in the program.
        op: Opcode name.
        cycles: Modelled cycles the instruction's profile counter would show.
        compute: Ideal compute cycles (the op spec's cycle term, no memory).
        traffic: Bytes and beats actually moved.
        bound: What limits it: ``compute`` or ``memory``.
    """

    index: int
    op: str
    cycles: int
    compute: int
    traffic: Traffic
    bound: str


@dataclass(frozen=True)
class ProgramModel:
    """The model of one run (one task) of a program on a design point's board."""

    accel_name: str
    memory: MemoryTiming
    clock_mhz: float
    ops: tuple[ModelledOp, ...]
    control_cycles: int

    @property
    def cycles(self) -> int:
        """Modelled cycles of the whole run: instructions plus the dispatcher."""
        return sum(o.cycles for o in self.ops) + self.control_cycles

    @property
    def latency_ms(self) -> float:
        """Modelled run time in milliseconds."""
        return self.cycles / self.clock_mhz / 1e3

    def by_op(self) -> dict[str, dict[str, int]]:
        """Per opcode: count, modelled cycles, compute cycles, bytes read and written."""
        out: dict[str, dict[str, int]] = {}
        for o in self.ops:
            agg = out.setdefault(o.op, dict.fromkeys(
                ("count", "cycles", "compute", "read_bytes", "write_bytes"), 0))
            agg["count"] += 1
            agg["cycles"] += o.cycles
            agg["compute"] += o.compute
            agg["read_bytes"] += o.traffic.read_bytes
            agg["write_bytes"] += o.traffic.write_bytes
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["cycles"]))

    def table(self) -> str:
        """Per-op-type table, labelled modelled."""
        head = (f"{'op':<12} {'count':>5} {'compute cyc':>12} {'modelled cyc':>13} "
                f"{'read MB':>9} {'write MB':>9} {'share':>6}")
        total = max(self.cycles, 1)
        lines = [f"MODELLED with memory on {self.accel_name}: {self.memory.describe()}",
                 head, "-" * len(head)]
        for name, agg in self.by_op().items():
            lines.append(f"{name:<12} {agg['count']:>5} {agg['compute']:>12,} "
                         f"{agg['cycles']:>13,} {agg['read_bytes'] / 1e6:>9.3f} "
                         f"{agg['write_bytes'] / 1e6:>9.3f} {100 * agg['cycles'] / total:>5.1f}%")
        lines.append(f"{'dispatcher':<12} {len(self.ops):>5} {'':>12} {self.control_cycles:>13,}")
        lines.append(f"{'total':<12} {'':>5} {sum(o.compute for o in self.ops):>12,} "
                     f"{self.cycles:>13,}  = {self.latency_ms:.3f} ms at {self.clock_mhz:g} MHz "
                     "(modelled)")
        return "\n".join(lines)


def _queue(mem: MemoryTiming) -> float:
    """Cycles of the prefetch bursts a read can find queued ahead of it in the memory."""
    return mem.prefetch_cycles((mem.outstanding - 1) * PF_BURST)


def _serial_wait(mem: MemoryTiming, commands: int, pf: float, free: float) -> float:
    """Cycles an engine with dependent reads loses to a prefetch of ``pf`` cycles.

    The memory answers bursts in order, so each of the engine's read commands after its
    first (issued with the instruction, ahead of the prefetch) waits behind the prefetch
    bursts queued ahead of it: at most ``outstanding - 1`` of ``PF_BURST`` beats.  Between
    two commands the prefetch also moves in the R channel's ``free`` share.  An engine
    with few commands (a LAYERNORM of a few rows) so loses a few queues' worth and leaves
    the rest of the prefetch to the job that waits for it.
    """
    queue = _queue(mem)
    gap = free / max(commands, 1)
    left, wait = pf, 0.0
    for k in range(1, commands):
        left -= gap if k > 1 else 0.0
        if left <= 0:
            break
        wait += min(queue, left)
        left -= queue
    return min(PF_SERIAL_SHARE * pf, wait)


def _macs_per_token(ins: Instr, accel) -> int:
    """MAC cycles of one token of the first strip of a LINEAR or CONV (0 for other ops)."""
    op = Op(ins.op)
    if op == Op.LINEAR:
        n, k = ins.get("out_features"), ins.get("in_features")
    elif op == Op.CONV:
        n, k = ins.get("out_ch"), ins.get("in_ch") * (ins.get("kernel_stride_pad") & 0xFF) ** 2
    else:
        return 0
    geo = lin_geometry(accel, n, k, 1)
    return geo.strip_tiles * geo.tile_cycles


def _prefetch_split(mem: MemoryTiming, p_cycles: float, p_traffic: Traffic, p_op: Op,
                    p_prefetched: int, pf: float, p_macs: int = 0,
                    p_waited: float = 0.0, p_ins: Instr | None = None, accel=None,
                    peeks: bool = True) -> tuple[float, float, float]:
    """Who pays for the next job's strip-0 prefetch of ``pf`` cycles, as the RTL counts it.

    The prefetch starts with the current op's job and moves while the R channel is not
    carrying the op's own reads (less its own prefetched strip), and in the time the op
    loses to it; then during the dispatcher's fetch and peek of the next instruction, two
    reads that queue behind it as well; the next job waits at its strip 0 for the rest
    (edgemoe_lin.sv J_W0: the RTL profile counts that wait to the job).

    Returns:
        (cycles the current op loses, cycles the dispatcher's reads lose, cycles the next
        job waits).
    """
    if mem.prefetch_apart:
        return 0.0, 0.0, _prefetch_wait_apart(mem, p_cycles - p_waited, pf, peeks)
    own = mem.beats_cycles(p_traffic.read_beats - p_prefetched)
    # a job that waited at strip 0 for its own prefetch takes the next one only after it
    free = max(0.0, p_cycles - own - p_waited)
    if p_op in _SERIAL:
        # the attention's generator streams its reads ahead: per head only the start of
        # the K/V load and of the Q rows find the prefetch bursts queued ahead of them
        cmds = 2 * p_ins.get("heads") + 1 if p_op == Op.ATTENTION else p_traffic.read_cmds
        lost = _serial_wait(mem, cmds, pf, free)
        if p_op == Op.LAYERNORM:  # reads a ring of rows ahead: follow its schedule
            lost, rest = layernorm_beside_prefetch(p_ins, accel, mem, pf, _queue(mem))
            free = mem.latency + pf - lost - rest
    else:
        # a streaming engine keeps the R channel as busy as its reads make it: the
        # prefetch bursts queued among them delay it by that share of their time ...
        busy = min(1.0, own / max(p_cycles, 1.0))
        lost = busy * pf
        # ... and each row read queues behind the bursts ahead of it: hidden when the
        # other row slot's MACs outlast a full queue, else about half of it shows
        if p_macs < mem.latency + _queue(mem):
            lost = max(lost, LIN_ROW_SHARE * pf)
    left = mem.latency + pf - free - lost
    queue = _queue(mem)
    fetch = 0.0
    # the fetch and the peek (none for the last instruction or a MOE_EXPERTS:
    # edgemoe_ctrl.sv S_CHECK): one read latency each
    for _ in range(2 if peeks else 1):
        w = min(queue, max(0.0, left))
        fetch += w
        left -= w + mem.latency
    left -= CONTROL_CYCLES["run"]
    return lost, fetch, max(0.0, left)


def _prefetch_wait_apart(mem: MemoryTiming, during: float, pf: float, peeks: bool) -> float:
    """Cycles the next job waits for a prefetch on a port of its own (``mem.prefetch_apart``).

    Nothing queues behind it: it moves at its ports' rate (``pf`` cycles) through the
    ``during`` cycles of the op it starts with (after the strip-0 wait of that op's own job) and through the
    dispatcher's fetch and peek; the next job waits for the rest.
    """
    dispatch = (2 if peeks else 1) * mem.latency + CONTROL_CYCLES["run"]
    return max(0.0, mem.latency + pf - max(0.0, during) - dispatch)


def _strip0_beats(ins: Instr, accel, bus: int) -> int:
    """R beats of the first weight strip the prefetch loads for ``ins`` (0: no prefetch)."""
    op = Op(ins.op)
    if op not in _LIN:
        return 0
    if op == Op.LINEAR:
        n, k = ins.get("out_features"), ins.get("in_features")
    elif op == Op.CONV:
        ksp = ins.get("kernel_stride_pad")
        n, k = ins.get("out_ch"), ins.get("in_ch") * (ksp & 0xFF) ** 2
    else:
        n, k = ins.get("experts"), ins.get("dim")
    wb = 1 if ins.has(Flag.WFMT_Q8 | Flag.WFMT_Q4) else max(  # int8 codes (mixed: as int8)
        int(getattr(accel.formats, r).storage_dtype.itemsize)
        for r in ("linear_weight", "conv_weight", "patch_weight"))
    geo = lin_geometry(accel, n, k, wb)
    return -(-geo.strip_tiles * geo.tiles_in * geo.tile_bytes // bus)


def model_program(instrs: list[Instr] | tuple[Instr, ...], accel,
                  routing: dict[int, list[int]] | None = None, task: int = 0,
                  memory: MemoryTiming | None = None, image=None) -> ProgramModel:
    """Model a run of ``instrs`` for ``task`` on ``accel``'s board.

    Args:
        instrs: The program.
        accel: The design point.
        routing: Tokens per expert of each MOE_EXPERTS, by instruction index
            (:func:`edgemoe.perf.traffic.golden_routing`); an instruction missing from it
            is modelled with the tokens spread evenly over the experts (top-2).
        task: The device task.
        memory: Memory timing (default: :func:`memory_timing` of ``accel``, one port).
        image: The memory image (its weights region): a WSKIP MOE_EXPERTS runs the
            tiles its maps keep (:func:`edgemoe.perf.moe.expert_keep`); without it every tile.
    """
    from ..golden.cycles import ideal_cycles

    mem = memory or memory_timing(accel)
    run = [(i, ins) for i, ins in enumerate(instrs) if ins.runs_for(task) and ins.op != Op.NOP]
    out: list[ModelledOp] = []
    prev: tuple[float, Traffic, Op, int, Instr, float] | None = None
    cycles_list: list[float] = []
    traffics: list[Traffic] = []
    routing = routing or {}
    counts_of: dict[int, list[int]] = {}
    dispatch = 0.0  # the dispatcher's reads waiting behind prefetch bursts
    for i, ins in run:
        op = Op(ins.op)
        counts = None
        if op == Op.MOE_EXPERTS:
            e, t = ins.get("experts"), ins.get("tokens")
            counts = counts_of[i] = list(routing.get(i, [min(t, -(-2 * t // e))] * e))
        traffic = Traffic()
        pf_beats = _strip0_beats(ins, accel, mem.bus_bytes) if prev is not None and \
            prev[2] != Op.MOE_EXPERTS else 0
        keep = expert_keep(image, ins, accel) if image is not None and op == Op.MOE_EXPERTS \
            and ins.has(Flag.WSKIP) else None
        c = op_cycles(ins, accel, mem, traffic, prefetched=pf_beats > 0, task=task,
                      counts=counts, keep=keep)
        lead = traffic.before_w0 or 0.0  # (0 off the linear engine)
        if pf_beats and cycles_list:
            lost, fetch, wait = _prefetch_split(mem, cycles_list[-1], traffics[-1], prev[2],
                                                prev[3], mem.prefetch_cycles(pf_beats),
                                                _macs_per_token(prev[4], accel), prev[5],
                                                prev[4], accel,
                                                i + 1 < len(instrs) and op != Op.MOE_EXPERTS)
            if mem.prefetch_apart:  # strip 0's bias and multiplier reads meanwhile
                wait = max(0.0, wait - lead)
            cycles_list[-1] += lost
            dispatch += fetch
            c += wait
        else:
            wait = 0.0
        cycles_list.append(c)
        traffics.append(traffic)
        # the next job's prefetch starts once this one decided about its strip 0, after
        # those reads (edgemoe_lin_prefetch.sv w0_decided); on one port the prefetch
        # split's fitted rules count them as before
        before = wait + lead if mem.prefetch_apart else wait
        prev = (c, traffic, op, pf_beats, ins, before)
    for (i, ins), c, traffic in zip(run, cycles_list, traffics):
        prof = {"macs": 0}
        if Op(ins.op) == Op.MOE_EXPERTS:
            routed = sum(counts_of[i])
            prof["macs"] = routed * 2 * ins.get("hidden") * ins.get("dim")
        compute = ideal_cycles(ins, accel, prof)
        bound = "memory" if mem.beats_cycles(traffic.read_beats) > 0.5 * c else "compute"
        out.append(ModelledOp(i, Op(ins.op).name, round(c), int(compute), traffic, bound))
    skipped = len(instrs) - len(run)
    control = len(run) * (2 * mem.latency + CONTROL_CYCLES["run"]) + \
        skipped * (mem.latency + CONTROL_CYCLES["skip"]) + round(dispatch)
    return ProgramModel(accel.name, mem, float(accel.clock_mhz), tuple(out), control)
