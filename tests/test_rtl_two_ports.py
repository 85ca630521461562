"""The SV top with two AXI masters, as the HLS kernel runs on the board: the weight prefetch
on ``m_axi_wgt`` (a PS port of its own), everything else on ``m_axi_mem``.  The RTL stays
byte-identical to golden, the new master carries the prefetch alone, and the cycle model's
``ports=2`` figures (edgemoe.perf, ``MemoryTiming.prefetch_apart``) follow the RTL's within
5% on the board memory (sim/memory_model.py: each master's bench RAM a port of its own)."""

from __future__ import annotations

import math
import subprocess
from collections import Counter

import numpy as np
import pytest
from prefetchutil import CASES, OUT, STATUS, ln_then_linear_images
from spanutil import M3VIT_OPS, assert_span_within

from edgemoe.golden import execute
from edgemoe.params import load_accel
from edgemoe.perf import memory_timing, model_program
from edgemoe.rtl import TOP, RtlError, render_rtl


def _top(accel, tmp_path, masters: int) -> str:
    paths = render_rtl(accel, tmp_path / f"m{masters}", masters=masters)
    return next(p for p in paths if p.name == f"{TOP}.sv").read_text()


@pytest.mark.codegen
def test_two_masters_render_m_axi_wgt_for_the_prefetch_alone(tmp_path):
    """masters=2 adds the read-only m_axi_wgt (AR and R, no write channel) and drops the
    ARID split; masters=1 keeps the shared AR/R with the prefetch on ARID 1."""
    accel = load_accel("tiny")
    one, two = _top(accel, tmp_path, 1), _top(accel, tmp_path, 2)
    assert "m_axi_wgt" not in one and "assign m_axi_mem_arid = ar_sel;" in one
    assert "m_axi_wgt_arvalid" in two and "m_axi_wgt_rready" in two
    assert "m_axi_wgt_aw" not in two and "m_axi_wgt_w" not in two
    assert "ar_sel" not in two and "assign m_axi_mem_arid = '0;" in two
    assert ".rdata(m_axi_wgt_rdata)" in two  # u_pf_dma reads the new master
    with pytest.raises(RtlError, match="pass 1, 2 or 3"):
        render_rtl(accel, tmp_path / "m4", masters=4)


@pytest.mark.sim
@pytest.mark.parametrize("overrides", [(), ("ops=[linear, add]",)], ids=["tiny", "lin-add"])
def test_two_master_top_is_verilator_lint_clean(tmp_path, overrides):
    from edgemoe.rtl.simulator import ensure_verilator

    paths = render_rtl(load_accel("tiny", overrides), tmp_path, masters=2)
    proc = subprocess.run([str(ensure_verilator()), "--lint-only", "-Wall", "--top-module", TOP,
                           *map(str, paths)], check=False, capture_output=True, text=True,
                          timeout=120)
    messages = [line for line in proc.stderr.splitlines() if line.startswith("%")]
    assert proc.returncode == 0 and not messages, "\n".join(messages[:20])


