"""M3ViT compiled with top-k attention codebooks (``compile --codebooks --topk``), golden.

Checks: every ATTENTION gets Flag.ATTN_TOPK and its codebook; k >= tokens gives the dense
program's outputs byte for byte; the picks the executor wrote equal a numpy reference
(int64 scores from the same integer q and codebook tables, stable argsort); bad codebooks
are refused with a one-line error naming the fix.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgemoe.compiler import AttnTopK, compile_model
from edgemoe.compiler.io import read_tokens, write_pixels
from edgemoe.compiler.taps import read_taps
from edgemoe.golden import execute
from edgemoe.golden.memory import read_u32
from edgemoe.isa import Flag, Op
from edgemoe.models import M3ViTReference, load_default_image, random_weights
from edgemoe.numerics.attn_topk import codebook_head_bytes, unpack_codebook_head
from edgemoe.params import load_accel, load_model
from edgemoe.seeds.a2ats import fit_codebook

pytestmark = pytest.mark.golden
C = 6


@pytest.fixture(scope="module")
def setup():
    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    w = random_weights(model, 3)
    centres, transform = _fit(model, w)
    return model, accel, w, centres, transform


def _fit(model, w):
    """Query-aware codebooks of every block and head (vq-fit's fit) on the default image's
    float queries and keys (vq-fit's calibration scenes do not match m3vit-micro's size)."""
    ref, hd = M3ViTReference(model, w), model.head_dim
    x = ref.patch_embed(load_default_image(model))
    shape = (model.depth, model.heads)
    centres, transform = np.zeros((*shape, C, hd)), np.zeros((*shape, hd, hd))
    rng = np.random.default_rng(0)
    for i in range(model.depth):
        trace: dict[str, np.ndarray] = {}
        x = ref.block(x, i, 0, trace)
        q, k = (trace[n].reshape(-1, model.heads, hd).transpose(1, 0, 2) for n in ("q", "k"))
        for h in range(model.heads):
            book = fit_codebook(k[h], C, rng, queries=q[h])
            centres[i, h], transform[i, h] = book.centres, book.transform
    return centres, transform


def _run(c, accel, model, task=0):
    image = c.fresh_image()
    write_pixels(image, c.manifest, load_default_image(model))
    assert execute(image, accel, c.program_offset, c.n_instructions, task, c.status_offset) == 0
    return image


def test_k_at_least_tokens_compiles_to_the_dense_outputs(setup):
    model, accel, w, centres, transform = setup
    dense = compile_model(model, accel, w, heads=False)
    topk = compile_model(model, accel, w, heads=False,
                         topk=AttnTopK(centres, transform, model.num_tokens))
    attn = [ins for ins in topk.instrs if ins.op == Op.ATTENTION]
    assert len(attn) == model.depth and all(ins.has(Flag.ATTN_TOPK) for ins in attn)
    assert all(ins.get("codebook_size") == C for ins in attn)
    fmt = accel.formats.act.cpp()
    for task in range(len(model.tasks)):
        got = read_tokens(_run(topk, accel, model, task), topk.manifest, fmt)
        want = read_tokens(_run(dense, accel, model, task), dense.manifest, fmt)
        assert np.array_equal(got, want)


def test_picks_equal_a_numpy_reference(setup):
    model, accel, w, centres, transform = setup
    k = 4
    c = compile_model(model, accel, w, heads=False, taps=frozenset({"blocks.1.qkv"}),
                      topk=AttnTopK(centres, transform, k))
    image = _run(c, accel, model)
    act = accel.formats.act
    t, nh, hd = model.num_tokens, model.heads, model.head_dim
    qkv = act.quantize(read_taps(image, c.manifest, 0)["blocks.1.qkv"]).reshape(t, 3, nh, hd)
    ins = [i for i in c.instrs if i.op == Op.ATTENTION][1]
    picks = read_u32(image, ins.get("picks"), nh * t * k).reshape(nh, t, k)
    size = codebook_head_bytes(C, hd, act.storage_dtype.itemsize)
    differs = 0
    for h in range(nh):
        start = ins.get("codebook") + h * size
        tab = unpack_codebook_head(image[start:start + size], C, hd, act)
        # codes: first minimum of half_norm - k.coding (int64: |k|,|coding| < 2**25 here)
        assert np.abs(qkv).max() < 2**26 and np.abs(tab.coding).max() < 2**26
        codes = np.argmin(tab.half_norms[None] - qkv[:, 1, h] @ tab.coding.T, axis=1)
        approx = (qkv[:, 0, h] @ tab.centres.T)[:, codes]
        ref = np.sort(np.argsort(-approx, axis=1, kind="stable")[:, :k], axis=1)
        assert np.array_equal(picks[h], ref)
        differs += int((ref != np.arange(k)).any())
    assert differs  # not the trivial first-k choice


def test_codebooks_of_another_model_are_refused(setup):
    model, accel, w, centres, transform = setup
    with pytest.raises(ValueError, match="rerun `edgemoe vq-fit"):
        compile_model(model, accel, w, heads=False,
                      topk=AttnTopK(centres[:1], transform[:1], 4))
    with pytest.raises(ValueError, match="--topk 0 must be >= 1"):
        compile_model(model, accel, w, heads=False, topk=AttnTopK(centres, transform, 0))
    big = np.zeros((model.depth, model.heads, 257, model.head_dim))
    with pytest.raises(ValueError, match="C=257 outside"):
        compile_model(model, accel, w, heads=False, topk=AttnTopK(big, transform, 4))


def test_design_without_topk_attention_is_refused(setup, tmp_path, capsys):
    from edgemoe.cli import main
    from edgemoe.seeds.codebook_file import write_codebooks

    model, _, w, centres, transform = setup
    off = load_accel("tiny", ("attn_topk=false",))
    with pytest.raises(ValueError, match="does not build top-k attention: set attn_topk: true"):
        compile_model(model, off, w, heads=False, topk=AttnTopK(centres, transform, 4))
    books = write_codebooks(tmp_path / "books.npz", centres, transform, {"model": model.name})
    assert main(["compile", "--model", "m3vit-micro", "--accel", "tiny", "--set",
                 "attn_topk=false", "--out", str(tmp_path / "d"), "--codebooks", str(books),
                 "--topk", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "set attn_topk: true" in err and len(err.splitlines()) == 1


def test_cli_compile_with_codebooks_sets_the_mode_and_refuses_half_the_options(
        setup, tmp_path, capsys):
    from edgemoe.cli import main
    from edgemoe.compiler.program import Compiled
    from edgemoe.seeds.codebook_file import write_codebooks

    model, _, _, centres, transform = setup
    books = write_codebooks(tmp_path / "books.npz", centres, transform, {"model": model.name})
    base = ["compile", "--model", "m3vit-micro", "--accel", "tiny", "--out", str(tmp_path / "d")]
    assert main([*base, "--codebooks", str(books), "--topk", "4"]) == 0
    attn = [i for i in Compiled.load(tmp_path / "d").instrs if i.op == Op.ATTENTION]
    assert attn and all(i.has(Flag.ATTN_TOPK) and i.get("top_k") == 4 for i in attn)
    capsys.readouterr()
    assert main([*base, "--topk", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs both --codebooks FILE" in err and len(err.splitlines()) == 1
    assert main([*base, "--codebooks", str(tmp_path / "nope.npz"), "--topk", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "`edgemoe vq-fit`" in err and len(err.splitlines()) == 1
