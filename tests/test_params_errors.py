"""Every kind of bad configuration raises ConfigError naming the key and what is allowed."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgemoe.params import ConfigError, config_dir, load_accel, load_board, load_model

pytestmark = pytest.mark.unit

Doc = dict[str, Any]


def _doc(kind: str, name: str) -> Doc:
    return yaml.safe_load((config_dir() / kind / f"{name}.yaml").read_text())


def _set(path: str, value: object) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[p]
        node[last] = value
    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[p]
        del node[last]
    return mutate


# (case id, mutation, texts that must all appear in the message)
ACCEL_CASES = [
    ("unknown key", _set("linear_p_inn", 16), ["linear_p_inn", "is not a known key",
                                               "allowed: keys board, clock_mhz"]),
    ("unknown nested key", _set("buffers.max_token", 4), ["buffers.max_token", "max_tokens"]),
    ("missing key", _delete("buffers.max_tokens"), ["buffers.max_tokens", "is missing",
                                                   "allowed: keys max_tokens"]),
    ("string for int", _set("linear_p_in", "16"), ["linear_p_in", "'16'", "not an integer",
                                                   "allowed: an integer"]),
    ("bool for int", _set("linear_p_out", True), ["linear_p_out", "not an integer"]),
    ("float for int", _set("attn_lanes", 4.0), ["attn_lanes", "not an integer"]),
    ("zero size", _set("buffers.max_tokens", 0), ["buffers.max_tokens", "= 0",
                                                  "an integer in 1..8192"]),
    ("negative size", _set("buffers.max_heads", -4), ["buffers.max_heads", "1..64"]),
    ("p_in not pow2", _set("linear_p_in", 12), ["linear_p_in", "= 12",
                                                "a power of two in 1..64"]),
    ("vector lanes not pow2", _set("vector_lanes", 6), ["vector_lanes",
                                                        "a power of two in 1..64"]),
    ("p_out too big", _set("linear_p_out", 128), ["linear_p_out", "a power of two in 1..64"]),
    ("attn lanes 0", _set("attn_lanes", 0), ["attn_lanes", "an integer in 1..32"]),
    ("axi width", _set("axi_bits", 96), ["axi_bits", "64, 128, 256, 512"]),
    ("attn_topk not a bool", _set("attn_topk", 1), ["attn_topk", "not a boolean", "true or false"]),
    ("unknown board", _set("board", "zcu999"), ["board", "'zcu999'", "zcu102, zcu104, kv260"]),
    ("unknown op", _set("ops", ["linear", "softmax"]), ["ops", "'softmax'", "moe_gate"]),
    ("repeated op", _set("ops", ["linear", "add", "add"]), ["ops", "each op at most once"]),
    ("op dependency", _set("ops", ["linear", "moe_experts"]),
     ["ops", "'moe_experts' without 'moe_gate'", "includes 'moe_gate'"]),
    ("empty ops", _set("ops", []), ["ops", "is empty", "linear, layernorm"]),
    ("ops not a list", _set("ops", "linear"), ["ops", "not a list", "a YAML list"]),
    ("bad fixed spelling", _set("formats.act", "ap_fixd<32,10>"),
     ["formats.act", "ap_fixd<32,10>", "ap_fixed<W,I> (W 1..64)"]),
    ("bad rounding mode", _set("formats.bias", "ap_fixed<16,5,AP_ROUND>"),
     ["formats.bias", "AP_ROUND", "ap_fixed<16,2,AP_RND,AP_SAT>"]),
    ("format wider than 64", _set("formats.act", "ap_fixed<72,10>"),
     ["formats.act", "ap_fixed<72,10>", "W 1..64"]),
    ("unsigned activations", _set("formats.act", "ap_ufixed<32,10>"),
     ["formats.act", "is unsigned", "only formats.pixel may be ap_ufixed"]),
    ("format not a string", _set("formats.norm", 16), ["formats.norm", "not a string"]),
    ("formats not a mapping", _set("formats", ["ap_fixed<32,10>"]),
     ["formats", "not a mapping", "act, linear_weight"]),
    ("top_k > experts", _set("buffers.max_top_k", 17), ["buffers.max_top_k",
                                                        "exceeds buffers.max_experts=16",
                                                        "an integer in 1..16"]),
    ("in features vs tile", _set("buffers.max_in_features", 2300),
     ["buffers.max_in_features", "linear_p_in=16", "a multiple of 16"]),
    ("out features vs tile", _set("buffers.max_out_features", 760),
     ["buffers.max_out_features", "a multiple of 16"]),
    ("weight buffer too small", _set("buffers.weight_buffer_words", 256),
     ["buffers.weight_buffer_words", "at least max_in_features*linear_p_out=36864"]),
    ("weight buffer not whole tiles", _set("buffers.weight_buffer_words", 147457),
     ["buffers.weight_buffer_words", "a multiple of linear_p_in*linear_p_out=256"]),
    ("clock zero", _set("clock_mhz", 0), ["clock_mhz", "a number in (0, 1000]"]),
    ("clock text", _set("clock_mhz", "fast"), ["clock_mhz", "not a number", "a finite number"]),
    ("clock inf", _set("clock_mhz", float("inf")), ["clock_mhz", "a finite number"]),
]


@pytest.mark.parametrize("case", ACCEL_CASES, ids=[c[0] for c in ACCEL_CASES])
def test_bad_accel(case: tuple, tmp_path: Path) -> None:
    _, mutate, texts = case
    doc = copy.deepcopy(_doc("accel", "edge-moe-zcu102"))
    mutate(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_accel(str(path))
    msg = str(info.value)
    assert msg.startswith(str(path) + ":")
    for text in texts:
        assert text in msg, (text, msg)


MODEL_CASES = [
    ("dim vs heads", _set("dim", 190), ["dim", "= 190", "not divisible by heads=3",
                                        "a multiple of 3"]),
    ("image vs patch", _set("image_width", 250), ["image_width", "patch=16", "a multiple of 16"]),
    ("top_k > experts", _set("top_k", 17), ["top_k", "exceeds num_experts=16", "1..16"]),
    ("moe block outside", _set("moe_blocks", [1, 12]), ["moe_blocks", "0..11"]),
    ("moe block repeat", _set("moe_blocks", [1, 1]), ["moe_blocks", "repeat", "distinct"]),
    ("moe rule", _set("moe_blocks", "every"), ["moe_blocks", "'every'", "odd, even, all, none"]),
    ("unknown kind", _set("kind", "vit"), ["kind", "'vit'", "allowed: m3vit"]),
    ("zero depth", _set("depth", 0), ["depth", "an integer in 1..65536"]),
    ("eps range", _set("ln_eps", -1.0e-6), ["ln_eps", "a number in (0, 1)"]),
    ("duplicate task", _set("tasks", [{"name": "seg", "channels": 7},
                                      {"name": "seg", "channels": 1}]),
     ["tasks[1].name", "distinct names"]),
    ("task missing channels", _set("tasks", [{"name": "seg"}]),
     ["tasks[0].channels", "is missing"]),
    ("no tasks", _set("tasks", []), ["tasks", "at least one task"]),
    ("head upsamples", _set("head_upsamples", 3), ["head_upsamples", "grid * 2**n == image"]),
    ("unknown model key", _set("qkv_bias", True), ["qkv_bias", "allowed: keys kind"]),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_bad_model(case: tuple, tmp_path: Path) -> None:
    _, mutate, texts = case
    doc = copy.deepcopy(_doc("models", "m3vit-tiny"))
    mutate(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_model(str(path))
    for text in texts:
        assert text in str(info.value), (text, str(info.value))


def test_eps_in_plain_exponent_form(tmp_path: Path) -> None:
    # PyYAML reads 1e-6 (no decimal point) as a string; the loader accepts it as a number.
    text = (config_dir() / "models" / "m3vit-tiny.yaml").read_text()
    path = tmp_path / "m.yaml"
    path.write_text(text.replace("ln_eps: 1.0e-6", "ln_eps: 1e-6"))
    assert load_model(str(path)).ln_eps == 1e-6


@pytest.mark.parametrize("field,value,texts", [
    ("family", "versal", ["zcu102.family", "zynquplus, zynq7"]),
    ("dsp", 0, ["zcu102.dsp", "an integer in 1..100000000"]),
    ("ps_port_bits", 256, ["zcu102.ps_port_bits", "32, 64, 128"]),
    ("board_part", "zcu102", ["zcu102.board_part", "vendor:board:part0:version"]),
])
def test_bad_board(field: str, value: object, texts: list[str], tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "cfg"
    shutil.copytree(config_dir(), cfg)
    boards = yaml.safe_load((cfg / "boards.yaml").read_text())
    boards["zcu102"][field] = value
    (cfg / "boards.yaml").write_text(yaml.safe_dump(boards))
    monkeypatch.setenv("EDGEMOE_CONFIG_DIR", str(cfg))
    with pytest.raises(ConfigError) as info:
        load_board("zcu104")
    for text in texts:
        assert text in str(info.value)
    with pytest.raises(ConfigError):
        load_accel("edge-moe-zcu102")


# ------------------------------------------------------------------ files and documents
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_accel(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="file not found"):
        load_model(str(tmp_path / "nope.yaml"))


def test_unknown_name_lists_known() -> None:
    with pytest.raises(ConfigError, match=r"'edge-moe'.*allowed: .*edge-moe-zcu102.*tiny"):
        load_accel("edge-moe")
    with pytest.raises(ConfigError, match="m3vit-micro, m3vit-tiny"):
        load_model("m3vit-small")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("board: zcu102\nformats: {act: ap_fixed<32,10>\n  linear_p_in: [16\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: YAML syntax error.*fix the YAML"):
        load_accel(str(path))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_document(text: str, tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    for loader in (load_accel, load_model):
        with pytest.raises(ConfigError, match="<document>.*not a mapping.*allowed: a mapping"):
            loader(str(path))


def test_self_referential_and_impossible_date(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("formats: &a [*a]\n")
    with pytest.raises(ConfigError):
        load_accel(str(path))
    path.write_text("board: 2024-13-45\n")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_accel(str(path))


# ------------------------------------------------------------------ overrides
def test_unknown_override_key_lists_valid_keys() -> None:
    with pytest.raises(ConfigError) as info:
        load_accel("tiny", ["linear_pin=8"])
    msg = str(info.value)
    assert "'linear_pin'" in msg and "linear_p_in" in msg and "formats.act" in msg
    assert "buffers.max_tokens" in msg
    with pytest.raises(ConfigError, match="'head'.*allowed: kind, image_height"):
        load_model("m3vit-micro", ["dim=64", " head =4"])


def test_malformed_override() -> None:
    with pytest.raises(ConfigError, match="'linear_p_in' is malformed; allowed: 'key=value'"):
        load_accel("tiny", ["linear_p_in"])


def test_override_values_validated_like_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_accel("tiny", ["linear_p_in=3"])
    msg = str(info.value)
    assert "--set linear_p_in=3" in msg and "linear_p_in = 3" in msg
    assert "a power of two in 1..64" in msg
    with pytest.raises(ConfigError, match="formats.act.*ap_fixed<W,I>"):
        load_accel("tiny", ["formats.act=float"])
    with pytest.raises(ConfigError, match="board.*'kv999'.*zcu102"):
        load_accel("tiny", ["board=kv999"])
    with pytest.raises(ConfigError, match="dim.*not divisible by heads=2"):
        load_model("m3vit-micro", ["dim=33"])


def test_override_invalid_yaml() -> None:
    with pytest.raises(ConfigError, match="ops = '\\[linear' is not valid YAML"):
        load_accel("tiny", ["ops=[linear"])


def test_activation_wider_than_32_bits_is_refused():
    with pytest.raises(ConfigError, match=r"formats.act.*at most 32 bits"):
        load_accel("tiny", ["formats.act=ap_fixed<40,12>"])
