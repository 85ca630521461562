"""Where things are read from and written to: resource lookup, ./build, --out, bitstreams/."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.host.hwh import write_hwh
from edgemoe.params import config_dir, load_accel, load_model
from edgemoe.resources import BUILD_ROOT_ENV, RESOURCE_FOLDERS, default_build_root, resource_dir

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_reads_the_repository_folders():
    for name in RESOURCE_FOLDERS:
        assert resource_dir(name) == ROOT / name
    assert config_dir() == ROOT / "configs"
    with pytest.raises(KeyError, match="'data' is not a resource folder; allowed: configs"):
        resource_dir("data")


def test_default_build_root_is_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(BUILD_ROOT_ENV, raising=False)  # as a test worker may set it
    monkeypatch.chdir(tmp_path)
    assert default_build_root() == tmp_path / "build"
    assert main(["generate", "--accel", "tiny", "--no-testbench"]) == 0
    assert (tmp_path / "build" / "tiny" / "hls" / "run_hls.tcl").is_file()


def test_build_root_env_moves_the_default_build_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(BUILD_ROOT_ENV, str(tmp_path / "elsewhere"))
    assert default_build_root() == tmp_path / "elsewhere"
    assert main(["generate", "--accel", "tiny", "--no-testbench"]) == 0
    assert (tmp_path / "elsewhere" / "tiny" / "hls" / "run_hls.tcl").is_file()
    assert not (tmp_path / "build").exists()


def test_hls_and_bitstream_write_into_out_and_name_the_missing_tool(tmp_path, capsys,
                                                                     monkeypatch):
    (tmp_path / "empty-path").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))  # no Vitis, no Vivado
    out = tmp_path / "proj"
    assert main(["hls", "--accel", "tiny", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Vitis HLS not found" in err and str(out) in err
    assert (out / "run_hls.tcl").is_file() and (out / "bd.tcl").is_file()
    assert main(["bitstream", "--accel", "tiny", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Vivado not found" in err and str(out) in err


@pytest.mark.csim
def test_csim_out_holds_sources_and_library(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["csim", "--accel", "tiny", "--model", "m3vit-micro", "--out", str(out)]) == 0
    assert "identical" in capsys.readouterr().out
    assert (out / "tiny" / "hls" / "edgemoe_top.cpp").is_file()
    assert list((out / "tiny" / "csim").glob("libedgemoe_csim_*.so"))


def test_rtlsim_renders_under_its_build_root(tmp_path):
    from edgemoe.rtl import RtlsimExecutor
    from edgemoe.rtl.render import design_key

    accel = load_accel("tiny")
    ex = RtlsimExecutor(accel, build_root=tmp_path / "r")
    rtl = tmp_path / "r" / design_key(accel) / "rtl"
    assert ex.sources[0] == rtl / "edgemoe_pkg.sv"
    assert all(Path(s).parent == rtl and Path(s).is_file() for s in ex.sources)


def test_package_defaults_to_bitstreams_in_the_current_folder(tmp_path, monkeypatch, capsys):
    accel = load_accel("tiny")
    compile_model(load_model("m3vit-micro"), accel).save(tmp_path / "design")
    (tmp_path / "design_1_wrapper.bit").write_bytes(b"\xff" * 64)
    write_hwh(tmp_path / "design_1.hwh")
    monkeypatch.chdir(tmp_path)
    assert main(["package", "--bit", "design_1_wrapper.bit", "--hwh", "design_1.hwh",
                 "--design", "design", "--rename"]) == 0
    pkg = tmp_path / "bitstreams" / "tiny-m3vit-micro"
    assert str(Path("bitstreams") / "tiny-m3vit-micro") in capsys.readouterr().out
    assert sorted(p.name for p in pkg.iterdir()) == [
        "accel.json", "buildinfo.json", "image.bin", "manifest.json",
        "tiny-m3vit-micro.bit", "tiny-m3vit-micro.hwh"]


def test_bitstreams_readme_lists_every_package_file():
    from edgemoe.host.design import BUILDINFO
    from edgemoe.host.package import PACKAGE_FILES

    text = (ROOT / "bitstreams" / "README.md").read_text()
    for name in ("<name>.bit", "<name>.hwh", *PACKAGE_FILES, BUILDINFO):
        assert f"\n  {name} " in text, f"bitstreams/README.md does not list {name}"
