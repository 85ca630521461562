"""Top-k ATTENTION (Flag.ATTN_TOPK) on the RTL (edgemoe_attn_topk.sv beside edgemoe_attn.sv):
rtlsim == golden byte for byte (outputs, codes, picks, status and profile: the whole image)
on single ops at several shapes, with tied keys and with k >= N; the picks equal a numpy
reference; the measured cycles against the op's modelled cycles (edgemoe.perf)."""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from progutil import Scratch
from rtldesigns import design, executor

from edgemoe.isa import Flag, Instr, Op
from edgemoe.layout import STATUS_BYTES
from edgemoe.numerics.attn_topk import codebook_block, unpack_codebook_head
from edgemoe.perf import model_program

pytestmark = pytest.mark.sim

#: (name, t, heads, head_dim, C, k, tied keys): partial beats (hd 5, 7), k >= N, C = 1
SHAPES = [("a", 13, 2, 16, 8, 4, False), ("b", 16, 1, 8, 5, 7, False),
          ("c", 9, 2, 5, 3, 9, False), ("kn", 7, 1, 16, 12, 30, False),
          ("c1", 5, 2, 7, 1, 2, False), ("tie", 10, 1, 8, 4, 3, True)]


def topk_case(accel, name: str, t: int, nh: int, hd: int, c: int, k: int, tie: bool,
              seed: int) -> ru.Case:
    """One top-k ATTENTION over random qkv and random codebooks; written regions hold junk."""
    rng = np.random.default_rng(seed)
    act = accel.formats.act
    s = Scratch(accel, size=ru.IMAGE_BYTES)
    raw = act.quantize(rng.normal(0, 2.0, (t, 3, nh, hd)))
    if tie:  # equal keys: one code, equal approximate scores for every key
        raw[:, 1] = raw[0, 1]
    qkv = s.put_raw(raw, act)
    blocks = [codebook_block(rng.normal(0, 1.0, (c, hd)),
                             np.tril(rng.normal(0, 0.3, (hd, hd))) + np.eye(hd), act)[0]
              for _ in range(nh)]
    book = s.put(np.frombuffer(b"".join(blocks), np.uint8))
    kept = min(k, t)

    def junk(n: int) -> int:
        return s.put(rng.integers(0, 256, n, dtype=np.uint8))

    ins = Instr.make(Op.ATTENTION, Flag.ATTN_TOPK, tokens=t, heads=nh, head_dim=hd, qkv=qkv,
                     dst=junk(t * nh * hd * act.storage_dtype.itemsize),
                     scale=int(act.quantize(hd ** -0.5)), codebook_size=c, top_k=k,
                     codebook=book, codes=junk(4 * nh * t), picks=junk(4 * nh * t * kept))
    return ru.Case(name, s, [ins])


def numpy_picks(accel, case: ru.Case) -> np.ndarray:
    """Each query's kept keys, ascending, from Python integers and a stable sort."""
    ins, act, img = case.program[0], accel.formats.act, case.scratch.image
    g = ins.get
    t, nh, hd, c = g("tokens"), g("heads"), g("head_dim"), g("codebook_size")
    kept = min(g("top_k"), t)
    qkv = case.scratch.get_raw(g("qkv"), 3 * t * nh * hd, act).reshape(t, 3, nh, hd)
    size = len(codebook_block(np.zeros((c, hd)), np.eye(hd), act)[0])
    out = []
    for h in range(nh):
        tab = unpack_codebook_head(img[g("codebook") + h * size:][:size], c, hd, act)
        keys, queries = qkv[:, 1, h].tolist(), qkv[:, 0, h].tolist()
        coding, half, centres = tab.coding.tolist(), tab.half_norms.tolist(), tab.centres.tolist()
        codes = [min(range(c), key=lambda j: (half[j] - sum(a * b for a, b in zip(key, coding[j])), j))
                 for key in keys]
        for q in queries:
            score = [sum(a * b for a, b in zip(q, centres[codes[j]])) for j in range(t)]
            order = sorted(range(t), key=lambda j: (-score[j], j))  # ties: lower index first
            out.append(sorted(order[:kept]))
    return np.array(out)


#: On ``alt`` (4 lanes): two query blocks of 4 lanes and a partial one, k' < T.
ALT_SHAPES = [("p4", 11, 2, 16, 8, 5, False)]


@pytest.fixture(scope="module")
def outcomes():
    out = {}
    for design_name, shapes in (("tiny", SHAPES), ("alt", ALT_SHAPES)):
        accel = design(design_name)
        cases = [topk_case(accel, *shape, seed=i) for i, shape in enumerate(shapes)]
        out.update({n: (accel, o) for n, o in ru.run_cases(executor(design_name), cases).items()})
    return out


