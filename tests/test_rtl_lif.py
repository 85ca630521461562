"""LIF on the RTL engine against the golden executor (byte for byte), and its measured
cycles against T.

Builds: ``snn-tiny`` at T = 1 (no membrane state, no leak multiplier) with the other tile
shape (8 inputs x 2 neurons per cycle), and as shipped (4 x 4) with ``max_timesteps=4``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rtlutil as ru

from edgemoe.isa import LIF_CURRENT_INPUT, LIF_READOUT
from edgemoe.params import load_accel
from edgemoe.rtl import RtlsimExecutor

pytestmark = pytest.mark.sim

BUILDS = {"t1_8x2": ("linear_p_in=8", "linear_p_out=2"), "t4": ("buffers.max_timesteps=4",)}


@functools.cache
def _executor(build: str) -> RtlsimExecutor:
    return RtlsimExecutor(load_accel("snn-tiny", BUILDS[build]))


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(3)
    t = accel.max_timesteps
    both = LIF_READOUT | LIF_CURRENT_INPUT
    return [ru.lif(accel, rng, "spikes", 10, 13, t),
            ru.lif(accel, rng, "spikes_one_neuron_one_input", 1, 1, t),
            ru.lif(accel, rng, "spikes_widest", accel.max_out_features, accel.max_in_features, t),
            ru.lif(accel, rng, "current", 9, 9, t, LIF_CURRENT_INPUT),
            ru.lif(accel, rng, "readout", 10, 33, t, LIF_READOUT, leak=1 << 16),
            ru.lif(accel, rng, "readout_current", 7, 7, t, both),
            ru.lif(accel, rng, "no_leak", 6, 20, t, 0, leak=0),
            ru.lif(accel, rng, "too_many_steps", 4, 4, t + 1)]


@pytest.fixture(scope="module")
def outcomes():
    return {b: ru.run_cases(_executor(b), _cases(_executor(b).accel)) for b in BUILDS}


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("name", [c.name for c in _cases(load_accel("snn-tiny"))])
def test_lif_engine_matches_golden(outcomes, build, name):
    out = outcomes[build][name]
    assert out.problems() == [], f"{build}/{name}"
    assert out.golden_error == (5 if name == "too_many_steps" else 0)  # BAD_SHAPE


def test_cycles_of_a_spiking_layer_are_linear_in_t():
    """Measured on the RTL (the profile's cycle counter): a 32 x 48 spiking layer at
    T = 1..4 costs a + b T cycles exactly (same data path every step)."""
    ex = _executor("t4")
    rng = np.random.default_rng(8)
    cases = [ru.lif(ex.accel, rng, f"t{t}", 32, 48, t) for t in (1, 2, 3, 4)]
    out = ru.run_cases(ex, cases)
    cycles = []
    for c in cases:
        assert out[c.name].problems() == []
        cycles.append(int(out[c.name].rtl[64:72].view("<u8")[0]))
    steps = np.diff(cycles)
    assert steps.min() > 0 and steps.max() == steps.min(), cycles
    print(f"LIF 32x48 measured RTL cycles at T=1..4: {cycles}")


@pytest.mark.parametrize("steps", [1, 2])
def test_whole_snn_is_byte_identical_with_golden(steps):
    """The digits SNN (trained T = 1 weights; at T = 2 the same weights run two steps)
    through CONV + LIF x 4 + ADD on one digit: the RTL image equals golden's."""
    from snnutil import snn_model

    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler import compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.data import trained_weights
    from edgemoe.data.digits import load_digits_split
    from edgemoe.golden import execute
    from edgemoe.models import load_weights
    from edgemoe.rtl import RtlJob

    ex = _executor("t4")
    model = snn_model(steps)
    c = compile_model(model, ex.accel, load_weights(trained_weights("snn-digits"), model))
    pixels = load_digits_split()[2][7]
    images = []
    for _ in range(2):
        img = c.fresh_image()
        write_pixels(img, c.manifest, pixels)
        images.append(img)
    gold, rtl = images
    assert execute(gold, ex.accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    res = ex.run_jobs([RtlJob(rtl, c.program_offset, c.n_instructions, 0, c.status_offset,
                              max_cycles=400_000)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(rtl, gold, c.manifest, "rtl vs golden")
