"""Seed-technique experiments (docs/seeds.md): A2ATS retrieval, MixLLM and Turbo-VBI on digits,
then Turbo-VBI tile-skip and A2ATS top-k attention on the trained m3vit-demo (float reference,
and the compiled ATTN_TOPK mode on the golden executor).

Accuracy figures are measured (seeded runs on this machine); mean +- sd over seeds.
Latency and attention cycles of the m3vit-demo studies are modelled by formula.
"""

from __future__ import annotations

import numpy as np


def _ms(values) -> str:
    return f"{np.mean(values):.4f} +- {np.std(values):.4f}"


def _a2ats(quick: bool) -> list[tuple[str, str]]:
    from edgemoe.seeds.a2ats import attention_probs, captured_mass, fit_codebook, recall, top_k
    from edgemoe.seeds.vq_synthetic import make_retrieval

    data = make_retrieval(seed=0)
    exact_scores = data["queries"] @ data["keys"].T
    probs = attention_probs(data["queries"], data["keys"])
    rows = []
    for k in (64, 128):
        rows.append((f"a2ats exact top-{k} attention mass",
                     f"{captured_mass(top_k(exact_scores, k), probs):.3f}"))
    for c in (256,) if quick else (64, 256, 1024):
        for label, queries in (("k-means", None), ("query-aware", data["calib_queries"])):
            book = fit_codebook(data["calib_keys"], c, np.random.default_rng(1), queries=queries)
            approx = book.approx_scores(data["queries"], book.encode(data["keys"]))
            figures = []
            for k in (64, 128):
                chosen = top_k(approx, k)
                figures.append(f"R@{k} {recall(chosen, top_k(exact_scores, k)):.3f} "
                               f"mass@{k} {captured_mass(chosen, probs):.3f}")
            rows.append((f"a2ats C={c} {label}", ", ".join(figures)))
    return rows


def _mixllm(seeds: range) -> list[tuple[str, str]]:
    from edgemoe.seeds.digits import load_digits_split
    from edgemoe.seeds.mixllm_digits import METHODS, run_mixllm_digits

    data = load_digits_split()
    runs = [run_mixllm_digits(data, s) for s in seeds]
    rows = [(f"mixllm float acc ({len(runs)} seeds)", _ms([r["float"] for r in runs]))]
    for m in METHODS:
        rows.append((f"mixllm W2 + 10% W8 {m} acc", _ms([r[m]["acc"] for r in runs])))
        rows.append((f"mixllm W2 + 10% W8 {m} KL(float||quant)", _ms([r[m]["kl"] for r in runs])))
    return rows


def _turbo_vbi(seeds: range) -> list[tuple[str, str]]:
    from edgemoe.seeds.digits import load_digits_split
    from edgemoe.seeds.sparse_digits import METHODS, run_sparse_digits

    data = load_digits_split()
    tile = (4, 4)  # configs/accel/tiny.yaml: linear_p_out x linear_p_in
    runs = [run_sparse_digits(data, s, tile) for s in seeds]
    rows = [(f"turbo-vbi float acc ({len(runs)} seeds, 4x4 tiles)",
             _ms([r["float"] for r in runs]))]
    for skip in (0.75, 0.9):
        for m in METHODS:
            res = [r[skip][m] for r in runs]
            skip_rate = np.mean([x["skip"] for x in res])
            dead = np.mean([x["dead"] for x in res])
            rows.append((f"turbo-vbi target {skip} {m} acc / tile-skip / dead / 1x8 skip",
                         (f"{_ms([x['acc'] for x in res])} / {skip_rate:.3f} / {dead:.1f} / "
                         f"{np.mean([x['skip_1x8'] for x in res]):.3f}")))
    return rows


def _m3vit_demo():
    from edgemoe.data import trained_weights
    from edgemoe.models import load_weights
    from edgemoe.params import load_accel, load_model

    model = load_model("m3vit-demo")
    return model, load_accel("edge-moe-zcu102"), load_weights(trained_weights(model.name), model)


