"""POOL's SV engine and the graph-lowered VoVNet on the RTL, byte for byte with golden."""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from progutil import Scratch
from rtldesigns import design, executor

from edgemoe.compare import assert_images_equal
from edgemoe.compiler import compile_model
from edgemoe.golden import execute
from edgemoe.golden.pool_ops import pool_recip
from edgemoe.isa import Flag, Instr, Op, PoolMode, pack_ksp
from edgemoe.layout import pack_tiled
from edgemoe.models.graph import graph_random_weights
from edgemoe.params import load_model
from edgemoe.rtl import RtlJob

pytestmark = pytest.mark.sim
SETTINGS = ("tiny", "alt", "narrow")


def _pool(accel, rng, name: str, h: int, w: int, c: int, mode: PoolMode, k: int = 3,
          s: int = 2, in_place: bool = False) -> ru.Case:
    sc = Scratch(accel, size=ru.IMAGE_BYTES)
    act = accel.formats.act
    x = sc.put_raw(act.quantize(rng.uniform(-0.9, 0.9, h * w * c) * act.max_value), act)
    gate = sc.put_raw(act.quantize(rng.uniform(-0.5, 1.5, c)), act)
    dst = x if in_place else sc.put_raw(act.quantize(rng.uniform(-1, 1, h * w * c)), act)
    windows = mode in (PoolMode.MAX, PoolMode.AVG)
    fields = {"kernel_stride_pad": pack_ksp(k, s, 0)} if windows else {}
    if mode == PoolMode.GLOBAL_AVG:
        fields["recip"] = pool_recip(h * w)
    if mode == PoolMode.SCALE:
        fields["gate"] = gate
    return ru.Case(name, sc, [Instr.make(Op.POOL, in_h=h, in_w=w, channels=c, mode=mode,
                                         src=x, dst=dst, **fields)])


def _conv_pieces(accel, rng) -> ru.Case:
    """OSA's accumulation: two 1x1 pieces into one accumulator, ReLU on the sum."""
    sc = Scratch(accel, size=ru.IMAGE_BYTES)
    f = accel.formats
    h, w, co = 3, 4, 6
    acc = sc.alloc(4 * h * w * co)
    instrs = []
    for i, ci in enumerate((5, 3)):
        wm = f.conv_weight.quantize(rng.uniform(-0.5, 0.5, (co, ci)))
        instrs.append(Instr.make(
            Op.CONV, Flag.WFMT_CONV | (Flag.RESIDUAL | Flag.RELU if i else 0), in_h=h, in_w=w,
            in_ch=ci, out_ch=co, kernel_stride_pad=pack_ksp(1, 1, 0),
            src=sc.put_raw(f.act.quantize(rng.uniform(-2, 2, h * w * ci)), f.act), dst=acc,
            weights=sc.put_raw(pack_tiled(wm, accel.linear_p_out, accel.linear_p_in),
                               f.conv_weight),
            bias=sc.put_raw(f.bias.quantize(rng.uniform(-1, 1, co)), f.bias), residual=acc))
    return ru.Case("conv_pieces_relu_of_sum", sc, instrs)


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(5)
    return [_pool(accel, rng, "max_8x8_k3s2", 8, 8, 16, PoolMode.MAX),
            _pool(accel, rng, "max_7x5_edges", 7, 5, 3, PoolMode.MAX),
            _pool(accel, rng, "max_k2s1", 4, 5, 6, PoolMode.MAX, 2, 1),
            _pool(accel, rng, "avg_8x8_k3s2", 8, 8, 16, PoolMode.AVG),
            _pool(accel, rng, "avg_7x5_edges", 7, 5, 3, PoolMode.AVG),
            _pool(accel, rng, "avg_k3s1", 4, 5, 6, PoolMode.AVG, 3, 1),
            _pool(accel, rng, "global_avg", 4, 4, 32, PoolMode.GLOBAL_AVG),
            _pool(accel, rng, "global_avg_odd", 3, 5, 7, PoolMode.GLOBAL_AVG),
            _pool(accel, rng, "scale_in_place", 3, 4, 10, PoolMode.SCALE, in_place=True),
            # rows of one word: each beat updates the word the last beat wrote (the row
            # memory's write-to-read forwarding)
            _pool(accel, rng, "max_one_word", 5, 4, 1, PoolMode.MAX, 2, 1),
            _pool(accel, rng, "avg_one_word", 4, 4, 2, PoolMode.AVG, 3, 1),
            _pool(accel, rng, "global_avg_one_word", 3, 3, 1, PoolMode.GLOBAL_AVG),
            _pool(accel, rng, "scale_one_word", 2, 3, 1, PoolMode.SCALE),
            _conv_pieces(accel, rng)]


CASE_NAMES = [c.name for c in _cases(design("tiny"))]


@pytest.fixture(scope="module")
def outcomes():
    return {s: ru.run_cases(executor(s), _cases(design(s))) for s in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_pool_engine_matches_golden(outcomes, setting, name):
    out = outcomes[setting][name]
    assert out.golden_error == 0, "the case itself must be a valid program"
    assert out.problems() == [], f"{setting}/{name}"


@pytest.mark.slow
def test_vovnet_tiny_byte_identical_with_golden():
    """The whole lowered model: convs, OSA pieces, every POOL mode, eSE, identity, FC."""
    accel = design("tiny")
    model = load_model("vovnet-tiny")
    c = compile_model(model, accel, graph_random_weights(model, 3))
    pixels = np.random.default_rng(0).integers(0, 256, (1, 8, 8), dtype=np.uint8)
    image = c.fresh_image()
    off = c.manifest["inputs"]["pixels"]["offset"]
    image[off:off + pixels.size] = pixels.reshape(-1)
    gold = image.copy()
    assert execute(gold, accel, c.program_offset, c.n_instructions, 0, c.status_offset) == 0
    res = executor("tiny").run_jobs([RtlJob(image, c.program_offset, c.n_instructions, 0,
                                            c.status_offset, max_cycles=3_000_000)])[0]
    assert not res.timed_out and res.error == 0
    assert_images_equal(image, gold, c.manifest, "rtl vs golden")
