"""The cycle model with memory (edgemoe.perf): traffic by the engines' schedules, memory
timing from boards.yaml, and the model against the RTL run on the board's memory."""

from __future__ import annotations

import json
import math
import re

import pytest
from spanutil import M3VIT_OPS, assert_span_within

from edgemoe.isa import Instr, Op, encode, pack_ksp
from edgemoe.params import load_accel
from edgemoe.perf import Traffic, memory_timing, model_program
from edgemoe.perf.engines import op_cycles
from edgemoe.perf.traffic import beats, conv_taps, lin_geometry


@pytest.mark.unit
@pytest.mark.parametrize(("addr", "nbytes", "expect"), [
    (0, 64, 4), (4, 64, 5), (12, 4, 1), (12, 8, 2), (0, 1, 1), (100, 0, 0)])
def test_beats_of_a_command_on_a_16_byte_bus(addr, nbytes, expect):
    assert beats(addr, nbytes, 16) == expect


@pytest.mark.unit
def test_memory_timing_from_the_board_facts():
    zcu = memory_timing(load_accel("edge-moe-zcu102"))
    # a 256-bit master on one 128-bit HP port: a beat every other cycle; 213 ns at 300 MHz
    assert (zcu.bus_bytes, zcu.bytes_per_cycle, zcu.rate) == (32, 16.0, 0.5)
    assert zcu.latency == 64
    tiny = memory_timing(load_accel("tiny"))  # 128-bit master on a 128-bit port, 100 MHz
    assert (tiny.rate, tiny.latency) == (1.0, 22)
    two = memory_timing(load_accel("edge-moe-zcu102"), ports=2)
    # a stream runs on one master's port: two ports let the weight prefetch run apart,
    # they do not make one stream faster
    assert (two.rate, two.prefetch_apart, zcu.prefetch_apart) == (0.5, True, False)
    assert two.bench_spec() == {"rate": 0.5, "latency": 64, "outstanding": two.outstanding,
                                "ports": 2}