def _m3vit_sparsity(quick: bool) -> list[tuple[str, str]]:
    from edgemoe.seeds.sparse_m3vit import sparsity_curve

    model, accel, weights = _m3vit_demo()
    n = 2 if quick else 20
    skips = (0.0, 0.75) if quick else (0.0, 0.5, 0.75, 0.9)
    rows = []
    for r in sparsity_curve(model, accel, weights, skips, n):
        rows.append((f"m3vit-demo tile-skip target {r['target']} ({n} test scenes, golden)",
                     (f"skip {r['tile_skip']:.3f}, dead {r['dead_neurons']}, "
                     f"mIoU {100 * r['miou']:.2f}%, abs-rel {r['abs_rel']:.4f}, MLP cycles "
                     f"{r['mlp_sparse']:,.0f} of {r['mlp_dense']:,.0f} (experts "
                     f"{r['experts_sparse']:,.0f} of {r['experts_dense']:,.0f}), image "
                     f"{r['latency_ms']:.3f} ms (modelled)")))
    return rows


def _m3vit_vq(quick: bool) -> list[tuple[str, str]]:
    from edgemoe.seeds.vq_m3vit import vq_attention_table

    model, _, weights = _m3vit_demo()
    n = 2 if quick else 50
    sizes = (16,) if quick else (16, 32, 64)
    table = vq_attention_table(model, weights, sizes, sizes, n, calib=2 if quick else 8)
    d = table["dense"]
    rows = [(f"m3vit-demo exact attention ({n} test scenes, float)",
             (f"mIoU {100 * d['miou']:.2f}%, abs-rel {d['abs_rel']:.4f}, "
             f"{d['cycles']:.0f} cycles/query/head (modelled)"))]
    for r in table["rows"]:
        rows.append((f"m3vit-demo top-k attention C={r['codebook']} k={r['k']}",
                     (f"mIoU {100 * r['miou']:.2f}%, abs-rel {r['abs_rel']:.4f}, "
                     f"{r['cycles']:.0f} cycles/query/head, x{r['speedup']:.2f} (modelled)")))
    return rows


def _m3vit_vq_golden(quick: bool) -> list[tuple[str, str]]:
    from edgemoe.params import load_accel
    from edgemoe.seeds.vq_m3vit import vq_attention_golden_table

    model, _, weights = _m3vit_demo()
    accel = load_accel("edge-moe-zcu102", ("attn_topk=true",))  # the board point leaves it out
    n = 2 if quick else 10  # docs/seeds.md's golden table (~3 min on a quiet machine)
    sizes = (16,) if quick else (16, 32, 64)
    table = vq_attention_golden_table(model, accel, weights, sizes, sizes, n,
                                      calib=2 if quick else 8)
    d = table["dense"]
    rows = [(f"m3vit-demo exact attention ({n} test scenes, golden)",
             (f"mIoU {100 * d['miou']:.2f}%, abs-rel {d['abs_rel']:.4f}, "
              f"{d['cycles']:,} attention cycles/image (modelled)"))]
    for r in table["rows"]:
        rows.append((f"m3vit-demo ATTN_TOPK C={r['codebook']} k={r['k']} (golden)",
                     (f"mIoU {100 * r['miou']:.2f}%, abs-rel {r['abs_rel']:.4f}, "
                      f"{r['cycles']:,} attention cycles/image, x{r['speedup']:.2f} (modelled)")))
    return rows


def run(quick: bool) -> list[tuple[str, str]]:
    """Rows of every seed-technique experiment (2 seeds, one codebook size and 2 scenes of
    m3vit-demo when quick)."""
    seeds = range(2) if quick else range(5)
    return (_a2ats(quick) + _mixllm(seeds) + _turbo_vbi(seeds) + _m3vit_sparsity(quick)
            + _m3vit_vq(quick) + _m3vit_vq_golden(quick))
