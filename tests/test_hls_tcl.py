"""The generated Vivado/Vitis Tcl runs under a real Tcl interpreter (vendor commands
stubbed), and bd.tcl / run_hls.tcl carry the board and interface settings Vivado needs."""

from __future__ import annotations

import shutil

import pytest

from edgemoe.codegen import render_hls
from edgemoe.flow import tclcheck
from edgemoe.flow.tclcheck import TclCheckError, check_tcl
from edgemoe.params import list_accels, load_accel

pytestmark = pytest.mark.codegen


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = {}
    for name in list_accels():
        d = tmp_path_factory.mktemp(name)
        render_hls(load_accel(name), d, tb={"image_bytes": 1 << 20})
        out[name] = d
    return out


def _interpreters() -> list[str]:
    found = []
    try:
        if tclcheck.tcl_interpreter() == "tkinter":
            found.append("tkinter")
    except tclcheck.ToolNotFoundError:
        pass
    if shutil.which("tclsh"):
        found.append(shutil.which("tclsh"))
    return found


def test_a_tcl_interpreter_exists():
    """.ci/run installs tclsh when Python has no tkinter: the check never silently skips."""
    assert tclcheck.tcl_interpreter() in _interpreters()


@pytest.mark.parametrize("script", ["bd.tcl", "run_hls.tcl"])
def test_generated_tcl_runs(rendered, monkeypatch, script):
    """Every interpreter this machine has (tkinter and/or tclsh) runs every design point's."""
    found = _interpreters()
    assert found, "no Tcl interpreter: .ci/run installs tclsh"
    for pick in found:
        monkeypatch.setattr(tclcheck, "tcl_interpreter", lambda pick=pick: pick)
        for d in rendered.values():
            check_tcl(d / script)


@pytest.mark.parametrize("text,line", [
    ("set x 1\nif {$x == } { puts hi }\n", 2),
    ("set a 1\nset x {1\n", 2),
    ('puts "unterminated\n', 1),
])
def test_tcl_check_rejects_broken_scripts(tmp_path, monkeypatch, text, line):
    bad = tmp_path / "bad.tcl"
    bad.write_text(text)
    for pick in _interpreters():
        monkeypatch.setattr(tclcheck, "tcl_interpreter", lambda pick=pick: pick)
        with pytest.raises(TclCheckError, match=f"bad.tcl, line {line}: Tcl error"):
            check_tcl(bad)


def test_bd_tcl_board_settings(rendered):
    for name, d in rendered.items():
        accel = load_accel(name)
        tcl = (d / "bd.tcl").read_text()
        vendor, board = accel.board.board_part.split(":")[:2]
        assert f"get_board_parts -quiet -latest_file_version {{{vendor}:{board}:part0:*}}" in tcl
        if accel.board.family == "zynquplus":  # HPM1 off: an unclocked master fails validation
            assert "CONFIG.PSU__USE__M_AXI_GP1 {0}" in tcl
        if accel.board.key == "kv260":
            assert ("set_property board_connections {som240_1_connector "
                    "xilinx.com:kv260_carrier:som240_1_connector:1.3}") in tcl
        else:
            assert "board_connections" not in tcl
        assert "-m_axi_addr64" in (d / "run_hls.tcl").read_text()
        assert "syn.interface.m_axi_addr64=true" in (d / "hls_config.cfg").read_text()
