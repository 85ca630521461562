"""CLI fuzz: random argv for every verb and corrupted input files never give a traceback.

Each case runs ``edgemoe ...`` in-process and asserts exit code 0 or 2, no exception
escaping ``main``, a one-line error on exit 2, and no partial or temporary file in any
output folder.  Slow tools are stubbed (see :mod:`fuzzkit`); together the tests run well
over 500 cases.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzzkit import (
    OUTCOMES,
    check_complete_files,
    check_outcome,
    flip,
    invoke,
    json_paths,
    make_workspace,
    replace_at,
    rewrite_npz_member,
    truncate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgemoe.cli import build_parser

pytestmark = pytest.mark.golden

FUZZ = settings(deadline=None, derandomize=False, database=None,
                suppress_health_check=list(HealthCheck))

PARSER = build_parser()
VERBS = {name: sub for action in PARSER._actions if hasattr(action, "choices")
         and isinstance(action.choices, dict) for name, sub in action.choices.items()}
#: Verbs whose real work takes minutes; their tools are stubbed below.
SLOW_VERBS = ("bench", "csim", "demo", "eval", "hls", "bitstream", "rtlsim", "synth",
              "vq-fit", "quantize", "compress")


class _Stubbed(RuntimeError):
    """What a stubbed tool raises: a user-facing tool error (exit 2)."""


def _stub(*_args, **_kwargs):
    raise _Stubbed("fuzz stub: this tool is not run by the fuzz suite")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The workspace, with the slow tools stubbed and the cwd inside it."""
    root = tmp_path_factory.mktemp("fuzz")
    space = make_workspace(root)
    import edgemoe.bench as bench_pkg
    import edgemoe.flow.csim as csim_mod
    import edgemoe.flow.hls as hls_mod
    import edgemoe.host.deploy as deploy_mod
    import edgemoe.rtl as rtl_pkg
    import edgemoe.rtl.synth as synth_mod

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(csim_mod, "CsimExecutor", _stub)
        mp.setattr(rtl_pkg, "RtlsimExecutor", _stub)
        mp.setattr(synth_mod, "synth", _stub)
        mp.setattr(hls_mod, "run_hls", _stub)
        mp.setattr(hls_mod, "run_bitstream", _stub)
        mp.setattr(deploy_mod.subprocess, "run", _stub)
        import importlib
        import pkgutil
        for info in pkgutil.iter_modules(bench_pkg.__path__):
            mod = importlib.import_module(f"{bench_pkg.__name__}.{info.name}")
            mp.setattr(mod, "run", lambda quick=False: [("stubbed", "0")])
        import edgemoe.seeds.compress_model as compress_mod
        import edgemoe.seeds.mixllm_model as mixllm_mod
        import edgemoe.seeds.vq_fit as vq_mod
        mp.setattr(vq_mod, "fit_model_codebooks", _stub)
        mp.setattr(mixllm_mod, "m3vit_salience", _stub)
        mp.setattr(compress_mod, "compress_weights", _stub)
        import edgemoe.commands.demo as demo_mod
        mp.setattr(demo_mod, "DEMO_MODEL", ("m3vit-micro", "tiny"))
        import edgemoe.evaluation.evaluate as eval_mod
        import edgemoe.evaluation.showcase as showcase_mod
        mp.setattr(eval_mod, "evaluate", _stub)
        mp.setattr(showcase_mod, "show_trained", _stub)
        logging.disable(logging.WARNING)
        yield space
        logging.disable(logging.NOTSET)
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(OUTCOMES.items()))
    logging.getLogger(__name__).warning("fuzz outcomes: %s", summary)
    (root / "outcomes.json").write_text(json.dumps(dict(OUTCOMES)))


def _case_dir(ws) -> Path:
    return Path(tempfile.mkdtemp(prefix="case", dir=ws.root))


def _check(ws, case: Path, argv: list[str], outputs: Path | None = None) -> None:
    """Run one case; ``outputs`` (default the case folder) holds only what edgemoe wrote."""
    result = invoke(argv)
    check_outcome(result, argv)
    check_complete_files(outputs or case)
    shutil.rmtree(case, ignore_errors=True)


