"""Issue 10 findings 3-8: bad images, damaged files, timeouts, the default design point,
rtlsim's cycle budget and `bench --only`: one line naming the file or key, exit 2."""

from __future__ import annotations

import json
import math
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from edgemoe.cli import main, one_line
from edgemoe.compiler import compile_model
from edgemoe.host import Accelerator
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.host.images import read_image
from edgemoe.models import (
    ImageError,
    WeightError,
    image_to_pixels,
    random_weights,
    save_weights,
    validate_weights,
)
from edgemoe.params import load_accel, load_model

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    root = tmp_path_factory.mktemp("design")
    return compile_model(load_model("m3vit-micro"), load_accel("tiny")).save(root / "d")


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _run(design, tmp_path, *extra) -> list[str]:
    return ["run", "--design", str(design), "--out", str(tmp_path / "out"), *extra]


# -- finding 3: images ------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    from PIL import Image

    values = np.arange(64 * 128, dtype=np.uint32).reshape(64, 128) * 8 % 65536
    Image.fromarray(values.astype(np.uint16)).save(tmp_path / "p16.png")
    rgb = read_image(tmp_path / "p16.png")
    want = values / 65535 * 255  # float reference; rounding error at most 0.5
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 128, 3)
    assert np.abs(rgb[..., 0] - want).max() <= 0.5
    assert (rgb == 255).mean() < 0.01  # before the fix 99.5% of the pixels became 255
    # 16-bit RGB: Pillow keeps the high byte, so the error stays below one 8-bit step
    h, w = 4, 5
    px = (np.arange(h * w * 3).reshape(h, w, 3) * 3000 % 65536).astype(">u2")
    raw = b"".join(b"\x00" + px[r].tobytes() for r in range(h))
    (tmp_path / "rgb16.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b""))
    got = read_image(tmp_path / "rgb16.png").astype(float)
    assert np.abs(got - px.astype(float) / 65535 * 255).max() < 1.0


def test_decompression_bomb_is_refused_by_pillows_limit(tmp_path, design, capsys):
    bomb = tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + _png_chunk(b"IEND", b""))
    assert main(_run(design, tmp_path, "--image", str(bomb))) == 2
    line = _error(capsys)
    assert str(bomb) in line and "too large to decode safely" in line


def test_truncated_png_and_folder_are_named(tmp_path, design, capsys):
    from PIL import Image

    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    assert main(_run(design, tmp_path, "--image", str(tmp_path / "cut.png"))) == 2
    line = _error(capsys)
    assert str(tmp_path / "cut.png") in line and "truncated" in line
    folder = tmp_path / "pics"
    folder.mkdir()
    assert main(_run(design, tmp_path, "--image", str(folder))) == 2
    assert "is a folder" in _error(capsys)
    assert not (tmp_path / "out").exists()  # inputs are checked before the folder is made


def test_empty_and_3_pixel_high_images(tmp_path, design):
    from PIL import Image

    with pytest.raises(ImageError, match="no pixels"):
        image_to_pixels(np.zeros((0, 0, 3), np.uint8))
    rgb = np.random.default_rng(0).integers(0, 256, (3, 64, 3), dtype=np.uint8)
    assert image_to_pixels(rgb, "HWC").shape == (3, 3, 64)
    Image.fromarray(rgb).save(tmp_path / "h3.png")
    assert main(_run(design, tmp_path, "--image", str(tmp_path / "h3.png"))) == 0


# -- finding 4: damaged weight files and manifests ---------------------------------------------

def test_damaged_weight_files_name_the_file(tmp_path, design, capsys):
    weights = random_weights(load_model("m3vit-micro"), 1)
    save_weights(weights, tmp_path / "w.npz")
    data = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 3])
    (tmp_path / "junk.safetensors").write_bytes(b"\x02\x00\x00")
    for name in ("cut.npz", "junk.safetensors"):
        assert main(_run(design, tmp_path, "--weights", str(tmp_path / name))) == 2
        line = _error(capsys)
        assert str(tmp_path / name) in line and "truncated or damaged" in line


