"""Accelerator on every backend: bit-exact agreement, decoding, profiles, batching."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgemoe.compare import diff_images
from edgemoe.compiler import compile_model
from edgemoe.compiler.io import read_output, write_pixels
from edgemoe.golden import execute
from edgemoe.host import Accelerator, Result
from edgemoe.host.fake_device import FakeDevice, make_fake_package
from edgemoe.layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
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
    return compile_model(model, accel, seed=3)


@pytest.fixture(scope="module")
def package(compiled, accel, tmp_path_factory):
    return make_fake_package(compiled, accel, tmp_path_factory.mktemp("pkg"))


@pytest.fixture(scope="module")
def images(model):
    base = load_default_image(model)
    rng = np.random.default_rng(7)
    return [base, np.clip(base.astype(int) + rng.integers(-40, 41, base.shape), 0, 255)
            .astype(np.uint8), rng.integers(0, 256, base.shape, dtype=np.uint8)]


def _direct_golden(compiled, accel, pixels, task_index):
    """Outputs computed without the host runtime: write pixels, execute, read."""
    image = compiled.fresh_image()
    write_pixels(image, compiled.manifest, pixels)
    err = execute(image, accel, compiled.program_offset, compiled.n_instructions, task_index,
                  compiled.status_offset)
    assert err == 0
    return image


def test_golden_and_fake_pynq_agree_bit_exact(accel, compiled, package, images):
    with Accelerator(compiled) as gold:
        g = gold.run(images, task="all")
        gold_mem = gold.backend.memory.copy()
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device, timeout_s=5) as acc:
        p = acc.run(images, task="all")
        ddr = device.ddr_view(int(acc.backend.memory.device_address))[:compiled.image.size].copy()
    for i, (a, b) in enumerate(zip(g, p)):
        assert set(a) == set(b) == {"seg", "depth"}
        for task in a:
            assert np.array_equal(a[task], b[task]), (i, task)
            assert np.array_equal(a.predictions[task], b.predictions[task])
    # the device memory after the last run equals the golden backend's, byte for byte
    assert diff_images(gold_mem, ddr, compiled.manifest) == []
    # and both equal the executor driven directly, without the host runtime
    for i, pixels in enumerate(images):
        for task in ("seg", "depth"):
            index = compiled.manifest["outputs"][task]["task_index"]
            direct = read_output(_direct_golden(compiled, accel, pixels, index),
                                 compiled.manifest, task)
            assert np.array_equal(direct, g[i][task])


@pytest.mark.csim
def test_csim_agrees_with_golden_and_fake_pynq(accel, compiled, package, images):
    with Accelerator(compiled) as gold, Accelerator(compiled, backend="csim") as cs:
        g = gold.run(images[:2], task="all")
        c = cs.run(images[:2], task="all")
        assert diff_images(gold.backend.memory, cs.backend.memory, compiled.manifest) == []
    with Accelerator(package, backend="pynq", device=FakeDevice(accel)) as acc:
        p = acc.run(images[:2], task="all")
    for a, b, d in zip(g, c, p):
        for task in ("seg", "depth"):
            assert np.array_equal(a[task], b[task]) and np.array_equal(b[task], d[task]), task


def test_outputs_shapes_and_predictions(model, compiled, images):
    with Accelerator(compiled) as acc:
        (res,) = acc.run(images[0], task="all")
    assert isinstance(res, Result) and isinstance(res, dict)
    seg_ch = {t.name: t.channels for t in model.tasks}
    assert res["seg"].shape == (model.image_height, model.image_width, seg_ch["seg"])
    assert res["depth"].shape == (model.image_height, model.image_width, 1)
    assert res["seg"].dtype == np.float64
    assert np.array_equal(res.predictions["seg"], res["seg"].argmax(-1))
    assert np.array_equal(res.predictions["depth"], res["depth"][..., 0])
    assert len(np.unique(res.predictions["seg"])) > 1  # not a constant map


def test_task_all_equals_single_tasks(compiled, images):
    with Accelerator(compiled) as acc:
        both = acc.run(images[1], task="all")[0]
        seg = acc.run(images[1], task="seg")[0]
        depth = acc.run(images[1], task="depth")[0]
    assert list(seg) == ["seg"] and list(depth) == ["depth"]
    assert np.array_equal(both["seg"], seg["seg"])
    assert np.array_equal(both["depth"], depth["depth"])
    with Accelerator(compiled) as acc, pytest.raises(ValueError, match="unknown task 'normals'"):
        acc.run(images[0], task="normals")


def test_batch_forms_and_resizing(compiled, images):
    with Accelerator(compiled) as acc:
        ref = acc.run(images, task="seg")
        batch = acc.run(np.stack(images), task="seg")  # 4-D (N, 3, H, W)
        hwc = acc.run(images[2].transpose(1, 2, 0), task="seg")  # one (H, W, 3) image
        big = images[2].repeat(2, axis=1).repeat(2, axis=2)  # 2x: area-averaged back exactly
        resized = acc.run(big, task="seg")
        calls = []
        acc.run(images[:2], task="seg", progress=lambda it: calls.append(1) or it)
    assert len(batch) == 3
    for a, b in zip(ref, batch):
        assert np.array_equal(a["seg"], b["seg"])
    assert np.array_equal(hwc[0]["seg"], ref[2]["seg"])
    assert np.array_equal(resized[0]["seg"], ref[2]["seg"])
    assert calls == [1]


def test_profile_reads_the_status_block(accel, compiled, images, tmp_path):
    with Accelerator(compiled) as acc:
        res = acc.run(images[0], task="depth")[0]
        mem = acc.backend.memory
    prof = res.profiles["depth"]
    raw = mem[compiled.status_offset + STATUS_BYTES:][:compiled.n_instructions * PROFILE_ENTRY_BYTES]
    rows = raw.view("<u8").reshape(compiled.n_instructions, 8)
    ran = [i for i, ins in enumerate(compiled.instrs) if ins.runs_for(1)]
    skipped = [i for i in range(compiled.n_instructions) if i not in ran]
    assert [e.index for e in prof.entries] == ran
    assert skipped and all(rows[i, 0] == 0 for i in skipped)  # seg head did not run
    assert prof.totals()["cycles"] == int(rows[ran, 0].sum()) > 0
    assert prof.totals()["macs"] == int(rows[ran, 1].sum()) > 0
    assert prof.totals()["latency_us"] == pytest.approx(rows[ran, 0].sum() / accel.clock_mhz)
    assert [e.name for e in prof.entries] == [compiled.instrs[i].comment for i in ran]
    by_op = prof.by_op()
    assert sum(v["count"] for v in by_op.values()) == len(ran)
    assert next(iter(by_op.values()))["cycles"] == max(v["cycles"] for v in by_op.values())
    table = prof.table()
    assert "heads.depth" in table and "heads.seg" not in table
    assert f"{int(rows[ran, 0].sum()):,}" in table.splitlines()[-1]
    png = prof.plot(tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_weights_placed_once_and_cache_protocol(accel, package, images):
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device) as acc:
        flushes, invalidates = device.flushes, device.invalidates
        acc.run(images, task="all")
        assert device.allocations == 1  # one buffer: weights + program placed once
        assert device.flushes - flushes == len(images)  # inputs only, once per image
        assert device.invalidates - invalidates == 2 * 2 * len(images)  # status + output per run
    assert device.live_buffers == []


def test_fake_device_models_the_cache(accel, compiled, package, images):
    """Without a flush the device computes on stale pixels: the identity test can fail."""
    device = FakeDevice(accel)
    with Accelerator(package, backend="pynq", device=device) as acc:
        good = acc.run(images[0], task="seg")[0]["seg"]
        acc.backend.sync_to_device = lambda offset, nbytes: None
        stale = acc.run(images[2], task="seg")[0]["seg"]
    with Accelerator(compiled) as gold:
        want = gold.run(images[2], task="seg")[0]["seg"]
    assert np.array_equal(stale, good) and not np.array_equal(stale, want)


@pytest.mark.unit
def test_host_imports_without_optional_packages(tmp_path):
    code = textwrap.dedent("""
        import sys
        class Block:
            BLOCKED = ("jinja2", "cocotb", "matplotlib", "pynq", "pynqmetadata", "PIL", "tqdm")
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in self.BLOCKED:
                    raise ImportError(f"blocked {name}")
        sys.meta_path.insert(0, Block())
        from edgemoe.host import Accelerator
        from edgemoe.compiler import compile_model
        from edgemoe.params import load_accel, load_model
        import numpy as np
        c = compile_model(load_model("m3vit-micro"), load_accel("tiny"))
        with Accelerator(c) as acc:
            r = acc.run(np.zeros((3, 32, 64), np.uint8), task="all")[0]
        print(sorted(r), r["seg"].shape)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "['depth', 'seg'] (32, 64, 7)" in out.stdout


def test_host_imports_only_numpy_level_modules():
    """The runtime must import on a PYNQ board: no jinja2, matplotlib, cocotb or pynq."""
    import subprocess
    import sys

    code = ("import sys, edgemoe.host; heavy = [m for m in ('jinja2', 'matplotlib', 'cocotb', "
            "'pynq', 'tqdm') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