# -- argv for every verb ------------------------------------------------------------------

GARBAGE = st.sampled_from(["", "-", "--", "nan", "-1", "0", "1e999", "inf", "\u00e9", "a b",
                           "x=y", "=", "all", "none", "../", "/", "/dev/null", ".", "0x10"])
NUMBERS = st.sampled_from(["0", "1", "-5", "nan", "-inf", "inf", "1e12", "2.5", "abc", "3"])


def _value(ws, case: Path, opt: str):
    """A strategy of values for option ``opt`` (valid, borderline and garbage)."""
    files = [ws.design, ws.package, ws.npz, ws.safetensors, ws.png, ws.png16, ws.bit, ws.hwh,
             ws.accel_yaml, ws.root / "missing.bin", ws.root]
    paths = st.sampled_from([str(p) for p in files])
    outs = st.sampled_from([str(case / "out"), str(case / "out" / "deep"), str(ws.png),
                            str(case)])
    by_opt = {
        "--out": outs, "--json": outs, "--target": outs,
        "--model": st.sampled_from(["m3vit-micro", "nope", str(ws.accel_yaml), str(ws.png)]),
        "--accel": st.sampled_from(["tiny", "edge-moe-zcu102", "zzz", str(ws.accel_yaml),
                                    str(ws.npz)]),
        "--tb-model": st.sampled_from(["m3vit-micro", "nope"]),
        "--task": st.sampled_from(["all", "seg", "depth", "0", "1", "9", "-1", "Seg"]),
        "--backend": st.sampled_from(["golden", "pynq", "csim", "gold"]),
        "--set": st.sampled_from(["linear_p_in=8", "linear_p_in=0", "nokey=1", "=", "clock_mhz=x"]),
        "--steps": st.sampled_from(["csim", "csynth", "bogus"]),
        "--only": st.sampled_from(["numerics", "golden", "nonsense", ""]),
        "--top": st.sampled_from(["edgemoe_top", "x"]),
    }
    base = by_opt.get(opt)
    if opt in ("--seed", "--timeout", "--max-cycles"):
        base = NUMBERS
    if base is None:
        base = paths
    return st.one_of(base, base, GARBAGE)


@st.composite
def argvs(draw, ws, verb: str):
    case = _case_dir(ws)
    argv = [verb]
    for action in VERBS[verb]._actions:
        if not action.option_strings or action.dest == "help":
            continue
        opt = action.option_strings[-1] if action.option_strings[-1].startswith("--") \
            else action.option_strings[0]
        if not draw(st.booleans()) and not (action.required and draw(st.integers(0, 9))):
            continue
        if action.nargs == 0:
            argv.append(opt)
            continue
        n = draw(st.integers(0 if action.nargs in ("*", "?") else 1,
                             2 if action.nargs in ("*", "+") else 1))
        argv += [opt, *(draw(_value(ws, case, opt)) for _ in range(n))]
    if verb in ("run", "compile", "generate", "package") and "--out" not in argv:
        argv += ["--out", str(case / "out")]  # never the repository's build/
    if draw(st.integers(0, 19)) == 0:
        argv.insert(draw(st.integers(1, len(argv))), draw(GARBAGE))
    return case, argv


FAST_VERBS = sorted(v for v in VERBS if v not in SLOW_VERBS)


@settings(FUZZ, max_examples=260)
@given(data=st.data())
def test_fuzz_argv_fast_verbs(ws, data):
    verb = data.draw(st.sampled_from(FAST_VERBS))
    case, argv = data.draw(argvs(ws, verb))
    _check(ws, case, argv)


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_fuzz_argv_slow_verbs(ws, data):
    """The verbs whose tools are stubbed: argument checking up to the tool call."""
    verb = data.draw(st.sampled_from(SLOW_VERBS))
    case, argv = data.draw(argvs(ws, verb))
    _check(ws, case, argv)