@pytest.mark.sim
@pytest.mark.slow
def test_two_masters_equal_golden_and_m_axi_wgt_carries_only_the_prefetch():
    """m3vit-micro on tiny, task 0, on the board memory: the two-master RTL's whole image
    equals golden's; m_axi_wgt carries exactly the bursts the one-master top issued as
    the prefetch (ARID 1), and m_axi_mem none of them (the engines' reads alone)."""
    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.models import load_default_image
    from edgemoe.params import load_model
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel, model = load_accel("tiny"), load_model("m3vit-micro")
    c = compile_model(model, accel)
    pixels = load_default_image(model)
    gold = c.fresh_image()
    write_pixels(gold, c.manifest, pixels)
    args = (c.program_offset, c.n_instructions, 0, c.status_offset)
    assert execute(gold, accel, *args) == 0
    monitors = {}
    for ports in (1, 2):
        img = c.fresh_image()
        write_pixels(img, c.manifest, pixels)
        ex = RtlsimExecutor(accel, memory=memory_timing(accel, ports=ports).bench_spec())
        assert ex.masters == ports
        res = ex.run_jobs([RtlJob(img, *args, monitor=True)])[0]
        assert not res.timed_out and res.error == 0
        assert_images_equal(img, gold, c.manifest, f"{ports} master(s)")
        monitors[ports] = res.monitor
    one, two = monitors[1], monitors[2]
    assert one["ar"].get("mem/1", 0) > 0 and "wgt" not in one["ar"]
    assert two["ar"].get("wgt", 0) > 0 and two["ar"].get("mem/1", 0) == 0
    assert Counter(map(tuple, two["prefetch_ar"])) == Counter(map(tuple, one["prefetch_ar"]))
    assert two["ar"]["mem/0"] == one["ar"]["mem/0"]  # the engines read the same bursts
    assert two["wgt_r_beats"] == sum(beats for _, beats in two["prefetch_ar"])


@pytest.mark.sim
def test_weight_prefetch_on_its_own_port_no_longer_slows_the_op_beside_it():
    """The three LAYERNORM-then-LINEAR cases of the one-port test at ports=2 on tiny: the
    model's per-op cycles within 5% of the RTL's; and from the RTL alone, the LAYERNORM
    takes exactly as long as without the prefetch (a program of the LAYERNORM only)."""
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel = load_accel("tiny")
    mem = memory_timing(accel, ports=2)
    status = STATUS
    progs, images, golds = zip(*ln_then_linear_images(accel))
    jobs = [RtlJob(image.copy(), 0, n, 0, status) for image in images for n in (2, 1)]
    ex = RtlsimExecutor(accel, memory=mem.bench_spec())
    assert ex.masters == 2
    results = ex.run_jobs(jobs)
    for k, ((tokens, dim), gold, prog) in enumerate(zip(CASES, golds, progs)):
        both, alone = jobs[2 * k], jobs[2 * k + 1]
        assert results[2 * k].error == 0 and results[2 * k + 1].error == 0
        out = slice(OUT, OUT + tokens * 16 * 4)
        assert np.array_equal(both.image[out], gold[out])
        rtl = both.image[status + 64:status + 64 + 128].view("<u8").reshape(2, 8)[:, 0]
        ln_alone = int(alone.image[status + 64:status + 72].view("<u8")[0])
        assert int(rtl[0]) == ln_alone, (tokens, dim, int(rtl[0]), ln_alone)
        modelled = [o.cycles for o in model_program(prog, accel, memory=mem).ops]
        for name, m, r in zip(("LAYERNORM", "LINEAR"), modelled, rtl):
            assert math.isclose(m, int(r), rel_tol=0.05), (tokens, dim, name, m, int(r))