def test_negative_batchnorm_variance_names_the_tensor():
    model = load_model("m3vit-micro")
    weights = random_weights(model, 2)
    weights["heads.seg.syncbn_fc_0.running_var"][3] = -0.5
    with pytest.raises(WeightError, match=r"heads\.seg\.syncbn_fc_0\.running_var' has 1 var"):
        validate_weights(weights, model)


@pytest.mark.parametrize("edit,key", [
    (lambda m: m.pop("program"), "'program' is missing"),
    (lambda m: m.pop("outputs"), "'outputs' is missing"),
    (lambda m: m["inputs"]["pixels"].update(offset=1 << 40), "'inputs.pixels.offset'"),
    (lambda m: m["outputs"]["seg"].update(shape="x"), "'outputs.seg.shape'"),
    (lambda m: m["program"].update(names=True), "'program.names'"),
    (lambda m: m["program"].update(shared_prefix=1 << 20), "'program.shared_prefix'"),
    (lambda m: m["taps"].update(x_shape=[1 << 20, 1 << 20]), "'taps.x.offset'"),
    (lambda m: m["taps"].update(tensors=[]), "'taps.tensors'"),
    (lambda m: m.update(taps=False), "'taps' is not a JSON object"),
    (lambda m: m.pop("taps"), "'taps' is missing"),
    (lambda m: m["regions"].update(arena="x"), "'regions.arena'"),
])
def test_damaged_manifest_names_the_key(tmp_path, design, capsys, edit, key):
    copy = shutil.copytree(design, tmp_path / "d")
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["run", "--design", str(copy), "--out", str(tmp_path / "o")]) == 2
    line = _error(capsys)
    assert str(copy / "manifest.json") in line and key in line


def test_manifest_and_buildinfo_json_errors_name_the_file(tmp_path, capsys):
    accel = load_accel("tiny")
    pkg = make_fake_package(compile_model(load_model("m3vit-micro"), accel), accel, tmp_path)
    for name, text in (("buildinfo.json", "{oops"), ("manifest.json", "[1, 2]")):
        copy = shutil.copytree(pkg, tmp_path / f"copy_{name}")
        (copy / name).write_text(text)
        assert main(["run", "--package", str(copy), "--out", str(tmp_path / "o")]) == 2
        assert str(copy / name) in _error(capsys)


def test_bad_opcode_gives_the_device_error(tmp_path, design, capsys):
    copy = shutil.copytree(design, tmp_path / "d")
    manifest = json.loads((copy / "manifest.json").read_text())
    image = np.fromfile(copy / "image.bin", np.uint8)
    image[manifest["program"]["offset"] + 64 * 2] = 238  # opcode byte of instruction 2
    image.tofile(copy / "image.bin")
    assert main(["run", "--design", str(copy), "--out", str(tmp_path / "o")]) == 2
    line = _error(capsys)
    assert "reported BAD_OPCODE (code 1) at instruction 2" in line and "opcode 238" in line


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, design):
    err = WeightError("weights do not match (2 problem(s)):", ["missing 'a'", "extra 'b'"])
    assert one_line(err) == "weights do not match (2 problem(s)): missing 'a'; extra 'b'"
    assert one_line(ValueError("--out x holds y")) == "--out x holds y"
    with pytest.raises(FileNotFoundError):
        main(["--debug", *_run(design, tmp_path, "--image", str(tmp_path / "none.png"))])