# -- corrupted inputs ------------------------------------------------------------------------

JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                        st.floats(allow_nan=True), st.text(max_size=6),
                        st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))

#: Input file -> (the commands that read it), ``{in}`` is the corrupted copy's folder.
TARGETS = {
    "design/manifest.json": [["run", "--design", "{design}"],
                             ["package", "--bit", "{bit}", "--hwh", "{hwh}", "--design",
                              "{design}"]],
    "design/image.bin": [["run", "--design", "{design}", "--task", "seg"]],
    "package/manifest.json": [["run", "--package", "{package}"],
                              ["deploy", "--package", "{package}", "--target", "{out}"]],
    "package/buildinfo.json": [["run", "--package", "{package}"]],
    "package/accel.json": [["run", "--package", "{package}"]],
    "package/image.bin": [["run", "--package", "{package}", "--task", "depth"]],
    "package/fake.hwh": [["run", "--package", "{package}"]],
    "x.hwh": [["package", "--bit", "{bit}", "--hwh", "{hwh}", "--design", "{design}"]],
    "w.npz": [["run", "--design", "{design}", "--weights", "{npz}"],
              ["compile", "--model", "m3vit-micro", "--accel", "tiny", "--weights", "{npz}"]],
    "w.safetensors": [["run", "--design", "{design}", "--weights", "{safetensors}"]],
    "a.png": [["run", "--design", "{design}", "--image", "{png}", "{png16}"]],
    "b16.png": [["run", "--design", "{design}", "--image", "{png16}"]],
    "tiny.yaml": [["compile", "--model", "m3vit-micro", "--accel", "{accel_yaml}"],
                  ["run", "--accel", "{accel_yaml}"]],
}


def _copy_inputs(ws, case: Path) -> dict[str, Path]:
    shutil.copytree(ws.design, case / "design")
    shutil.copytree(ws.package, case / "package")
    names = {"bit": ws.bit, "hwh": ws.hwh, "npz": ws.npz, "safetensors": ws.safetensors,
             "png": ws.png, "png16": ws.png16, "accel_yaml": ws.accel_yaml}
    paths = {"design": case / "design", "package": case / "package", "out": case / "out"}
    for key, src in names.items():
        paths[key] = case / src.name
        shutil.copyfile(src, paths[key])
    return paths


@st.composite
def corruptions(draw, data: bytes, name: str):
    """Corrupted bytes of ``name``: truncation, a flipped byte, garbage, JSON edits."""
    kinds = ["truncate", "flip", "garbage", "empty"]
    if name.endswith(".json"):
        kinds += ["json_value", "json_delete", "json_root"] * 2
    if name.endswith(".npz"):
        kinds += ["npz_members"]
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        return truncate(data, draw(st.floats(0.0, 0.999)))
    if kind == "flip":
        return flip(data, draw(st.floats(0.0, 1.0)), draw(st.integers(0, 255)))
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=256))
    if kind == "empty":
        return b""
    if kind == "npz_members":
        return rewrite_npz_member(data, draw(st.integers(0, 3)))
    doc = json.loads(data)
    if kind == "json_root":
        return json.dumps(draw(JSON_VALUES)).encode()
    path = draw(st.sampled_from(json_paths(doc)[1:] or [()]))
    if kind == "json_delete" and path:
        return json.dumps(replace_at(doc, path, None, delete=True)).encode()
    return json.dumps(replace_at(doc, path, draw(JSON_VALUES))).encode()


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_fuzz_corrupted_inputs(ws, data):
    target = data.draw(st.sampled_from(sorted(TARGETS)))
    case = _case_dir(ws)
    paths = _copy_inputs(ws, case)
    file = case / target
    file.write_bytes(data.draw(corruptions(file.read_bytes(), file.name)))
    command = data.draw(st.sampled_from(TARGETS[target]))
    argv = [part.format(**{k: str(v) for k, v in paths.items()}) for part in command]
    if "--target" not in argv:
        argv += ["--out", str(case / "out")]
    _check(ws, case, argv, case / "out")
