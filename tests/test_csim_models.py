"""Whole models through the C simulation: byte-identical with the golden executor."""

from __future__ import annotations

import pytest

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.compiler.attn_q8 import int8_only_ranges
from edgemoe.golden import execute, status_words
from edgemoe.params import ConfigError, list_accels, load_accel, load_model

pytestmark = pytest.mark.csim

_executors: dict = {}


def _executor(name: str):
    from edgemoe.flow.csim import CsimExecutor

    if name not in _executors:
        accel = load_accel(name)
        _executors[name] = (accel, CsimExecutor(accel))
    return _executors[name]


def _run_model(accel_name: str, model_name: str, task: int) -> None:
    accel, csim = _executor(accel_name)
    model = load_model(model_name)  # (W8A8 with int8 attention where that is all it builds)
    compiled = compile_model(model, accel, int8=int8_only_ranges(model, accel))
    gold, sim = compiled.fresh_image(), compiled.fresh_image()
    args = (compiled.program_offset, compiled.n_instructions, task, compiled.status_offset)
    assert execute(gold, accel, *args) == 0
    assert csim.execute(sim, *args) == 0
    assert_images_equal(gold, sim, compiled.manifest, f"{model_name} task {task} on {accel_name}")
    st = status_words(sim, compiled.status_offset)
    assert st["executed"] == compiled.n_instructions and st["config_id"] == accel.config_id_int
    out = compiled.manifest["outputs"][compiled.manifest["tasks"][task]]
    assert sim[out["offset"]:out["offset"] + 64].any()  # the task head wrote its output


@pytest.mark.parametrize("accel_name", ["tiny", "edge-moe-zcu102"])
@pytest.mark.parametrize("task", [0, 1])
def test_m3vit_micro(accel_name, task):
    _run_model(accel_name, "m3vit-micro", task)


def test_m3vit_micro_on_pynq_z2():
    """One attention lane, an 8x4 tile and a 64-bit m_axi port (one lane per beat)."""
    _run_model("pynq-z2", "m3vit-micro", 1)


_COVERED = ("tiny", "edge-moe-zcu102", "pynq-z2")


def _holds_m3vit_micro(accel_name: str) -> bool:
    """Design points built for other models (snn-tiny: LIF only) cannot hold m3vit-micro;
    their C-sim runs with their own model (tests/test_csim_lif.py, test_host_snn.py)."""
    try:
        load_accel(accel_name).check_model(load_model("m3vit-micro"))
    except ConfigError:
        return False
    return True


def test_only_snn_design_points_cannot_hold_m3vit_micro():
    assert [n for n in list_accels() if not _holds_m3vit_micro(n)] == ["snn-tiny"]


@pytest.mark.parametrize("accel_name", [n for n in list_accels()
                                        if n not in _COVERED and _holds_m3vit_micro(n)])
def test_m3vit_micro_on_every_other_design_point(accel_name):
    """Every design point's generated kernel (its tile, lanes, AXI width and m_axi bundles)
    stays byte-identical with golden."""
    _run_model(accel_name, "m3vit-micro", 0)


@pytest.mark.slow
def test_m3vit_tiny_one_task():
    """The Edge-MoE model (12 blocks, 16 experts, SETR-PUP head) on the Edge-MoE design point."""
    _run_model("edge-moe-zcu102", "m3vit-tiny", 0)


@pytest.mark.parametrize("accel_name", ["tiny", "kv260"])  # the points that build POOL
def test_vovnet_tiny(accel_name):
    """The graph-lowered VoVNet: convs, OSA pieces, POOL modes, eSE, identity, classifier."""
    _run_model(accel_name, "vovnet-tiny", 0)
