"""The pynq backend on the fake device: driver protocol and every fault path."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.host import (
    Accelerator,
    BackendUnavailable,
    ConfigIdMismatch,
    DeviceError,
    DeviceTimeout,
    HostError,
)
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.host.pynq_driver import EdgeMoeIP
from edgemoe.host.registers import AP_DONE, AP_IDLE, VLNV, default_layout
from edgemoe.isa import INSTR_BYTES, Err, Op
from edgemoe.models import load_default_image
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def model():
    return load_model("m3vit-micro")


@pytest.fixture(scope="module")
def accel():
    return load_accel("tiny")


@pytest.fixture(scope="module")
def compiled(model, accel):
    return compile_model(model, accel)


@pytest.fixture(scope="module")
def package(compiled, accel, tmp_path_factory):
    return make_fake_package(compiled, accel, tmp_path_factory.mktemp("pkg"))


@pytest.fixture(scope="module")
def image(model):
    return load_default_image(model)


def test_driver_binds_and_writes_registers_by_name(accel, compiled, package, image):
    device = FakeDevice(accel, done_after_polls=5)
    with Accelerator(package, backend="pynq", device=device) as acc:
        ip = acc.backend.ip
        assert type(ip) is EdgeMoeIP
        assert acc.backend.overlay.ip_dict["edgemoe_top_0"]["type"] == VLNV
        assert device.downloads and device.downloads[0].endswith("fake.bit")
        reads = device.ctrl_reads
        acc.run(image, task="depth")
        # one CTRL read before starting (busy check) + exactly one per poll iteration
        assert ip.polls == 5
        assert device.ctrl_reads - reads == 1 + 5
        regs = ip.register_map
        addr = int(acc.backend.memory.device_address)
        assert addr >= 1 << 32  # the high word matters
        words = device.ip_window()
        offs = {r.name: r.offset for r in default_layout()}
        assert words[offs["mem_1"] // 4] == addr & 0xFFFF_FFFF
        assert words[offs["mem_2"] // 4] == addr >> 32
        assert words[offs["mem_bytes_1"] // 4] == compiled.image.size
        assert words[offs["mem_bytes_2"] // 4] == 0
        assert words[offs["program_offset"] // 4] == compiled.program_offset
        assert words[offs["n_instructions"] // 4] == compiled.n_instructions
        assert words[offs["task"] // 4] == 1
        assert words[offs["status_offset"] // 4] == compiled.status_offset
        assert int(regs.config_id) == accel.config_id_int
        assert int(regs.status) == 0
        ctrl = int(regs.CTRL)
        assert ctrl & AP_IDLE and not ctrl & AP_DONE  # done was consumed by the poll


def test_register_offsets_come_from_the_hwh(accel, compiled, image, tmp_path):
    """A .hwh whose arguments start at 0x40 (newer Vitis): the driver follows it."""
    shifted = default_layout(first_arg=0x40)
    pkg = make_fake_package(compiled, accel, tmp_path, name="shifted", layout=shifted)
    device = FakeDevice(accel)
    with Accelerator(pkg, backend="pynq", device=device) as acc:
        got = acc.run(image, task="seg")[0]["seg"]
        words = device.ip_window()
        offs = {r.name: r.offset for r in shifted}
        assert offs["program_offset"] != {r.name: r.offset for r in default_layout()}[
            "program_offset"]
        assert words[offs["program_offset"] // 4] == compiled.program_offset
    with Accelerator(compiled) as gold:
        assert np.array_equal(got, gold.run(image, task="seg")[0]["seg"])


def test_config_id_mismatch_refuses_to_run(accel, package):
    device = FakeDevice(accel, config_id=0xDEADBEEF, latch_config_id=False)
    with pytest.raises(ConfigIdMismatch) as info:
        Accelerator(package, backend="pynq", device=device)
    msg = str(info.value)
    assert "deadbeef" in msg and accel.config_id in msg and "bitstream" in msg
    assert device.runs == 0  # nothing was started: the register is readable at once
    assert device.allocations == 1 and device.live_buffers == []


def test_latched_config_id_is_probed_with_an_empty_run(accel, package, image):
    device = FakeDevice(accel, latch_config_id=True)
    with Accelerator(package, backend="pynq", device=device) as acc:
        assert device.runs == 1  # the probe
        assert int(acc.backend.ip.config_id) == accel.config_id_int
        acc.run(image, task="seg")
    wrong = FakeDevice(accel, latch_config_id=True, config_id=0x1234)
    with pytest.raises(ConfigIdMismatch, match="00001234"):
        Accelerator(package, backend="pynq", device=wrong)
    assert wrong.runs == 1 and wrong.live_buffers == []


def test_manifest_and_design_point_must_match(accel, compiled):
    other = load_accel("tiny", ["linear_p_out=8"])
    with pytest.raises(ConfigIdMismatch, match=f"compiled for config_id {accel.config_id}"):
        Accelerator(compiled, accel=other)


def test_hung_kernel_times_out(accel, package, image):
    device = FakeDevice(accel, hang=True, latch_config_id=False)
    acc = Accelerator(package, backend="pynq", device=device, timeout_s=0.2)
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"did not finish within 0.2 s") as info:
        acc.run(image, task="seg")
    assert time.monotonic() - t0 < 2.0
    assert "ap_start" in str(info.value) and "reload the overlay" in str(info.value)
    assert device.live_buffers == []  # freed: the accelerator is closed
    with pytest.raises(HostError, match="closed"):
        acc.run(image, task="seg")
    # an HLS top reads config_id 0 until it ran: the probe run itself times out
    latched = FakeDevice(accel, hang=True)
    with pytest.raises(DeviceTimeout):
        Accelerator(package, backend="pynq", device=latched, timeout_s=0.05)
    assert latched.runs == 1 and latched.live_buffers == []


def test_device_error_reports_the_failing_instruction(accel, compiled, package, image):
    device = FakeDevice(accel, error_at=(7, int(Err.OUT_OF_RANGE)))
    with Accelerator(package, backend="pynq", device=device) as acc:
        with pytest.raises(DeviceError) as info:
            acc.run(image, task="seg")
        names = acc.design.names
    err = info.value
    assert err.index == 7 and err.code == Err.OUT_OF_RANGE
    assert err.instruction == names[7]
    op = Op(compiled.instrs[7].op).name
    assert f"instruction 7 ({names[7]}, {op})" in str(err) and "OUT_OF_RANGE" in str(err)
    assert device.live_buffers == []


def test_corrupt_program_is_caught_by_the_executor(accel, compiled, package, image):
    """A real error from the executor behind the fake: a bad opcode in DDR."""
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device) as acc:
        mem = acc.backend.memory
        at = compiled.program_offset + 5 * INSTR_BYTES
        mem[at] = 0xEE  # opcode byte of instruction 5
        acc.backend.sync_to_device(at, INSTR_BYTES)
        with pytest.raises(DeviceError) as info:
            acc.run(image, task="seg")
        assert info.value.index == 5 and info.value.code == Err.BAD_OPCODE
        assert f"instruction 5 ({acc.design.names[5]}" in str(info.value)
    assert device.live_buffers == []


def test_keyboard_interrupt_frees_buffers(accel, package, image):
    device = FakeDevice(accel, done_after_polls=10, interrupt_after_polls=3,
                        latch_config_id=False)
    acc = Accelerator(package, backend="pynq", device=device)
    with pytest.raises(KeyboardInterrupt):
        acc.run([image, image], task="all")
    assert device.runs == 1 and device.live_buffers == []
    # interrupted while opening (during the config_id probe run)
    early = FakeDevice(accel, done_after_polls=10, interrupt_after_polls=3)
    with pytest.raises(KeyboardInterrupt):
        Accelerator(package, backend="pynq", device=early)
    assert early.runs == 1 and early.allocations == 1 and early.live_buffers == []


def test_success_path_frees_buffers(accel, package, image):
    device = FakeDevice(accel)
    acc = Accelerator(package, backend="pynq", device=device)
    acc.run(image, task="all")
    assert device.live_buffers != []
    acc.close()
    acc.close()  # idempotent
    assert device.live_buffers == []


def test_busy_kernel_is_not_restarted(accel, compiled, package):
    device = FakeDevice(accel, hang=True, latch_config_id=False)
    with Accelerator(package, backend="pynq", device=device, timeout_s=0.05) as acc:
        ip = acc.backend.ip
        ip.start(compiled.program_offset, compiled.n_instructions, 0, compiled.status_offset)
        with pytest.raises(HostError, match="busy"):
            ip.start(compiled.program_offset, compiled.n_instructions, 0,
                     compiled.status_offset)


def test_driver_falls_back_to_the_computed_layout(accel, package, caplog):
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device) as acc:
        desc = dict(acc.backend.overlay.ip_dict["edgemoe_top_0"])
        desc.pop("registers")
        desc["device"] = device
        ip = EdgeMoeIP(desc)
        assert "no register description" in caplog.text
        assert int(ip.config_id) == accel.config_id_int
        ip.set_memory(0x1_2345_6780, 0x2_0000_0040)
        offs = {r.name: r.offset for r in default_layout()}
        words = device.ip_window()
        assert words[offs["mem_1"] // 4] == 0x2345_6780 and words[offs["mem_2"] // 4] == 1
        assert words[offs["mem_bytes_1"] // 4] == 0x40 and words[offs["mem_bytes_2"] // 4] == 2


def test_no_board_is_a_clear_error(package):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynq warns once per process that it found no device
        with pytest.raises(BackendUnavailable, match="no FPGA device"):
            Accelerator(package, backend="pynq")