# -- finding 5: timeouts ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "0", "-3", "inf"])
def test_cli_timeout_must_be_finite_and_positive(tmp_path, design, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(_run(design, tmp_path, "--backend", "pynq", "--timeout", value))
    assert exc.value.code == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.parametrize("value", [math.nan, 0.0, -1.0, math.inf])
def test_pynq_backend_refuses_unbounded_timeouts(tmp_path, value):
    accel = load_accel("tiny")
    pkg = make_fake_package(compile_model(load_model("m3vit-micro"), accel), accel, tmp_path)
    device = FakeDevice(accel)
    with pytest.raises(ValueError, match="finite number of seconds > 0"):
        Accelerator(pkg, backend="pynq", device=device, timeout_s=value)
    assert device.live_buffers == []


# -- finding 6: run picks a design point that holds the model ----------------------------------

@pytest.mark.slow
def test_readme_first_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--model", "m3vit-tiny", "--backend", "golden", "--task", "all",
                 "--out", "out/run"]) == 0
    index = json.loads(Path("out/run/index.json").read_text())
    assert index["complete"] and {e["name"] for e in index["files"]} == {
        "default.npz", "default_seg.png", "default_depth.png"}
    assert "task seg:" in capsys.readouterr().out


def test_default_design_point_and_explicit_misfit(tmp_path, capsys):
    from edgemoe.commands.run import default_accel

    assert default_accel(load_model("m3vit-micro")).name == "tiny"
    assert default_accel(load_model("m3vit-tiny")).name == "edge-moe-zcu102"
    assert main(["run", "--model", "m3vit-tiny", "--accel", "tiny", "--out",
                 str(tmp_path / "o")]) == 2
    line = _error(capsys)
    assert "does not run on design point tiny" in line and "max_tokens" in line


# -- finding 7: rtlsim cycle budget --------------------------------------------------------------

def test_rtlsim_refuses_a_run_over_max_cycles_before_building(capsys, monkeypatch):
    import edgemoe.rtl as rtl_pkg

    def no_build(*_a, **_k):
        raise AssertionError("the simulator was started")

    monkeypatch.setattr(rtl_pkg, "RtlsimExecutor", no_build)
    assert main(["rtlsim", "--accel", "tiny", "--model", "m3vit-micro", "--max-cycles",
                 "1000"]) == 2
    line = _error(capsys)
    assert "(modelled estimate), more than --max-cycles 1,000: pass --max-cycles" in line


def test_progress_watcher_and_cycle_bar(tmp_path):
    from edgemoe.commands._cyclebar import CycleBar
    from edgemoe.rtl.progress import ProgressWatcher

    seen = []
    watcher = ProgressWatcher(tmp_path / "p.json", lambda job, cycles: seen.append((job, cycles)))
    watcher.poll()  # no file yet: nothing reported
    (tmp_path / "p.json").write_text(json.dumps({"job": 1, "cycles": 40000}))
    watcher.poll()
    watcher.poll()  # unchanged: reported once
    assert seen == [(1, 40000)]
    with CycleBar([100_000, 50_000], "x") as bar:
        bar.update(1, 20_000)
        assert bar._bar.n == 120_000 and bar._bar.total == 150_000


# -- finding 8: bench --only -------------------------------------------------------------------

def test_bench_only_unknown_section_lists_the_sections(capsys):
    assert main(["bench", "--only", "nonsense"]) == 2
    line = _error(capsys)
    assert "'nonsense'" in line and "golden" in line and "numerics" in line


def _raising(exc: BaseException):
    def run(quick=False):
        raise exc
    return run


def test_unexpected_errors_are_one_line_and_interrupts_stay_interrupts(monkeypatch, capsys):
    import edgemoe.bench.numerics as section

    monkeypatch.setattr(section, "run", _raising(AttributeError("'list' has no 'get'")))
    assert main(["bench", "--only", "numerics"]) == 3
    err = capsys.readouterr().err
    assert "internal error: AttributeError" in err and "--debug" in err
    assert "Traceback" not in err
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as interrupt:
        wrapped = ImportError("initialization failed")
        wrapped.__context__ = interrupt
    monkeypatch.setattr(section, "run", _raising(wrapped))
    assert main(["bench", "--only", "numerics"]) == 130
    assert "interrupted" in capsys.readouterr().err
