"""Deploy packages and design directories: assembly, checks with clear errors, deploy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgemoe.compiler import compile_model
from edgemoe.host import (
    Accelerator,
    BackendUnavailable,
    ConfigIdMismatch,
    PackageError,
    open_design,
)
from edgemoe.host.deploy import deploy, is_remote, transfer_commands
from edgemoe.host.design import sha256_file
from edgemoe.host.hwh import hwh_xml, write_hwh
from edgemoe.host.package import make_package
from edgemoe.host.registers import RegisterSpec, default_layout
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A compiled design dir plus a Vivado-like .bit/.hwh pair."""
    root = tmp_path_factory.mktemp("build")
    accel = load_accel("tiny")
    compiled = compile_model(load_model("m3vit-micro"), accel)
    design = compiled.save(root / "design")
    (root / "accel.bit").write_bytes(bytes(range(256)) * 4)
    write_hwh(root / "accel.hwh")
    return root, design, accel, compiled


@pytest.fixture
def package(built, tmp_path):
    root, design, _, _ = built
    return make_package(root / "accel.bit", root / "accel.hwh", design, tmp_path / "zcu_tiny")


def test_package_layout_and_buildinfo(package, built):
    root, _, accel, compiled = built
    names = sorted(p.name for p in package.iterdir())
    assert names == ["accel.json", "buildinfo.json", "image.bin", "manifest.json",
                     "zcu_tiny.bit", "zcu_tiny.hwh"]
    info = json.loads((package / "buildinfo.json").read_text())
    assert info["config_id"] == accel.config_id and info["model"] == "m3vit-micro"
    assert info["versions"]["numpy"] == np.__version__ and info["versions"]["edgemoe"]
    assert len(info["source_sha256"]) == 64 and info["created_utc"].endswith("+00:00")
    assert info["files"]["zcu_tiny.bit"] == sha256_file(root / "accel.bit")
    assert set(info["files"]) == set(names) - {"buildinfo.json"}
    d = open_design(package)
    assert d.bitfile == package / "zcu_tiny.bit" and d.hwh == package / "zcu_tiny.hwh"
    assert d.accel.config_id == accel.config_id and d.buildinfo["name"] == "zcu_tiny"
    assert np.array_equal(d.image, compiled.image)
    assert not d.image.flags.writeable


def test_missing_hwh(package):
    (package / "zcu_tiny.hwh").unlink()
    with pytest.raises(PackageError, match=r"zcu_tiny\.hwh is missing: pynq needs"):
        open_design(package)


def test_bit_hwh_basename_mismatch(package, built):
    (package / "zcu_tiny.hwh").rename(package / "design_1.hwh")
    with pytest.raises(PackageError, match="different basenames.*rename design_1.hwh to "
                                           "zcu_tiny.hwh"):
        open_design(package)
    root, design, _, _ = built
    shutil.copyfile(root / "accel.hwh", root / "design_1.hwh")
    with pytest.raises(PackageError, match="different basenames.*--rename"):
        make_package(root / "accel.bit", root / "design_1.hwh", design, package.parent / "x")
    out = make_package(root / "accel.bit", root / "design_1.hwh", design, package.parent / "y",
                       allow_rename=True)
    assert (out / "y.hwh").is_file()


def test_replaced_bitstream(package):
    (package / "zcu_tiny.bit").write_bytes(b"another build")
    with pytest.raises(PackageError, match=r"zcu_tiny\.bit does not match buildinfo\.json"):
        open_design(package)


def test_image_not_matching_manifest(package, built, tmp_path):
    image = np.fromfile(package / "image.bin", np.uint8)
    woff = json.loads((package / "manifest.json").read_text())["regions"]["weights"][0]
    image[woff + 3] ^= 0xFF
    image.tofile(package / "image.bin")
    with pytest.raises(PackageError, match=r"image\.bin does not match buildinfo"):
        open_design(package)
    # a design directory has no buildinfo: the manifest's weights digest catches it
    design = tmp_path / "design"
    shutil.copytree(built[1], design)
    image.tofile(design / "image.bin")
    with pytest.raises(PackageError, match="weights in the memory image do not match"):
        open_design(design)
    with pytest.raises(PackageError, match="weights in the memory image do not match"):
        make_package(built[0] / "accel.bit", built[0] / "accel.hwh", design, tmp_path / "p")


def test_hwh_of_another_design(built, tmp_path):
    root, design, _, _ = built
    foreign = tmp_path / "other.hwh"
    foreign.write_text(hwh_xml(vlnv="xilinx.com:hls:matmul:1.0"))
    shutil.copyfile(root / "accel.bit", tmp_path / "other.bit")
    with pytest.raises(PackageError, match="describes no edgemoe_top IP"):
        make_package(tmp_path / "other.bit", foreign, design, tmp_path / "p")
    partial = tuple(r for r in default_layout() if r.name not in ("task", "status"))
    partial_hwh = tmp_path / "partial.hwh"
    write_hwh(partial_hwh, partial)
    shutil.copyfile(root / "accel.bit", tmp_path / "partial.bit")
    with pytest.raises(PackageError, match="lacks registers status, task"):
        make_package(tmp_path / "partial.bit", partial_hwh, design, tmp_path / "q")
    single = default_layout()[:4] + (
        RegisterSpec("mem", 0x10, "write-only", size=64),
        RegisterSpec("mem_bytes", 0x1C, "write-only", size=64)) + tuple(
        r for r in default_layout() if not r.name.startswith("mem_"))[4:]
    write_hwh(tmp_path / "single.hwh", single)
    shutil.copyfile(root / "accel.bit", tmp_path / "single.bit")
    assert make_package(tmp_path / "single.bit", tmp_path / "single.hwh", design,
                        tmp_path / "single_pkg").is_dir()


