"""The kernel's m_axi ports: one per traffic class, grouped into the design point's bundles,
each bundle on its own PS high-performance port, every port pointing into the one memory
image (host driver, fake device, C-sim bridge)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edgemoe.codegen import TOP_NAME, render_hls
from edgemoe.compiler import compile_model
from edgemoe.host import Accelerator
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.host.registers import PORT_INPUTS, default_layout
from edgemoe.isa import Err
from edgemoe.models import load_default_image
from edgemoe.params import ConfigError, load_accel, load_model
from edgemoe.params.ports import PORTS, bundle_of, bundles
from edgemoe.rtl.regmap import REGISTERS

_M_AXI = re.compile(r"#pragma HLS INTERFACE mode=m_axi port=(\w+) bundle=(\w+) (.*)")


def _render(tmp_path, name="tiny", overrides=()):
    out = tmp_path / "hls"
    render_hls(load_accel(name, list(overrides)), out)
    return (out / f"{TOP_NAME}.cpp").read_text(), (out / "bd.tcl").read_text()


@pytest.mark.codegen
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ports_map_to_bundles_and_each_bundle_to_its_own_hp_port(tmp_path, n):
    top, bd = _render(tmp_path, overrides=[f"axi_ports={n}"])
    ports = {m.group(1): m.group(2) for m in _M_AXI.finditer(top)}
    assert ports == {p: bundle_of(p, n) for p in PORTS}
    assert len(set(ports.values())) == n
    # the weight loader never shares its master with the activation reader (n >= 2)
    assert n == 1 or ports["wmem"] not in (ports["xmem"], ports["ymem"])
    hp = re.findall(r'Slave "/zynq_ultra_ps_e_0/(S_AXI_HP\d_FPD)".*m_axi_(\w+)\]', bd)
    assert [b for _, b in hp] == list(bundles(n))
    assert len({p for p, _ in hp}) == n  # one HP port per bundle
    for pin, _ in hp:  # each used port is enabled at the PS port width
        gp = int(pin[8]) + 2
        assert f"CONFIG.PSU__USE__S_AXI_GP{gp} {{1}} CONFIG.PSU__SAXIGP{gp}__DATA_WIDTH {{128}}" in bd


@pytest.mark.codegen
def test_zynq7_bundles_use_its_hp_ports(tmp_path):
    _, bd = _render(tmp_path, "pynq-z2")
    pins = re.findall(r'Slave "/processing_system7_0/(S_AXI_HP\d)"', bd)
    assert pins == ["S_AXI_HP0", "S_AXI_HP1", "S_AXI_HP2", "S_AXI_HP3"]
    for i in range(4):
        assert f"CONFIG.PCW_USE_S_AXI_HP{i} {{1}} CONFIG.PCW_S_AXI_HP{i}_DATA_WIDTH {{64}}" in bd


def test_axi_ports_is_validated():
    with pytest.raises(ConfigError, match="axi_ports.*1, 2, 3, 4"):
        load_accel("tiny", ["axi_ports=5"])
    assert load_accel("tiny", ["axi_ports=2"]).config_id != load_accel("tiny").config_id


def test_register_map_has_one_base_register_per_port():
    names = [r.name for r in default_layout()]
    for port in PORT_INPUTS:
        assert f"{port}_1" in names and f"{port}_2" in names
    # appended after status: the offsets the RTL top shares are unchanged
    assert names.index("status") < min(names.index(f"{p}_1") for p in PORT_INPUTS)
    rtl = {r.name: r.offset for r in REGISTERS}
    assert not any(f"{p}_1" in rtl for p in PORT_INPUTS)
    assert all(rtl[r.name] == r.offset for r in default_layout() if r.name in rtl)


@pytest.fixture(scope="module")
def micro():
    accel = load_accel("tiny")
    model = load_model("m3vit-micro")
    return accel, compile_model(model, accel), load_default_image(model)


@pytest.mark.golden
def test_driver_points_every_port_at_the_image(micro, tmp_path):
    accel, compiled, image = micro
    device = FakeDevice(accel)
    with Accelerator(make_fake_package(compiled, accel, tmp_path), backend="pynq",
                     device=device) as acc:
        got = acc.run(image, task="seg")[0]["seg"]
        addr = int(acc.backend.memory.device_address)
        words = device.ip_window()
        offs = {r.name: r.offset for r in default_layout()}
        for port in PORT_INPUTS:
            assert words[offs[f"{port}_1"] // 4] == addr & 0xFFFF_FFFF
            assert words[offs[f"{port}_2"] // 4] == addr >> 32
        # a weight port pointing elsewhere is refused by the device model
        ip = acc.backend.ip
        ip.register_map.wmem_1 = (addr + 64) & 0xFFFF_FFFF
        status = ip.run(compiled.program_offset, compiled.n_instructions, 1,
                        compiled.status_offset, 5.0)
        assert status == int(Err.OUT_OF_RANGE)
    with Accelerator(compiled) as gold:
        assert np.array_equal(got, gold.run(image, task="seg")[0]["seg"])


@pytest.mark.golden
def test_ip_without_port_registers_still_runs(micro, tmp_path):
    """An IP description with one master (the RTL top's map) gets only ``mem``."""
    accel, compiled, image = micro
    pkg = make_fake_package(compiled, accel, tmp_path, name="one",
                            layout=default_layout(ports=False))
    device = FakeDevice(accel)
    with Accelerator(pkg, backend="pynq", device=device) as acc:
        got = acc.run(image, task="seg")[0]["seg"]
    with Accelerator(compiled) as gold:
        assert np.array_equal(got, gold.run(image, task="seg")[0]["seg"])
