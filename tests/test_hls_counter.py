"""Profile cycles of the HLS kernel: C-sim writes the cycle model's (modelled) count, the
synthesized kernel the difference of its cycle_count port between an instruction's start
and end (measured).  The synthesized path is compiled here with g++ by defining
EDGEMOE_MEASURE_CYCLES (Vitis defines __SYNTHESIS__, which the open ap_types refuse)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from rtlutil import attention, moe

from edgemoe.codegen import render_hls
from edgemoe.golden import execute
from edgemoe.isa import encode_bytes
from edgemoe.layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES
from edgemoe.params import load_accel

pytestmark = pytest.mark.csim

CYCLES = PROFILE_FIELDS.index("cycles")


@pytest.fixture(scope="module")
def executors(tmp_path_factory):
    from edgemoe.flow.csim import CsimBuild, CsimExecutor, csim_flags

    accel = load_accel("tiny")
    src = tmp_path_factory.mktemp("measured")
    render_hls(accel, src, tb={"image_bytes": 1 << 20})
    lib = src / "libmeasured.so"
    proc = subprocess.run(["g++", *csim_flags(), "-O1", "-DEDGEMOE_MEASURE_CYCLES=1", "-I",
                           str(src), str(src / "edgemoe_top.cpp"), str(src / "csim_bridge.cpp"),
                           "-o", str(lib)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    measured = CsimExecutor(accel, build=CsimBuild(lib, src, "measured", False, 0.0, ""))
    return accel, CsimExecutor(accel), measured


def _cases(accel):
    rng = np.random.default_rng(13)
    return [moe(accel, rng, "moe", t=9, d=32, e=4, h=48, top_k=2),
            attention(accel, rng, "attention", t=9, nh=2, hd=16)]


def _run(executor, case) -> tuple[np.ndarray, np.ndarray]:
    image = case.scratch.image.copy()
    code = case.scratch.program
    prog = np.frombuffer(encode_bytes(case.program), np.uint8)
    image[code:code + prog.size] = prog
    err = executor(image, code, len(case.program), case.task, 0)
    assert err == 0
    entries = image[STATUS_BYTES:STATUS_BYTES + len(case.program) * PROFILE_ENTRY_BYTES]
    return image, entries.view("<u8").reshape(len(case.program), -1)[:, CYCLES].copy()


def _without_cycles(image: np.ndarray, n: int) -> np.ndarray:
    out = image.copy()
    for i in range(n):
        at = STATUS_BYTES + i * PROFILE_ENTRY_BYTES + 8 * CYCLES
        out[at:at + 8] = 0
    return out


def test_csim_writes_modelled_cycles(executors):
    accel, csim, _ = executors
    for case in _cases(accel):
        gold, gold_cycles = _run(lambda *a: execute(*a[:1], accel, *a[1:]), case)
        sim, sim_cycles = _run(csim.execute, case)
        assert np.array_equal(gold, sim), case.name
        assert (sim_cycles > 0).all() and np.array_equal(sim_cycles, gold_cycles)


def test_synthesized_kernel_writes_counter_differences(executors):
    """The counter wire is held at 0 by the bridge: measured cycles are 0, not the model's;
    everything else stays byte-identical with golden."""
    accel, _, measured = executors
    for case in _cases(accel):
        gold, gold_cycles = _run(lambda *a: execute(*a[:1], accel, *a[1:]), case)
        meas, meas_cycles = _run(measured.execute, case)
        assert (gold_cycles > 0).all() and (meas_cycles == 0).all(), case.name
        n = len(case.program)
        assert np.array_equal(_without_cycles(gold, n), _without_cycles(meas, n)), case.name


def test_top_reads_a_counter_port(tmp_path):
    render_hls(load_accel("tiny"), tmp_path, tb={"image_bytes": 1 << 20})
    top = (tmp_path / "edgemoe_top.cpp").read_text()
    assert "#pragma HLS INTERFACE mode=ap_none port=cycle_count" in top
    assert "volatile uint64_t* cycle_count" in top
    bd = (tmp_path / "bd.tcl").read_text()
    assert "connect_bd_net [get_bd_pins cycle_counter/Q] [get_bd_pins edgemoe_top_0/cycle_count]" in bd


@pytest.mark.parametrize("kind", ["modelled", "measured"])
def test_profile_labels_its_cycles(kind, tmp_path):
    from edgemoe.host.profile import Profile

    accel = load_accel("tiny")
    case = _cases(accel)[1]
    image, _ = _run(lambda *a: execute(*a[:1], accel, *a[1:]), case)
    prof = Profile.from_memory(image, 0, tuple(case.program), ("attn",), "seg", 0,
                               accel.clock_mhz, kind)
    assert prof.cycles_source == kind
    assert f"({kind} cycles)" in prof.table().splitlines()[0]
    fig = prof.figure()
    assert kind in fig.axes[0].get_xlabel() and kind in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="cycles_source"):
        Profile.from_memory(image, 0, tuple(case.program), ("attn",), "seg", 0,
                            accel.clock_mhz, "estimated")


def test_backends_say_where_cycles_come_from():
    from edgemoe.host.backends import CsimBackend, GoldenBackend
    from edgemoe.host.fake_device import FakeDevice

    assert GoldenBackend.cycles_source == CsimBackend.cycles_source == "modelled"
    assert FakeDevice(load_accel("tiny")).cycles_source == "modelled"  # runs the golden model
