"""Yosys on the LIF engine alone: a T = 1 build has no multiplier (binary spikes only add,
addresses advance by additions).  A T > 1 build adds the leak multipliers (2 DSPs per
lane on snn-tiny, docs/snn.md); it is left to `edgemoe synth` to keep make test short."""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel
from edgemoe.rtl.synth import synth

pytestmark = pytest.mark.synth

#: A narrow snn-tiny (short weight strip) so that Yosys finishes in well under a minute.
SMALL = ("buffers.max_in_features=16", "buffers.max_out_features=8")


@pytest.mark.long  # a full Yosys run (~1 min): the long tier
def test_t1_lif_engine_has_no_multiplier(tmp_path):
    accel = load_accel("snn-tiny", SMALL)
    res = synth(accel, fast=True, build_root=tmp_path, top="edgemoe_lif")
    mults = {k: v for k, v in res.cells.items() if "DSP" in k or "MUL" in k.upper()}
    assert res.resources["DSP"] == 0 and not mults, mults
    assert res.resources["LUT"] > 0 and res.resources["FF"] > 0


def test_synth_of_an_unknown_module_names_the_modules(tmp_path):
    from edgemoe.rtl.synth import SynthError

    with pytest.raises(SynthError, match=r"no module 'edgemoe_nope'.*edgemoe_lif"):
        synth(load_accel("snn-tiny"), build_root=tmp_path, top="edgemoe_nope")
