"""The hls / bitstream steps and the generated testbench: vendor tools are faked with
scripts on PATH (the real ones are exercised only where Vitis is installed)."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from edgemoe.cli import main
from edgemoe.codegen import TOP_NAME, project_name
from edgemoe.flow.aptypes import ToolNotFoundError, cxx_flags
from edgemoe.flow.generate import generate
from edgemoe.flow.hls import HlsRunError, find_vitis, run_bitstream, run_hls
from edgemoe.params import list_accels, load_accel


def _fake_tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture()
def no_tools_path(tmp_path, monkeypatch):
    """PATH with the basic shell tools only (no vitis-run, vitis_hls or vivado)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "cat", "pwd", "echo", "touch"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.unit
def test_hls_without_vitis_names_tool_and_script(tmp_path, no_tools_path):
    accel = load_accel("tiny")
    with pytest.raises(ToolNotFoundError) as info:
        run_hls(accel, build_root=tmp_path / "build")
    msg = str(info.value)
    assert "vitis-run" in msg and "run_hls.tcl" in msg and str(tmp_path / "build") in msg
    assert (tmp_path / "build" / "tiny" / "hls" / "run_hls.tcl").is_file()


@pytest.mark.unit
def test_bitstream_without_vivado_names_tool_and_script(tmp_path, no_tools_path):
    with pytest.raises(ToolNotFoundError, match=r"Vivado.*bd\.tcl"):
        run_bitstream(load_accel("tiny"), build_root=tmp_path / "build")


@pytest.mark.unit
def test_hls_runs_vitis_run_in_the_project(tmp_path, no_tools_path):
    record = tmp_path / "record.txt"
    _fake_tool(no_tools_path, "vitis-run",
               f'echo "$(pwd) $* steps=$EDGEMOE_HLS_STEPS" > {record}; echo done')
    project = run_hls(load_accel("tiny"), build_root=tmp_path / "build", steps=("csim", "csynth"))
    cwd, *args = record.read_text().split()
    assert Path(cwd) == project.out_dir
    assert args[:4] == ["--mode", "hls", "--tcl", "run_hls.tcl"]
    assert args[4:] == ["steps=csim", "csynth"]
    assert (project.out_dir / "vitis_hls_run.log").read_text().strip() == "done"


@pytest.mark.unit
def test_hls_failure_names_the_log(tmp_path, no_tools_path):
    _fake_tool(no_tools_path, "vitis_hls", "echo broken; exit 3")
    with pytest.raises(HlsRunError, match="vitis_hls_run.log"):
        run_hls(load_accel("tiny"), build_root=tmp_path / "build")


@pytest.mark.unit
def test_bitstream_with_vivado(tmp_path, no_tools_path):
    accel = load_accel("tiny")
    _fake_tool(no_tools_path, "vivado", f"touch {accel.name}.bit {accel.name}.hwh")
    with pytest.raises(HlsRunError, match="edgemoe hls"):
        run_bitstream(accel, build_root=tmp_path / "build")
    ip = tmp_path / "build" / "tiny" / "hls" / project_name(accel) / "solution1" / "impl" / "ip"
    ip.mkdir(parents=True)
    bit, hwh = run_bitstream(accel, build_root=tmp_path / "build")
    assert bit.name == "tiny.bit" and hwh.name == "tiny.hwh" and bit.parent == hwh.parent


@pytest.mark.unit
def test_cli_generate_and_missing_tool(tmp_path, no_tools_path, capsys):
    assert main(["generate", "--accel", "tiny", "--out", str(tmp_path / "g"),
                 "--no-testbench"]) == 0
    assert (tmp_path / "g" / "run_hls.tcl").is_file()
    assert not (tmp_path / "g" / "tb_data").exists()
    assert main(["bitstream", "--accel", "tiny"]) == 2
    assert "Vivado not found" in capsys.readouterr().err


@pytest.mark.csim
def test_cli_csim_reports_identical(capsys):
    assert main(["csim", "--accel", "tiny", "--model", "m3vit-micro", "--task", "depth"]) == 0
    assert "identical" in capsys.readouterr().out


def _compile(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["g++", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.csim
def test_testbench_passes_and_build_is_warning_free(tmp_path):
    """The Vitis testbench main() + top, built with -O2 -Wall -Wextra -Werror, passes."""
    project = generate(load_accel("tiny"), out_dir=tmp_path)
    exe = tmp_path / "tb"
    proc = _compile(["-O2", "-Wall", "-Wextra", "-Werror", *cxx_flags(), "-I.", "tb_edgemoe.cpp",
                     f"{TOP_NAME}.cpp", "-o", str(exe)], project.out_dir)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    run = subprocess.run([str(exe), "tb_data"], cwd=project.out_dir, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0 and run.stdout.startswith("PASS"), run.stdout + run.stderr
    expected = (tmp_path / "tb_data" / "expected.bin").read_bytes()
    (tmp_path / "tb_data" / "expected.bin").write_bytes(expected[:-1] + bytes([expected[-1] ^ 1]))
    run = subprocess.run([str(exe), "tb_data"], cwd=project.out_dir, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 1 and run.stdout.startswith("FAIL")


@pytest.mark.csim
def test_every_design_point_compiles_warning_free(tmp_path):
    from edgemoe.codegen import render_hls

    for name in list_accels():
        out = tmp_path / name
        render_hls(load_accel(name), out)
        proc = _compile(["-fsyntax-only", "-Wall", "-Wextra", "-Werror", *cxx_flags(), "-I.",
                         f"{TOP_NAME}.cpp", "csim_bridge.cpp"], out)
        assert proc.returncode == 0 and proc.stderr == "", f"{name}:\n{proc.stderr}"


@pytest.mark.hls
@pytest.mark.skipif(find_vitis() is None, reason="Vitis HLS (vitis-run / vitis_hls) not on PATH")
def test_vitis_csim(tmp_path):
    """Vitis's own C simulation of the generated project (needs Vitis HLS)."""
    run_hls(load_accel("tiny"), build_root=tmp_path, steps=("csim",))
