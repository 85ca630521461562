"""`edgemoe explore`: candidates, the Pareto front, the Dask run, its cache and the YAML."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemoe.params import load_accel
from edgemoe.perf.explore import SPACES, candidates, pareto


def _r(cid, lat, lut, dsp=1, bram=1, fits=True):
    return {"config_id": cid, "overrides": [cid], "fits": fits, "latency_ms": {"seg": lat},
            "LUT": lut, "FF": 2 * lut, "DSP": dsp, "BRAM36": bram}


@pytest.mark.unit
def test_pareto_keeps_only_undominated_fitting_points():
    results = [_r("fast", 1.0, 900), _r("small", 3.0, 100), _r("worse", 3.5, 950),
               _r("same-lut-slower", 2.0, 900), _r("huge", 0.5, 10, fits=False)]
    assert [r["config_id"] for r in pareto(results)] == ["fast", "small"]


@pytest.mark.unit
def test_candidates_are_valid_distinct_design_points():
    cands = candidates("edge-moe-zcu102", SPACES["small"])
    # p_in 8/16 x axi 128/256 x ports 1-4, the other keys single-valued
    assert len(cands) == 16
    ids, ports = set(), set()
    for c in cands:
        accel = load_accel(c.base, c.overrides)
        assert accel.weight_buffer_words % (accel.linear_p_in * accel.linear_p_out) == 0
        ids.add(accel.config_id)
        ports.add(accel.axi_ports)
    assert len(ids) == 16
    assert ports == {1, 2, 3, 4}


@pytest.mark.unit
def test_a_second_port_frees_the_weight_prefetch_and_a_third_doubles_its_rate(tmp_path):
    """256-bit masters on 128-bit PS ports: every stream runs at half rate on its port; a
    second port gives the weight prefetch its own (faster, more LUT), a third stripes it
    over two (faster still: a full beat a cycle), a fourth costs LUT and gains nothing in
    the model (it overlaps no other streams)."""
    from edgemoe.perf.explore import Candidate, evaluate

    res = {n: evaluate(Candidate("tiny", ("axi_bits=256", f"axi_ports={n}")), "m3vit-micro",
                       {}, str(tmp_path))
           for n in (1, 2, 3, 4)}
    assert all(r["fits"] for r in res.values()), res
    seg = {n: r["latency_ms"]["seg"] for n, r in res.items()}
    assert seg[2] < seg[1]  # m3vit-micro on tiny is mostly compute-bound: 2% here
    assert seg[3] < seg[2]
    assert seg[4] == seg[3]
    assert res[1]["LUT"] < res[2]["LUT"] < res[3]["LUT"] < res[4]["LUT"]
    assert all("0.50 beats" in r["memory"] for r in res.values())


@pytest.mark.slow
def test_explore_on_dask_writes_a_loadable_design_and_resumes_from_its_cache(tmp_path, capsys):
    from edgemoe.cli import main

    argv = ["explore", "--board", "zcu102", "--model", "m3vit-micro", "--base", "tiny",
            "--space", "tiny", "--workers", "1", "--cache", str(tmp_path / "cache"),
            "--out", str(tmp_path / "chosen.yaml")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 candidates from tiny" in out and "latency ms (modelled)" in out
    chosen = load_accel(str(tmp_path / "chosen.yaml"))
    # twice the linear engine's input lanes is the faster of the two candidates
    assert chosen.linear_p_in == 8 and chosen.board.key == "zcu102"
    # tiny builds int8 attention; a program without it does not pay for it
    assert load_accel("tiny").attn_q8 and not chosen.attn_q8
    files = sorted((tmp_path / "cache" / "zcu102-m3vit-micro").glob("*.json"))
    assert {f.stem for f in files} == {chosen.config_id,
                                       load_accel("tiny", ["attn_q8=false"]).config_id}
    # a rerun reads the cache instead of evaluating: a planted figure comes back
    entry = tmp_path / "cache" / "zcu102-m3vit-micro" / f"{chosen.config_id}.json"
    data = json.loads(entry.read_text())
    data["latency_ms"] = {"seg": 0.125, "depth": 0.125}
    entry.write_text(json.dumps(data))
    assert main(argv) == 0
    assert "seg 0.12, depth 0.12" in capsys.readouterr().out
    # ... unless another version of the model wrote it: then it is evaluated again
    data["model"] = "0" * 12
    entry.write_text(json.dumps(data))
    assert main(argv) == 0
    assert "seg 0.12, depth 0.12" not in capsys.readouterr().out
    assert json.loads(entry.read_text())["latency_ms"]["seg"] != 0.125


@pytest.mark.unit
def test_explore_unknown_board_is_one_line(capsys):
    from edgemoe.cli import main

    assert main(["explore", "--board", "nope", "--model", "m3vit-micro"]) == 2
    err = capsys.readouterr().err
    assert "unknown board 'nope'" in err and "zcu102" in err
    assert "Traceback" not in err


@pytest.mark.golden
def test_w8a8_candidates_model_the_int8_program_and_cache_apart(tmp_path):
    """The W8A8 axis: the same design point modelled on its W8A8 program reads fewer
    weight bytes, so it is faster on the board's memory; both results are cached apart."""
    from edgemoe.commands.explore import _int8_ranges
    from edgemoe.perf.explore import Candidate, evaluate

    cand = Candidate("tiny", ("axi_bits=128",))
    w16 = evaluate(cand, "m3vit-micro", {}, str(tmp_path))
    w8 = evaluate(cand, "m3vit-micro", {}, str(tmp_path), int8=_int8_ranges("m3vit-micro", 1))
    assert w16["fits"] and w8["fits"] and w8["w8a8"] and not w16["w8a8"]
    assert w8["config_id"] == w16["config_id"]
    for task, ms in w16["latency_ms"].items():
        assert w8["latency_ms"][task] < ms
    assert {p.name for p in tmp_path.glob("*.json")} == {f"{w16['config_id']}.json",
                                                        f"{w16['config_id']}-w8a8.json"}