@pytest.mark.unit
def test_fused_attention_reads_keys_and_values_once_per_head():
    accel = load_accel("tiny")  # attn_lanes = 2
    t, h, hd = 9, 2, 16
    ins = Instr.make(Op.ATTENTION, tokens=t, heads=h, head_dim=hd, qkv=0, dst=1 << 16)
    traffic = Traffic()
    op_cycles(ins, accel, memory_timing(accel), traffic, prefetched=False)
    # per head: every K, V and Q row once (K and V stay on chip for all 5 query blocks)
    assert traffic.read_bytes == 3 * t * h * hd * 4  # exactly the qkv footprint
    assert traffic.read_beats == 3 * t * h * (hd * 4 // 16)  # 16-byte bus, aligned rows
    assert traffic.write_bytes == t * h * hd * 4


@pytest.mark.unit
def test_conv3x3_reads_each_in_bounds_tap_once_per_strip():
    ins = Instr.make(Op.CONV, in_h=4, in_w=4, in_ch=8, out_ch=4,
                     kernel_stride_pad=pack_ksp(3, 1, 1))
    taps = conv_taps(ins)
    # 4x4 output, pad 1: corners see 4 taps, edge pixels 6, the 4 inner pixels 9
    assert len(taps) == 4 * 4 + 8 * 6 + 4 * 9
    assert all(n == 8 for _, n in taps)
    # every input pixel is read once per kernel tap that covers it: 9 for inner pixels
    per_pixel = {}
    for off, _ in taps:
        per_pixel[off] = per_pixel.get(off, 0) + 1
    assert per_pixel[(1 * 4 + 1) * 8] == 9 and per_pixel[0] == 4


@pytest.mark.unit
def test_linear_rereads_its_input_once_per_weight_strip():
    accel = load_accel("tiny")  # 8192 weight words: 512 tiles of 4x4
    n, k, t = 16, 768, 3
    geo = lin_geometry(accel, n, k, 2)
    # 192 input tiles: two output tiles (384 weight tiles) fit, so 2 strips of 2
    assert (geo.tiles_in, geo.tiles_out, geo.strip_tiles, geo.strips) == (192, 4, 2, 2)
    ins = Instr.make(Op.LINEAR, tokens=t, out_features=n, in_features=k, src=0,
                     dst=1 << 16, weights=1 << 17, bias=1 << 18)
    traffic = Traffic()
    op_cycles(ins, accel, memory_timing(accel), traffic, prefetched=False)
    rows = 2 * t * k * 4  # the input rows, once per strip
    assert traffic.weight_bytes == n * k * 2 + n * 2
    assert traffic.read_bytes == rows + traffic.weight_bytes
    assert traffic.write_bytes == t * n * 4


@pytest.mark.unit
def test_fused_attention_slows_only_by_its_row_reads_when_the_port_narrows():
    from dataclasses import replace

    accel = load_accel("tiny")
    ins = Instr.make(Op.ATTENTION, tokens=9, heads=2, head_dim=16, qkv=0, dst=1 << 16)
    fast = memory_timing(accel)
    slow = replace(fast, port_bytes=fast.port_bytes / 4)  # a quarter of the port
    a = model_program([ins], accel, memory=fast).ops[0]
    b = model_program([ins], accel, memory=slow).ops[0]
    # the 54 K/V rows and 18 Q rows (4 beats each) are read once; each R beat now costs 4
    # cycles instead of 1, while the on-chip QK^T and AV steps cost the same.  Only the
    # K/V rows and each head's first query block wait for their reads: the later blocks'
    # Q rows (8 beats, 32 cycles) load beside a phase's walk ((2 + 9 - 1) steps of 4
    # cycles), as do the output drains but the op's last (1 row: 4 W beats at 4 cycles
    # each instead of 4 + 2 cycles)
    row_beats, lanes = 4, accel.attn_lanes
    assert a.traffic.read_beats == b.traffic.read_beats == 3 * 9 * 2 * row_beats
    serial = (2 * 9 + lanes) * 2 * row_beats
    assert b.cycles - a.cycles == 3 * serial + 4 * row_beats - (row_beats + 2)


@pytest.mark.unit
def test_moe_cost_follows_the_routing():
    accel = load_accel("tiny")
    ins = Instr.make(Op.MOE_EXPERTS, tokens=8, dim=32, hidden=48, experts=4, src=0,
                     dst=1 << 14, w1=1 << 15, b1=1 << 16, w2=1 << 17, b2=1 << 18,
                     queues=1 << 19, scratch=1 << 20)
    one = model_program([ins], accel, {0: [8, 0, 0, 0]}).ops[0]
    spread = model_program([ins], accel, {0: [2, 2, 2, 2]}).ops[0]
    # same MACs, but four experts' weights instead of one
    assert one.compute == spread.compute
    assert spread.traffic.weight_bytes == 4 * one.traffic.weight_bytes
    assert spread.cycles > one.cycles


# ------------------------------------------------------------------ model vs RTL
@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("task", [0, 1])
def test_model_within_5_percent_of_rtl_per_op_type_on_tiny(task):
    """m3vit-micro on tiny, the RTL on the board's memory: every op type within 5%, on
    both tasks (their heads differ: the depth head's last UPSAMPLE has one channel)."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("tiny", "m3vit-micro", task=task)
    assert_span_within(cmp, M3VIT_OPS)


@pytest.mark.sim
@pytest.mark.slow
def test_model_within_5_percent_of_rtl_with_the_conv_line_buffer():
    """m3vit-micro on tiny with a line buffer holding every head conv's rows: the RTL
    stays byte-identical to golden and CONV (and every other op type) within 5%."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("tiny", "m3vit-micro", overrides=("buffers.conv_line_words=2048",))
    assert_span_within(cmp, {"CONV"}, total=False)


@pytest.mark.sim
@pytest.mark.slow
def test_model_within_5_percent_of_rtl_on_vovnet_pools_and_small_convs():
    """vovnet-tiny on tiny (pixel-input 3x3 stem, 1x1 and 3x3 convs on 8x8 and 4x4 maps,
    MAX 3x3/2, GLOBAL_AVG and SCALE pools): POOL and CONV each within 5% of the RTL."""
    from edgemoe.bench.perfmodel import compare_span

    cmp = compare_span("tiny", "vovnet-tiny")
    assert_span_within(cmp, {"POOL", "CONV"}, total=False)
    # every POOL is dependent reads: none may hide in the 4-cycle dispatch base
    pools = [(m, r) for _, op, m, r in cmp.instructions if op == "POOL"]
    assert all(math.isclose(m, r, rel_tol=0.1) for m, r in pools), pools


@pytest.mark.sim
def test_weight_prefetch_is_charged_to_the_job_that_waits_for_it_as_in_rtl():
    """Weight-bound: the prefetch (1,024 R beats on tiny) outlasts a short LAYERNORM.  The
    RTL's per-op counters charge the LAYERNORM only the prefetch bursts its few reads queue
    behind, and the LINEAR whatever is still missing at its strip 0; the model follows the
    same rule, per op within 5%, on three lengths of LAYERNORM."""
    import numpy as np
    from prefetchutil import CASES, OUT, STATUS, ln_then_linear_images

    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel = load_accel("tiny")
    mem = memory_timing(accel)
    status = STATUS
    progs, images, golds = zip(*ln_then_linear_images(accel))
    jobs = [RtlJob(image.copy(), 0, 2, 0, status) for image in images]
    results = RtlsimExecutor(accel, memory=mem.bench_spec()).run_jobs(jobs)
    for (tokens, dim), job, res, gold, prog in zip(CASES, jobs, results, golds, progs):
        assert res.error == 0
        out = slice(OUT, OUT + tokens * 16 * 4)
        assert np.array_equal(job.image[out], gold[out])
        rtl = job.image[status + 64:status + 64 + 128].view("<u8").reshape(2, 8)[:, 0]
        modelled = [o.cycles for o in model_program(prog, accel, memory=mem).ops]
        for name, m, r in zip(("LAYERNORM", "LINEAR"), modelled, rtl):
            assert math.isclose(m, int(r), rel_tol=0.05), (tokens, dim, name, m, int(r))
    # the split itself, from the RTL alone: a 1-row LAYERNORM of 64 loses much less than
    # the 1,024-cycle prefetch; with 2 rows the LINEAR waits longer than after 1 row of 512
    # (same weights, same prefetch), because the shorter LAYERNORM left more of it
    rtl_of = [job.image[status + 64:status + 64 + 128].view("<u8").reshape(2, 8)[:, 0]
              for job in jobs]
    ln_alone = model_program(progs[0][:1], accel, memory=mem).ops[0].cycles
    assert rtl_of[0][0] - ln_alone < 0.75 * 1024
    assert rtl_of[1][1] > rtl_of[2][1] + 256


@pytest.mark.sim
def test_port_throttle_slows_attention_by_its_reads_in_rtl_and_model():
    """One ATTENTION on tiny with half the port's bandwidth: RTL and model agree (5%)."""
    from dataclasses import replace

    import numpy as np

    from edgemoe.golden import execute
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel = load_accel("tiny")
    t, h, hd = 9, 2, 16
    ins = Instr.make(Op.ATTENTION, tokens=t, heads=h, head_dim=hd, qkv=4096, dst=16384)
    image = np.zeros(1 << 15, np.uint8)
    image[4096:4096 + 3 * t * h * hd * 4] = np.random.default_rng(0).integers(
        0, 256, 3 * t * h * hd * 4, dtype=np.uint8) & 0x0F
    image[0:64] = np.frombuffer(encode([ins]).tobytes(), np.uint8)
    status = 24576
    gold = image.copy()
    assert execute(gold, accel, 0, 1, 0, status) == 0
    cycles = {}
    for rate in (1.0, 0.5):
        mem = replace(memory_timing(accel), port_bytes=16 * rate)
        job = RtlJob(image.copy(), 0, 1, 0, status)
        res = RtlsimExecutor(accel, memory=mem.bench_spec()).run_jobs([job])[0]
        assert res.error == 0
        assert np.array_equal(job.image[16384:16384 + t * h * hd * 4],
                              gold[16384:16384 + t * h * hd * 4])
        measured = int(job.image[status + 64:status + 72].view("<u8")[0])
        modelled = model_program([ins], accel, memory=mem).ops[0].cycles
        assert math.isclose(modelled, measured, rel_tol=0.05), (rate, modelled, measured)
        cycles[rate] = measured
    # fused: only the 3 * t * h rows of 4 beats cross the port (once each), and of them
    # only the K/V rows and each head's first query block are waited for (the later Q
    # rows load beside the phases), so half the bandwidth adds about one cycle per R beat
    # of those; the on-chip QK^T/AV steps do not slow
    waited = (2 * t + accel.attn_lanes) * h * 4
    assert 0.75 * waited <= cycles[0.5] - cycles[1.0] <= 1.25 * waited, cycles


@pytest.mark.sim
@pytest.mark.parametrize("t", [9, 16])
def test_int8_attention_model_within_5_percent_of_rtl(t):
    """An int8 ATTENTION (WFMT_Q8) and a dense one on the same q, k, v (tiny, the board's
    memory): each modelled within 5% of the RTL, outputs == golden, and the int8 one
    faster (its steps walk 16 one-byte codes a word instead of 4 act elements)."""
    import numpy as np
    from attnq8util import attn_q8_case

    from edgemoe.golden import execute
    from edgemoe.isa import encode_bytes
    from edgemoe.rtl import RtlJob, RtlsimExecutor

    accel = load_accel("tiny")
    mem = memory_timing(accel)
    h, hd = 2, 16
    case = attn_q8_case(accel, 5, t, h, hd)
    s, act = case.scratch, accel.formats.act
    out_bytes = t * h * hd * act.storage_dtype.itemsize
    dst = s.put(np.zeros(out_bytes, np.uint8))
    dense = Instr.make(Op.ATTENTION, tokens=t, heads=h, head_dim=hd, qkv=case.ins.get("qkv"),
                       dst=dst, scale=int(act.quantize(np.array([hd ** -0.5]))[0]))
    prog = [case.ins, dense]
    code = encode_bytes(prog)
    s.image[s.program:s.program + len(code)] = np.frombuffer(code, np.uint8)
    gold = s.image.copy()
    assert execute(gold, accel, s.program, 2, 0, 0) == 0
    res = RtlsimExecutor(accel, memory=mem.bench_spec()).run_jobs(
        [RtlJob(s.image, s.program, 2, 0, 0)])[0]
    assert res.error == 0
    for d in (case.dst, dst):
        assert np.array_equal(s.image[d:d + out_bytes], gold[d:d + out_bytes])
    measured = [s.profile(i)["cycles"] for i in range(2)]
    modelled = [o.cycles for o in model_program(prog, accel, memory=mem).ops]
    for name, m, r in zip(("int8", "dense"), modelled, measured, strict=True):
        assert math.isclose(m, r, rel_tol=0.05), (t, name, m, r)
    assert measured[0] < 0.75 * measured[1], measured


@pytest.mark.unit
def test_compile_perf_prints_the_modelled_table_per_task(tmp_path, capsys):
    from edgemoe.cli import main

    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--perf",
                 "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert out.count("MODELLED with memory on tiny") == 2  # both tasks
    assert "read latency 22 cycles" in out and "(modelled)" in out
    for op in ("CONV", "ATTENTION", "MOE_EXPERTS", "dispatcher"):
        assert op in out


@pytest.mark.unit
def test_compile_perf_models_the_ports_asked_for_up_to_the_kernels_masters(tmp_path, capsys):
    """--ports N models N PS ports (the HLS kernel's m_axi masters): on a 256-bit bus
    behind 128-bit ports every stream runs at half rate either way, but with 2 the weight
    prefetch has its own port and stops delaying the running op's reads."""
    from edgemoe.cli import main

    totals = {}
    for ports in (1, 2):
        assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--set",
                     "axi_bits=256", "--perf", "--ports", str(ports),
                     "--out", str(tmp_path / f"c{ports}")]) == 0
        out = capsys.readouterr().out
        assert f"beats of 32 B per cycle, {ports} PS port(s)" in out
        totals[ports] = int(re.search(r"^total +[\d,]+ +([\d,]+)", out, re.MULTILINE)
                            .group(1).replace(",", ""))
    assert totals[2] < totals[1], totals
    # tiny has 4 masters: 5 is a one-line error before anything is compiled or written
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--perf", "--ports",
                 "5", "--out", str(tmp_path / "c5")]) != 0
    err = capsys.readouterr().err
    assert "--ports 5" in err and "pass 1 to 4" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c5").exists()