def test_design_point_of_the_manifest_is_checked(built, tmp_path):
    root, design, _, _ = built
    with pytest.raises(Exception, match="compiled for config_id"):
        make_package(root / "accel.bit", root / "accel.hwh", design, tmp_path / "p",
                     accel=load_accel("tiny", ["linear_p_in=8"]))


def test_numerics_tables_of_the_manifest_are_checked(built, tmp_path):
    _, design, _, _ = built
    copy = tmp_path / "design"
    shutil.copytree(design, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["numerics_digest"] = "0" * 16
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigIdMismatch, match="numerics tables 0000000000000000"):
        open_design(copy)


def test_bad_sources(tmp_path, built):
    with pytest.raises(PackageError, match="is not a directory"):
        open_design(tmp_path / "nope")
    with pytest.raises(PackageError, match="has no manifest.json"):
        open_design(tmp_path)
    with pytest.raises(BackendUnavailable, match="needs a deploy package"):
        Accelerator(built[1], backend="pynq")
    with pytest.raises(ValueError, match="unknown backend 'fpga'"):
        Accelerator(built[1], backend="fpga")
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(PackageError, match="not empty and was not written by edgemoe"):
        make_package(built[0] / "accel.bit", built[0] / "accel.hwh", built[1], out)
    with pytest.raises(PackageError, match="not empty and was not written by edgemoe"):
        make_package(built[0] / "accel.bit", built[0] / "accel.hwh", built[1], out,
                     overwrite=True)
    assert (out / "keep.txt").read_text() == "x"


def test_deploy_to_a_local_directory_runs_standalone(package, tmp_path):
    target = tmp_path / "board"
    assert deploy(package, str(target)) == []
    deployed = target / "bitstreams" / "zcu_tiny"
    for f in package.iterdir():
        assert sha256_file(deployed / f.name) == sha256_file(f)
    assert (target / "edgemoe_board.ipynb").is_file()
    assert (target / "configs" / "accel" / "tiny.yaml").is_file()
    assert not list(target.rglob("__pycache__"))
    # the deployed runtime alone (cwd = notebook folder) opens the package and runs it
    code = textwrap.dedent("""
        import edgemoe, numpy as np
        from edgemoe.host import Accelerator
        from edgemoe.params import config_dir
        with Accelerator("bitstreams/zcu_tiny") as acc:
            r = acc.run(np.full((3, 32, 64), 100, np.uint8), task="depth")[0]
        print(edgemoe.__file__, config_dir(), r["depth"].shape)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=target, capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert out.returncode == 0, out.stderr
    mod, cfg, shape = out.stdout.split(maxsplit=2)
    assert Path(mod).is_relative_to(target) and Path(cfg) == target / "configs"
    assert shape.strip() == "(32, 64, 1)"


def test_deploy_to_a_board_uses_rsync_or_scp(package, tmp_path):
    assert is_remote("xilinx@pynq:/home/xilinx/edgemoe") and is_remote("board:edgemoe")
    assert not is_remote(str(tmp_path)) and not is_remote("relative/dir")
    cmds = transfer_commands(tmp_path, "xilinx@pynq:/home/xilinx/e", have_rsync=True)
    assert cmds[0] == ["ssh", "xilinx@pynq", "mkdir", "-p", "/home/xilinx/e"]
    assert cmds[1][:2] == ["rsync", "-a"] and cmds[1][-1] == "xilinx@pynq:/home/xilinx/e/"
    staging = tmp_path / "staging"
    (staging / "a").mkdir(parents=True)
    (staging / "b.ipynb").write_text("{}")
    scp = transfer_commands(staging, "pynq:/e", have_rsync=False)[1]
    assert scp[:2] == ["scp", "-r"]
    assert scp[-3:] == [str(staging / "a"), str(staging / "b.ipynb"), "pynq:/e/"]
    ran = []
    deploy(package, "xilinx@pynq:/home/xilinx/e", runner=ran.append)
    assert ran[0][0] == "ssh" and ran[1][0] in ("rsync", "scp")

    def failing(cmd):
        raise subprocess.CalledProcessError(255, cmd)

    with pytest.raises(Exception, match="ssh xilinx@pynq` works without a password"):
        deploy(package, "xilinx@pynq:/home/xilinx/e", runner=failing)


def test_interrupted_package_leaves_nothing_and_reruns(built, tmp_path, monkeypatch):
    """Ctrl-C while copying: no half package is left, and the same command then works."""
    root, design, _, _ = built
    out = tmp_path / "pkg"
    real_copy = shutil.copyfile
    calls = []

    def copy_then_interrupt(src, dst):
        calls.append(src)
        if len(calls) == 2:  # the .bit is in place, the .hwh is not
            raise KeyboardInterrupt
        return real_copy(src, dst)

    monkeypatch.setattr(shutil, "copyfile", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        make_package(root / "accel.bit", root / "accel.hwh", design, out)
    assert not out.exists()
    monkeypatch.setattr(shutil, "copyfile", real_copy)
    assert (make_package(root / "accel.bit", root / "accel.hwh", design, out) / "buildinfo.json"
            ).is_file()


def test_interrupted_save_keeps_the_previous_design(built, tmp_path, monkeypatch):
    """A compile interrupted while writing its files leaves the earlier pair intact."""
    _, _, _, compiled = built
    d = compiled.save(tmp_path / "design")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    changed = compiled.image.copy()
    changed[-1] ^= 0xFF
    newer = type(compiled)(changed, dict(compiled.manifest), compiled.instrs)

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(compiled), "manifest_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        newer.save(d)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