@pytest.mark.golden
def test_w8a8_heads_candidates_model_the_int8_convs_and_cache_apart(tmp_path):
    """`explore --int8 N --int8-heads`: the heads' convs in W8A8 too halve their MAC beats,
    so the candidate is faster than on the W8A8-backbone program, cached under its own name."""
    from edgemoe.commands.explore import _int8_ranges
    from edgemoe.perf.explore import Candidate, evaluate

    cand = Candidate("tiny", ("axi_bits=128",))
    w8 = evaluate(cand, "m3vit-micro", {}, str(tmp_path), int8=_int8_ranges("m3vit-micro", 1))
    heads = evaluate(cand, "m3vit-micro", {}, str(tmp_path),
                     int8=_int8_ranges("m3vit-micro", 1, heads=True), program="w8a8-heads")
    assert heads["fits"] and heads["program"] == "w8a8-heads"
    for task, ms in w8["latency_ms"].items():
        assert heads["latency_ms"][task] < ms
    cid = w8["config_id"]
    assert {p.name for p in tmp_path.glob("*.json")} == {f"{cid}-w8a8.json",
                                                        f"{cid}-w8a8-heads.json"}


@pytest.mark.golden
def test_int8_attn_candidates_run_the_int8_attention_program_and_cache_apart(tmp_path):
    """`explore --int8 N --int8-attn`: every ATTENTION of the candidate's program is int8
    (its q, k, v calibrated too), cached under its own name; a candidate that does not
    build attn_q8 cannot run that program (explore adds attn_q8=true to every candidate)."""
    from edgemoe.commands.explore import _int8_ranges
    from edgemoe.compiler.calibrate import attn_q8_layers
    from edgemoe.params import load_model
    from edgemoe.perf.explore import Candidate, evaluate

    ranges = _int8_ranges("m3vit-micro", 1, attn=True)
    assert set(attn_q8_layers(load_model("m3vit-micro"))) <= set(ranges)
    cand = Candidate("tiny", ("axi_bits=128", "attn_q8=true"))
    w8 = evaluate(cand, "m3vit-micro", {}, str(tmp_path), int8=_int8_ranges("m3vit-micro", 1))
    attn = evaluate(cand, "m3vit-micro", {}, str(tmp_path), int8=ranges, program="w8a8-attn")
    assert attn["fits"] and attn["program"] == "w8a8-attn" and attn["latency_ms"]
    cid = w8["config_id"]
    assert {p.name for p in tmp_path.glob("*.json")} == {f"{cid}-w8a8.json",
                                                        f"{cid}-w8a8-attn.json"}
    off = evaluate(Candidate("tiny", ("axi_bits=128", "attn_q8=false")), "m3vit-micro", {},
                   str(tmp_path), int8=ranges, program="w8a8-attn")
    assert not off["fits"] and "does not build int8 attention" in off["reason"]


