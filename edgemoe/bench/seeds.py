"""Seed-technique experiments (docs/seeds.md): A2ATS retrieval, MixLLM and Turbo-VBI on digits.

All figures are measured (seeded runs on this machine); mean +- sd over seeds.
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
            rows.append((f"turbo-vbi target {skip} {m} acc / tile-skip / dead",
                         f"{_ms([x['acc'] for x in res])} / {skip_rate:.3f} / {dead:.1f}"))
    return rows


def run(quick: bool) -> list[tuple[str, str]]:
    """Rows of every seed-technique experiment (2 seeds and one codebook size when quick)."""
    seeds = range(2) if quick else range(5)
    return _a2ats(quick) + _mixllm(seeds) + _turbo_vbi(seeds)
