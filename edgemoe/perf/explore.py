"""Design-space exploration: engine sizes, lanes, AXI width, port count and buffer depths.

Each candidate is a set of overrides of a base design point (configs/accel).  Its
evaluation (:func:`evaluate`) runs the fit check of the RTL estimate (edgemoe.params.fit
``rtl=True``: calibrated by Yosys counts of its modules; ``calibration`` scales it further
by the base design's whole-top counts) and, when it fits, the cycle model with the
board's memory over the model's program.  The port count (``axi_ports``, 1-4 m_axi
masters, each on its own PS HP port) enters both: every master costs its adapter in the
fit check, and in the model a second port gives the weight prefetch its own, a third
stripes it over two (the rest: a port's rate, edgemoe.perf.memory).  Evaluations run on a Dask
distributed cluster (:func:`explore`) and are cached as one JSON file per config_id, so a
rerun only evaluates what is missing; an entry written by another version of the model
or the fit check (:func:`model_digest`) is evaluated again.  Latencies are MODELLED,
never measured.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "SPACES",
    "Candidate",
    "candidates",
    "evaluate",
    "explore",
    "model_digest",
    "pareto",
    "write_design",
    "yosys_calibration",
]

#: Search spaces: design-point key -> values tried.  ``weight_buffer_words`` scales the
#: base design's weight buffer (never below one strip of the widest row).
SPACES: Mapping[str, Mapping[str, tuple]] = {
    "default": {"linear_p_in": (8, 16, 32), "linear_p_out": (8, 16, 32),
                "attn_lanes": (4, 8), "vector_lanes": (8, 16), "axi_bits": (128, 256),
                "axi_ports": (1, 2, 3, 4), "weight_buffer_words": (0.5, 1.0)},
    "small": {"linear_p_in": (8, 16), "linear_p_out": (16,), "attn_lanes": (4,),
              "vector_lanes": (8,), "axi_bits": (128, 256), "axi_ports": (1, 2, 3, 4),
              "weight_buffer_words": (1.0,)},
    "tiny": {"linear_p_in": (4, 8), "attn_lanes": (2,), "weight_buffer_words": (1.0,)},
    # the engine sizes and lanes the per-task target needs, on the bus the RTL has; the
    # linear epilogue's lanes bind W8A8 layers of few input tiles (a tile pair's 2 steps)
    "engines": {"linear_p_in": (8, 16, 32), "linear_p_out": (8, 16, 32), "attn_lanes": (4, 8),
                "linear_epilogue_lanes": (4, 8), "axi_bits": (256,), "axi_ports": (1, 2, 3),
                "weight_buffer_words": (1.0,)},
}


@dataclass(frozen=True)
class Candidate:
    """One design point to evaluate: the base design point and its overrides."""

    base: str
    overrides: tuple[str, ...]


def _buffer_words(base, p_in: int, p_out: int, scale: float) -> int:
    """``scale`` x the base design's weight buffer, in whole tiles, at least one strip of
    the widest row (the design point's own validity rule)."""
    tile = p_in * p_out
    least = -(-max(base.max_in_features * p_out, tile) // tile) * tile
    return max(least, -(-int(base.weight_buffer_words * scale) // tile) * tile)


def candidates(base_name: str, space: Mapping[str, tuple]) -> list[Candidate]:
    """Every combination of ``space`` applied to ``base_name`` (duplicates removed)."""
    from ..params import load_accel

    base = load_accel(base_name)
    keys = list(space)
    out, seen = [], set()
    for values in itertools.product(*(space[k] for k in keys)):
        chosen = dict(zip(keys, values))
        p_in = chosen.get("linear_p_in", base.linear_p_in)
        p_out = chosen.get("linear_p_out", base.linear_p_out)
        over = [f"{k}={v}" for k, v in chosen.items() if k != "weight_buffer_words"]
        words = _buffer_words(base, p_in, p_out, chosen.get("weight_buffer_words", 1.0))
        over.append(f"buffers.weight_buffer_words={words}")
        key = tuple(sorted(over))
        if key not in seen:
            seen.add(key)
            out.append(Candidate(base_name, tuple(over)))
    return out


@functools.cache
def model_digest() -> str:
    """Digest of what an evaluation's figures follow from besides the candidate: the cycle
    model (edgemoe/perf), the fit check and its Yosys calibration data (read once a
    process: every candidate a worker evaluates shares it)."""
    root = Path(__file__).resolve().parents[1]
    files = sorted([*root.joinpath("perf").glob("*.py"), *root.joinpath("params").glob("fit*.py"),
                    root / "data" / "yosys_area.json"])
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def evaluate(cand: Candidate, model_name: str, routing: dict[int, list[int]],
             cache_dir: str, calibration: Mapping[str, float] | None = None,
             int8: Mapping[str, float] | None = None,
             mixed: Mapping[str, object] | None = None, program: str = "") -> dict:
    """Fit check and modelled latency of one candidate (runs on a Dask worker).

    ``int8`` (calibrated input ranges, ``compile_model``'s ``int8``) models the W8A8
    program of the candidate instead of the W16A32 one; ``mixed`` (``compile_model``'s
    ``mixed``, from a precision map) its mixed int4/int8 layers.  ``program`` names the
    program in the cache file (``<config_id>-<program>.json``), so each is cached apart:
    it must differ for every different ``mixed`` (default ``w8a8`` with ``int8``, none
    for W16A32).

    Returns a JSON-ready dict: ``config_id``, ``overrides``, ``program``, resource counts,
    ``fits``, and when it fits ``latency_ms`` per task (modelled with the board's memory).
    """
    from ..compiler import compile_model
    from ..params import load_accel, load_model
    from ..params.errors import ConfigError
    from ..params.fit import fit_report
    from .memory import memory_timing
    from .model import model_program

    try:
        accel = load_accel(cand.base, cand.overrides)
    except ConfigError as exc:
        return {"config_id": "", "overrides": list(cand.overrides), "fits": False,
                "reason": str(exc).splitlines()[0]}
    if mixed and not program:
        raise ValueError("a mixed program needs its own cache name (program=...)")
    program = program or ("w8a8" if int8 else "")
    path = Path(cache_dir) / f"{accel.config_id}{'-' + program if program else ''}.json"
    digest = model_digest()
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("model") == digest:
            return cached
    # the SV top's estimate with the masters the latency is modelled on (one per port)
    ports = accel.m_axi_bundles
    est = fit_report(accel, rtl=True, masters=ports).estimate
    measured = {r.lower(): int(est.total(r) * (calibration or {}).get(r, 1.0))
                for r in ("LUT", "FF", "DSP", "BRAM36", "URAM")}
    report = fit_report(accel, measured=measured if calibration else None, rtl=True,
                        masters=ports)
    mem = memory_timing(accel, ports=ports)
    res = {"config_id": accel.config_id, "model": digest, "overrides": list(cand.overrides),
           "w8a8": bool(int8),
           "program": program or "w16a32",
           "memory": mem.describe(),
           "fits": report.fits, "reason": "" if report.fits else report.message,
           **{u.name: u.used for u in report.resources}}
    model = load_model(model_name)
    if report.fits:
        try:
            accel.check_model(model)
            compiled = compile_model(model, accel, int8=int8, mixed=mixed)
        except (ConfigError, ValueError) as exc:
            res.update(fits=False, reason=str(exc).splitlines()[0])
        else:
            lat = {}
            for index, task in enumerate(compiled.manifest["tasks"]):
                pm = model_program(compiled.instrs, accel, routing, index, mem)
                lat[task] = round(pm.latency_ms, 4)
            res["latency_ms"] = lat
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=1))
    os.replace(tmp, path)  # a half-written cache entry is never seen
    return res


def yosys_calibration(accel, timeout_s: float | None = None) -> dict[str, float]:
    """Measured / estimated count per resource of ``accel``'s RTL under Yosys (cached).

    The estimate of every candidate is multiplied by these ratios: the fit check then
    follows what synthesis of the base design really used.
    """
    from ..params.fit import fit_report
    from ..rtl.synth import synth

    est = fit_report(accel, rtl=True).estimate
    measured = synth(accel, timeout_s=timeout_s, fast=True).measured()
    return {r: measured[r.lower()] / est.total(r)
            for r in ("LUT", "FF", "DSP", "BRAM36") if r.lower() in measured and est.total(r)}


def pareto(results: Sequence[dict]) -> list[dict]:
    """Fitting results not dominated in (first task's latency, LUT, DSP, BRAM36)."""
    def key(r: dict) -> tuple:
        return (next(iter(r["latency_ms"].values())), r["LUT"], r["DSP"], r["BRAM36"])

    ok = [r for r in results if r.get("fits") and r.get("latency_ms")]
    front = [r for r in ok if not any(
        all(a <= b for a, b in zip(key(o), key(r))) and key(o) != key(r) for o in ok)]
    return sorted(front, key=key)


def explore(base_name: str, model_name: str, space: Mapping[str, tuple], cache_dir: Path,
            routing: dict[int, list[int]], scheduler: str | None = None, workers: int = 2,
            calibration: Mapping[str, float] | None = None,
            progress: Callable[[int, int], None] | None = None,
            int8: Mapping[str, float] | None = None,
            mixed: Mapping[str, object] | None = None, program: str = "") -> list[dict]:
    """Evaluate every candidate of ``space`` on Dask (LocalCluster unless ``scheduler``).

    ``int8``, ``mixed`` and ``program`` as :func:`evaluate`.  Cached candidates
    (``cache_dir/<config_id>[-<program>].json``) are read, not recomputed.
    """
    from distributed import Client, LocalCluster, as_completed

    cache_dir.mkdir(parents=True, exist_ok=True)
    cands = candidates(base_name, space)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # one line per worker start
    # (workers log at CRITICAL only: a task error comes back through its future)
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
        client = Client(cluster)
    try:
        futures = client.map(evaluate, cands, model_name=model_name, routing=routing,
                             cache_dir=str(cache_dir), calibration=calibration, int8=int8,
                             mixed=mixed, program=program, pure=False)
        results = []
        for done, fut in enumerate(as_completed(futures), 1):
            results.append(fut.result())
            if progress is not None:
                progress(done, len(cands))
    finally:
        # workers stopping mid-heartbeat log tracebacks that are no error of the run
        dlog = logging.getLogger("distributed")
        level = dlog.level
        dlog.setLevel(logging.CRITICAL)
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            dlog.setLevel(level)
    return results


def write_design(base_name: str, overrides: Sequence[str], path: Path, comment: str) -> Path:
    """Write the design point ``base_name`` + ``overrides`` as a configs/accel YAML file."""
    import yaml

    from ..host.outdir import write_text_atomic
    from ..params import load_accel
    from ..params.files import read_yaml, resolve_config

    accel = load_accel(base_name, overrides)  # validates before anything is written
    _, base_path = resolve_config("accel", base_name)
    doc = read_yaml(base_path)
    for item in overrides:
        key, _, text = item.partition("=")
        node = doc
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(text)
    body = yaml.safe_dump(doc, sort_keys=False)
    write_text_atomic(path, f"# {comment}\n# config_id {accel.config_id}\n{body}")
    return path