@pytest.mark.unit
@pytest.mark.parametrize("rate", [0.5, 0.3, 2 / 3, 1.0])
def test_bench_throttle_lets_rate_beats_through_in_any_window(rate, monkeypatch):
    import itertools
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "sim"))
    from memory_model import rate_pattern

    opened = [not p for p in itertools.islice(rate_pattern(rate), 600)]
    for width in (1, 7, 50, 300):
        for start in range(0, 600 - width, 13):
            n = sum(opened[start:start + width])
            assert math.floor(width * rate) <= n <= math.floor(width * rate) + 1


@pytest.mark.sim
@pytest.mark.slow
def test_rtlsim_cli_on_the_board_memory_matches_the_model(tmp_path, capsys):
    """`edgemoe rtlsim --board-memory`: board cycles, still byte-identical to golden."""
    from edgemoe.cli import main

    out = tmp_path / "report.json"
    assert main(["rtlsim", "--accel", "tiny", "--model", "m3vit-micro", "--task", "depth",
                 "--board-memory", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "memory: zcu102's" in text and "read latency 22 cycles" in text
    (task,) = json.loads(out.read_text())["tasks"]
    assert task["identical"] and task["error"] == 0
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.models import load_default_image
    from edgemoe.params import load_model
    from edgemoe.perf.report import model_tasks

    accel, model = load_accel("tiny"), load_model("m3vit-micro")
    c = compile_model(model, accel)  # as rtlsim compiles it: seed 0, the default image
    write_pixels(c.image, c.manifest, load_default_image(model))
    pm = model_tasks(accel, c.instrs, c.fresh_image(), c.program_offset, c.status_offset,
                     c.manifest["tasks"])["depth"]
    assert math.isclose(pm.cycles, task["cycles"], rel_tol=0.05), (pm.cycles, task["cycles"])
    # and every op type of this task (the other test covers task 0) within 5%
    rtl, modelled = {}, {}
    for row in task["instructions"]:
        rtl[row["op"]] = rtl.get(row["op"], 0) + row["cycles"]
    for o in pm.ops:
        modelled[o.op] = modelled.get(o.op, 0) + o.cycles
    assert set(rtl) == set(modelled)
    bad = {op: (modelled[op], rtl[op]) for op in rtl
           if not math.isclose(modelled[op], rtl[op], rel_tol=0.05)}
    assert not bad, bad
