"""Both tasks of an image (edgemoe.perf.tasks): the prefix split and the batching model."""

from __future__ import annotations

import pytest

from edgemoe.compiler import compile_model
from edgemoe.compiler.io import write_pixels
from edgemoe.isa import ALL_TASKS, Op
from edgemoe.layout import weight_block_bytes
from edgemoe.models import load_default_image
from edgemoe.params import load_accel, load_model
from edgemoe.perf import golden_routing, memory_timing, model_program
from edgemoe.perf.tasks import batched_gain, rest_allowed, two_task_figures


@pytest.fixture(scope="module")
def micro():
    accel, model = load_accel("tiny"), load_model("m3vit-micro")
    c = compile_model(model, accel)
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    routing, models = {}, {}
    for i, name in enumerate(c.manifest["tasks"]):
        routing[name] = golden_routing(image, accel, c.program_offset, c.instrs, i,
                                       c.status_offset)
        models[name] = model_program(c.instrs, accel, routing[name], i)
    return accel, c, routing, models


@pytest.mark.unit
def test_rest_allowed_is_what_makes_both_tasks_the_target_ratio():
    prefix = 1000.0
    rest = rest_allowed(prefix, 1.6)
    assert (prefix + 2 * rest) / (prefix + rest) == pytest.approx(1.6)
    assert rest == pytest.approx(1.5 * prefix)
    with pytest.raises(ValueError, match="between 1 and 2"):
        rest_allowed(prefix, 2.0)


@pytest.mark.unit
def test_prefix_and_rest_add_up_to_each_tasks_modelled_run(micro):
    _, c, _, models = micro
    f = two_task_figures(models, len(c.instrs), c.shared_prefix)
    assert c.shared_prefix > 0
    # one task is exactly its own modelled run; the second task's run is its rest plus the
    # prefix it no longer repeats
    seg, depth = models.values()
    assert f.one == seg.cycles
    assert f.prefix + f.rest["depth"] == depth.cycles
    assert f.both == seg.cycles + depth.cycles - f.prefix
    assert 1.0 < f.ratio < 2.0


@pytest.mark.unit
def test_batching_reads_the_shared_weights_once(micro):
    accel, c, routing, _ = micro
    g = batched_gain(c.instrs, accel, memory_timing(accel), c.shared_prefix, routing)
    pi, po = accel.linear_p_in, accel.linear_p_out
    wb = accel.formats.linear_weight.storage_dtype.itemsize
    bb = accel.formats.bias.storage_dtype.itemsize
    expect, ops = 0, 0
    seg, depth = routing.values()
    for i, ins in enumerate(c.instrs[c.shared_prefix:], c.shared_prefix):
        if ins.task_mask != ALL_TASKS:
            continue
        if ins.op == Op.LINEAR:
            n, k = ins.get("out_features"), ins.get("in_features")
            expect += n * k * wb + n * bb  # the second task's copy of the weights
            ops += 1
        elif ins.op == Op.MOE_EXPERTS:
            d, h = ins.get("dim"), ins.get("hidden")
            # the biases are read P_OUT words at a time (not the 64-byte padded block)
            per_expert = (weight_block_bytes(h, d, po, pi, wb) + weight_block_bytes(d, h, po, pi, wb)
                          + (-(-h // po) + -(-d // po)) * po * bb)
            # an expert both tasks route tokens to is loaded once instead of twice
            expect += per_expert * sum(1 for a, b in zip(seg[i], depth[i]) if a and b)
            ops += 1
    assert g.ops == ops > 0
    assert g.weight_bytes_saved == expect > 0
    assert 0 < g.saved < g.separate
