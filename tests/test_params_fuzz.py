"""Fuzz: any YAML document or override reaches the caller as a config or a ConfigError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgemoe.params import AccelConfig, ConfigError, ModelConfig, config_dir, load_accel, load_model
from edgemoe.params.accel import BUFFER_KEYS, FORMAT_ROLES, OVERRIDE_KEYS

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

ACCEL_DOC = yaml.safe_load((config_dir() / "accel" / "edge-moe-zcu102.yaml").read_text())
MODEL_DOC = yaml.safe_load((config_dir() / "models" / "m3vit-micro.yaml").read_text())
KEYS = sorted(set(ACCEL_DOC) | set(MODEL_DOC) | set(FORMAT_ROLES) | set(BUFFER_KEYS)
              | {"name", "channels"})

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=16)
           | st.sampled_from(["ap_fixed<16,2>", "ap_ufixed<70,3>", "odd", "zcu102", "linear",
                              "1e-6", "ap_fixed<0,0>", "ap_int<8>", "-0", "0x10"]))
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6),
    max_leaves=24,
)


def _load(loader: Any, path: Path) -> None:
    try:
        result = loader(str(path))
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(result, (AccelConfig, ModelConfig))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict) -> dict:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add", "tweak"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(documents)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS) | st.text(max_size=8))] = draw(scalars)
        elif isinstance(parent[last], int) and not isinstance(parent[last], bool):
            parent[last] = parent[last] + draw(st.integers(-300, 300))
    return doc


@FUZZ
@given(doc=documents)
def test_arbitrary_documents(doc: Any, tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _load(load_accel, path)
    _load(load_model, path)


@FUZZ
@given(doc=mutated(ACCEL_DOC))
def test_mutated_accel(doc: dict, tmp_path: Path) -> None:
    path = tmp_path / "accel.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _load(load_accel, path)


@FUZZ
@given(doc=mutated(MODEL_DOC))
def test_mutated_model(doc: dict, tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _load(load_model, path)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"%@?# \n\tab01.e<>")),
                    max_size=60))
def test_raw_text(text: str, tmp_path: Path) -> None:
    path = tmp_path / "raw.yaml"
    path.write_text(text, encoding="utf-8")
    _load(load_accel, path)


@FUZZ
@given(items=st.lists(
    st.builds(lambda k, v, sep: f"{k}{sep}{v}",
              st.sampled_from(OVERRIDE_KEYS) | st.text(max_size=10),
              st.text(max_size=20) | st.integers().map(str)
              | st.sampled_from(["ap_fixed<8,3>", "[linear]", "pynq-z2", "{a: 1}"]),
              st.sampled_from(["=", " = ", ":", ""])),
    max_size=3))
def test_random_overrides(items: list[str]) -> None:
    try:
        accel = load_accel("tiny", items)
    except ConfigError:
        return
    assert isinstance(accel, AccelConfig) and len(accel.config_id) == 8