def measured_cycles(o: ru.Outcome) -> int:
    """The RTL's own cycle count of the op (its profile entry's ``cycles``)."""
    return int(o.rtl[STATUS_BYTES:STATUS_BYTES + 8].view("<u8")[0])


@pytest.mark.parametrize("name", [s[0] for s in SHAPES + ALT_SHAPES])
def test_topk_attention_rtl_equals_golden(outcomes, name):
    accel, o = outcomes[name]
    assert o.golden_error == 0
    assert not o.problems(), o.problems()[:5]
    ins = o.case.program[0]
    t, nh = ins.get("tokens"), ins.get("heads")
    kept = min(ins.get("top_k"), t)
    picks = o.rtl[ins.get("picks"):ins.get("picks") + 4 * nh * t * kept].view("<u4")
    assert np.array_equal(picks.reshape(nh * t, kept), numpy_picks(accel, o.case))


#: Measured RTL cycles against the memory-aware model (edgemoe.perf.attn_topk), per shape
#: (measured: a +1.3 %, kn +2.0 %, p4 +0.4 %, c +4.6 %, b +8.6 %, c1 +11.7 %, tie +13.5 %).
#: Rows of 4 beats (head_dim 16) agree within 3 %; shorter rows (1-2 beats) are
#: over-modelled by the row reader's latency term (perf.engines, shared with the dense
#: mode, which is +12.8 % off at 2-beat rows), most on the shortest ops.
CYCLE_BOUNDS = {"a": 0.03, "kn": 0.03, "p4": 0.03, "b": 0.16, "c": 0.16, "c1": 0.16,
                "tie": 0.16}


@pytest.mark.parametrize("name", sorted(CYCLE_BOUNDS))
def test_topk_cycles_measured_in_rtl_match_the_model(outcomes, name):
    accel, o = outcomes[name]
    modelled = model_program(o.case.program, accel).ops[0].cycles
    measured = measured_cycles(o)
    assert abs(modelled - measured) <= CYCLE_BOUNDS[name] * measured, (modelled, measured)


def test_topk_rtl_cycles_grow_by_the_exact_steps():
    """k' from 3 to 9 on one shape: the RTL's cycles grow by the phases' exact key steps
    ((blocks + 1) x k' x row beats) and nothing else: the pick words (2 x (k' + 1) per
    block) go out beside the steps."""
    accel = design("tiny")
    t, hd = 13, 16
    cases = [topk_case(accel, f"k{k}", t, 1, hd, 4, k, False, seed=7) for k in (3, 9)]
    out = ru.run_cases(executor("tiny"), cases)
    assert not out["k3"].problems() and not out["k9"].problems()
    blocks, beats = -(-t // accel.attn_lanes), hd * 4 // 16  # 16-byte bus
    grow = measured_cycles(out["k9"]) - measured_cycles(out["k3"])
    assert grow == (blocks + 1) * 6 * beats, grow


@pytest.mark.long
def test_m3vit_micro_with_codebooks_rtl_equals_golden():
    """m3vit-micro compiled with fitted codebooks (every ATTENTION in the top-k mode, k = 4
    of 9 tokens): the whole program's image on RTL == golden, both tasks."""
    from test_attn_topk_compile import _fit

    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler import AttnTopK, compile_model
    from edgemoe.compiler.io import write_pixels
    from edgemoe.golden import execute
    from edgemoe.models import load_default_image, random_weights
    from edgemoe.params import load_model
    from edgemoe.rtl import RtlJob

    accel, model = design("tiny"), load_model("m3vit-micro")
    w = random_weights(model, 3)
    c = compile_model(model, accel, w, topk=AttnTopK(*_fit(model, w), 4))
    assert all(i.has(Flag.ATTN_TOPK) for i in c.instrs if i.op == Op.ATTENTION)
    jobs, golds = [], []
    for task in range(len(model.tasks)):
        image = c.fresh_image()
        write_pixels(image, c.manifest, load_default_image(model))
        gold = image.copy()
        assert execute(gold, accel, c.program_offset, c.n_instructions, task,
                       c.status_offset) == 0
        golds.append(gold)
        jobs.append(RtlJob(image, c.program_offset, c.n_instructions, task, c.status_offset,
                           max_cycles=2_000_000))
    for task, (job, res, gold) in enumerate(zip(jobs, executor("tiny").run_jobs(jobs), golds)):
        assert not res.timed_out and res.error == 0, (task, res)
        assert_images_equal(job.image, gold, c.manifest, f"RTL vs golden, task {task}")
