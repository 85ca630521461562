"""Compiler: layout, manifest, arena reuse, task switching, patch reordering, weight errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.compiler import ManifestError, compile_model
from edgemoe.compiler.io import write_pixels
from edgemoe.compiler.program import Compiled
from edgemoe.golden import execute
from edgemoe.isa import Op
from edgemoe.layout import (
    PROFILE_ENTRY_BYTES,
    PROFILE_FIELDS,
    STATUS_BYTES,
    bias_block_bytes,
    queue_layout,
    weight_block_bytes,
)
from edgemoe.models import WeightError, load_default_image, random_weights

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def compiled(micro, tiny):
    return compile_model(micro, tiny, seed=3)


def run(c, accel, model, task, count=None):
    """Run the first ``count`` instructions (arena tensors are reused later in the program)."""
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    n = c.n_instructions if count is None else count
    assert execute(image, accel, c.program_offset, n, task, c.status_offset) == 0
    return image


def profile(image, c, i):
    off = c.status_offset + STATUS_BYTES + i * PROFILE_ENTRY_BYTES
    return dict(zip(PROFILE_FIELDS, image[off:off + 64].view("<u8").tolist()))


def test_regions_are_aligned_disjoint_and_cover_the_image(compiled):
    regions = sorted(compiled.manifest["regions"].values())
    end = 0
    for off, size in regions:
        assert off % 64 == 0 and off >= end
        end = off + size
    assert end == compiled.image.size == compiled.manifest["image_bytes"]


def test_arena_reuses_bytes_of_dead_tensors(micro, tiny):
    from edgemoe.compiler.builder import ProgramBuilder, Ref
    from edgemoe.isa import Flag
    b = ProgramBuilder()
    t = [b.tensor(f"t{i}", 1000) for i in range(4)]
    for i in range(3):  # t0 -> t1 -> t2 -> t3: only two are ever live at once
        b.emit(Op.ADD, Flag.COPY, count=250, a=Ref(t[i]), dst=Ref(t[i + 1]))
    layout = b.finalize()
    assert layout.regions["arena"][1] == 2 * 1024
    assert layout.tensors["t0"][0] == layout.tensors["t2"][0]


def test_save_load_round_trip_and_mismatch_errors(compiled, tmp_path):
    compiled.save(tmp_path)
    back = Compiled.load(tmp_path)
    assert np.array_equal(back.image, compiled.image) and back.instrs == compiled.instrs
    image = compiled.image.copy()
    w_off = compiled.manifest["regions"]["weights"][0]
    image[w_off] ^= 1
    image.tofile(tmp_path / "image.bin")
    with pytest.raises(ManifestError, match="weights in the memory image do not match"):
        Compiled.load(tmp_path)
    image[:-64].tofile(tmp_path / "image.bin")
    with pytest.raises(ManifestError, match="different compiles"):
        Compiled.load(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ManifestError, match="manifest.json is missing"):
        Compiled.load(tmp_path)


def test_one_program_serves_both_tasks_through_the_gate_offset(compiled, micro, tiny):
    gates = [i for i in compiled.instrs if i.op == Op.MOE_GATE]
    assert gates and all(g.get("task_stride") > 0 for g in gates)
    heads = {i.task_mask for i in compiled.instrs if i.task_mask != 0xFF}
    assert heads == {1, 2}
    idx = compiled.instrs.index(gates[0])
    seg, depth = run(compiled, tiny, micro, 0, idx + 1), run(compiled, tiny, micro, 1, idx + 1)
    q = gates[0].get("queues")
    n = queue_layout(micro.num_experts, micro.num_tokens)["total"]
    # the same program: task 1 reads the second router slice, so the queues differ
    assert not np.array_equal(seg[q:q + n], depth[q:q + n])
    # running task 0 with the gate pointer moved onto slice 1 reproduces task 1's queues
    moved = compiled.image.copy()
    word = compiled.program_offset + 64 * idx + 4 * 7  # a1 = w_gate
    addr = int(moved[word:word + 4].view("<u4")[0]) + gates[0].get("task_stride")
    moved[word:word + 4] = np.array([addr], "<u4").view(np.uint8)
    write_pixels(moved, compiled.manifest, load_default_image(micro))
    execute(moved, tiny, compiled.program_offset, idx + 1, 0, compiled.status_offset)
    assert np.array_equal(moved[q:q + n], depth[q:q + n])


def test_each_active_expert_is_fetched_once_per_layer(zcu102):
    from edgemoe.params import load_model
    model = load_model("m3vit-tiny")
    c = compile_model(model, zcu102, seed=0)
    d, h = model.dim, model.expert_hidden
    per_expert = 2 * weight_block_bytes(h, d, 16, 16, 2) + bias_block_bytes(h, 16, 2) + \
        bias_block_bytes(d, 16, 2)
    gates = [i for i, ins in enumerate(c.instrs) if ins.op == Op.MOE_GATE]
    for g in gates:
        image = run(c, zcu102, model, 0, g + 2)
        q = c.instrs[g].get("queues")
        counts = image[q:q + 4 * model.num_experts].view("<u4")
        assert counts.sum() == model.top_k * model.num_tokens
        prof = profile(image, c, g + 1)  # the MOE_EXPERTS right after
        assert prof["experts_active"] == int((counts > 0).sum())
        assert prof["weight_bytes"] == prof["experts_active"] * per_expert
        # fetching per (token, expert) pair instead would move counts.sum() expert blocks
        assert counts.sum() * per_expert / prof["weight_bytes"] >= 10


def test_weight_errors_name_the_tensor(micro, tiny):
    w = random_weights(micro, 0)
    w["blocks.0.attn.qkv.weight"][0, 0] = np.nan
    with pytest.raises(WeightError, match="blocks.0.attn.qkv.weight"):
        compile_model(micro, tiny, w)


def test_saturated_weights_are_counted_and_strict_refuses(micro, tiny):
    w = random_weights(micro, 0)
    w["blocks.1.mlp.experts.htoh4.weight"][0, :3, 0] = 5.0  # linear weights hold +-2
    c = compile_model(micro, tiny, w)
    assert c.report.saturated == {"blocks.1.mlp.experts.htoh4.weight": 3}
    with pytest.raises(WeightError, match=r"htoh4.weight: 3 of \d+ values saturated"):
        compile_model(micro, tiny, w, strict=True)


def test_manifest_is_json_and_names_formats(compiled):
    m = json.loads(json.dumps(compiled.manifest))
    assert m["inputs"]["pixels"]["format"].startswith("ap_ufixed<8,0")
    assert m["outputs"]["seg"]["shape"] == [32, 64, 7]
    assert m["outputs"]["depth"]["shape"] == [32, 64, 1]