@pytest.mark.sim
def test_expert_jobs_queue_behind_the_prefetch_on_one_port_only():
    """m3vit-micro's MOE_EXPERTS on tiny (experts with 8, 0, 9, 1 tokens), run alone from the
    state golden reaches before it: on one port each expert job with a prefetch beside it
    (every fc1, each fc2 but the last) waits for the prefetch bursts queued ahead of its
    next read; on two ports none does.  The model follows both within 5%."""
    from edgemoe.compare import diff_images
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.isa import INSTR_BYTES, Op
    from edgemoe.layout import STATUS_BYTES
    from edgemoe.models import load_default_image
    from edgemoe.params import load_model
    from edgemoe.perf import golden_routing
    from edgemoe.perf.traffic import lin_geometry
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel, model = load_accel("tiny"), load_model("m3vit-micro")
    c = compile_model(model, accel)
    write_pixels(c.image, c.manifest, load_default_image(model))
    at = next(i for i, ins in enumerate(c.instrs) if ins.op == Op.MOE_EXPERTS)
    ins = c.instrs[at]
    state = c.fresh_image()
    assert execute(state, accel, c.program_offset, at, 0, c.status_offset) == 0
    offset = c.program_offset + INSTR_BYTES * at
    routing = golden_routing(state, accel, offset, [ins], 0, c.status_offset)
    assert routing[0] == [8, 0, 9, 1]
    gold = state.copy()
    assert execute(gold, accel, offset, 1, 0, c.status_offset) == 0
    manifest = dict(c.manifest, program={"offset": c.program_offset, "n_instructions": 1})
    measured = {}
    for ports in (1, 2):
        mem = memory_timing(accel, ports=ports)
        job = RtlJob(state.copy(), offset, 1, 0, c.status_offset)
        res = RtlsimExecutor(accel, memory=mem.bench_spec()).run_jobs([job])[0]
        assert res.error == 0 and not diff_images(gold, job.image, manifest)
        base = c.status_offset + STATUS_BYTES
        measured[ports] = int(job.image[base:base + 8].view("<u8")[0])
        modelled = model_program([ins], accel, routing, 0, mem).ops[0].cycles
        assert math.isclose(modelled, measured[ports], rel_tol=0.05), (ports, modelled,
                                                                      measured)
    # 5 jobs beside a prefetch of one strip (192 beats at a beat a cycle, no more than the
    # port's queue holds): each loses about the prefetch less the read latency it hides
    mem = memory_timing(accel)
    geo = lin_geometry(accel, 48, 32, 2)  # fc1 (and fc2) of one expert: one strip each
    pf = mem.beats_cycles(geo.strip_tiles * geo.tiles_in * geo.tile_bytes // mem.bus_bytes)
    assert (geo.strips, pf) == (1, 192)
    assert measured[1] - measured[2] >= 0.75 * 5 * (pf - mem.latency), measured


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize(("task", "overrides"), [
    (0, ()), (1, ()),
    # a 256-bit bus on the 128-bit port, the ZCU102's situation: every stream at half rate
    # (a Verilator model of its own: long tier)
    pytest.param(0, ("axi_bits=256",), marks=pytest.mark.long)],
    ids=["task0", "task1", "task0-axi256"])
def test_model_within_5_percent_of_rtl_per_op_type_at_two_ports(task, overrides):
    """m3vit-micro on tiny with the prefetch on its own port: every op type and the whole
    run within 5% of the two-master RTL on the board memory, byte-identical to golden."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("tiny", "m3vit-micro", task=task, overrides=overrides, ports=2)
    assert "2 PS port(s)" in cmp.title
    assert_span_within(cmp, M3VIT_OPS)


@pytest.mark.sim
@pytest.mark.slow
def test_rtlsim_cli_runs_the_two_port_top_on_the_board_memory(tmp_path, capsys):
    """`edgemoe rtlsim --board-memory --ports 2`: names both masters and the ports, and the
    RTL is still byte-identical to golden."""
    import json

    from edgemoe.cli import main

    out = tmp_path / "report.json"
    assert main(["rtlsim", "--accel", "tiny", "--model", "m3vit-micro", "--task", "depth",
                 "--board-memory", "--ports", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 PS port(s)" in text and "m_axi_wgt (the weight prefetch)" in text
    (task,) = json.loads(out.read_text())["tasks"]
    assert task["identical"] and task["error"] == 0


@pytest.mark.unit
def test_rtlsim_refuses_more_ports_than_the_kernel_has(tmp_path, capsys):
    """tiny's kernel has 4 m_axi masters: --ports 5 is a one-line error naming the fix,
    before anything is compiled or built."""
    from edgemoe.cli import main

    assert main(["rtlsim", "--accel", "tiny", "--model", "m3vit-micro", "--board-memory",
                 "--ports", "5", "--out", str(tmp_path / "b")]) != 0
    err = capsys.readouterr().err
    assert "--ports 5" in err and "pass 1 to 4" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()