def _every_tenth_high_map(path, model_name: str):
    """A precision map with every tenth channel of every int8-capable weight in int8."""
    from edgemoe.compiler.calibrate import int8_layers
    from edgemoe.models import random_weights
    from edgemoe.params import load_model
    from edgemoe.seeds.precision_map import build_precision_map, write_precision_map

    model = load_model(model_name)
    weights = random_weights(model, 0)
    shapes = {f"{p}.weight": weights[f"{p}.weight"].shape for p in int8_layers(model)}
    high = {n: np.arange(int(np.prod(s[:-1]))) % 10 == 0 for n, s in shapes.items()}
    return write_precision_map(path, build_precision_map(
        shapes, high, low_bits=4, high_bits=8, group=32, meta={"model": model_name}))


@pytest.mark.golden
def test_precision_map_candidates_model_the_mixed_program_and_cache_apart(tmp_path):
    """`explore --precision-map`: the candidate's program runs the map's layers mixed
    int4/int8 (neither its W16A32 nor its W8A8 latency), cached under the map's name."""
    from edgemoe.commands.explore import _int8_ranges, _mixed_program
    from edgemoe.perf.explore import Candidate, evaluate

    path = _every_tenth_high_map(tmp_path / "map.json", "m3vit-micro")
    mixed, int8, program = _mixed_program("m3vit-micro", str(path), 1, int8_rest=False,
                                          heads=False)
    assert not int8 and program.startswith("mixed-")
    cand = Candidate("tiny", ("axi_bits=128",))
    (tmp_path / "cache").mkdir()
    cache = str(tmp_path / "cache")
    w16 = evaluate(cand, "m3vit-micro", {}, cache)
    w8 = evaluate(cand, "m3vit-micro", {}, cache, int8=_int8_ranges("m3vit-micro", 1))
    mix = evaluate(cand, "m3vit-micro", {}, cache, mixed=mixed, program=program)
    assert mix["fits"] and mix["program"] == program and w16["program"] == "w16a32"
    for task, ms in mix["latency_ms"].items():
        assert ms not in (w16["latency_ms"][task], w8["latency_ms"][task])
    cid = w16["config_id"]
    assert {p.name for p in (tmp_path / "cache").glob("*.json")} == {
        f"{cid}.json", f"{cid}-w8a8.json", f"{cid}-{program}.json"}
    # another map is another program, never the cached one
    other = _every_tenth_high_map(tmp_path / "other.json", "m3vit-micro")
    other.write_text(other.read_text().replace('"model"', '"note": "other", "model"', 1))
    assert _mixed_program("m3vit-micro", str(other), 1, int8_rest=False, heads=False)[2] != program
    with pytest.raises(ValueError, match="own cache name"):
        evaluate(cand, "m3vit-micro", {}, cache, mixed=mixed)


@pytest.mark.unit
@pytest.mark.parametrize("model, text, what", [
    ("m3vit-micro", "{not json", "not a readable precision map"),
    ("vovnet-tiny", None, "drop --precision-map"),
])
def test_explore_bad_precision_map_is_one_line(tmp_path, capsys, model, text, what):
    from edgemoe.cli import main

    path = tmp_path / "map.json"
    if text is None:
        _every_tenth_high_map(path, "m3vit-micro")
    else:
        path.write_text(text)
    out = tmp_path / "chosen.yaml"
    assert main(["explore", "--board", "zcu102", "--model", model, "--base", "tiny",
                 "--space", "tiny", "--precision-map", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert what in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
