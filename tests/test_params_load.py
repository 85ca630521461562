"""Shipped configs load, fit their boards and run their models; overrides; config_id."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from edgemoe.params import (
    AccelConfig,
    ConfigError,
    ModelConfig,
    config_dir,
    list_accels,
    list_boards,
    list_models,
    load_accel,
    load_board,
    load_model,
)
from edgemoe.params.accel import OVERRIDE_KEYS
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.unit

SHIPPED_ACCELS = ("edge-moe-zcu102", "tiny", "zcu104", "kv260", "pynq-z2", "ultra96-v2")


def test_config_dir_is_repo_configs() -> None:
    assert (config_dir() / "boards.yaml").is_file()
    assert config_dir() == Path(__file__).resolve().parents[1] / "configs"


def test_config_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(config_dir(), tmp_path / "cfg")
    monkeypatch.setenv("EDGEMOE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == (tmp_path / "cfg").resolve()
    assert load_accel("tiny").source.startswith(str((tmp_path / "cfg").resolve()))


def test_lists_contain_every_shipped_config() -> None:
    assert set(SHIPPED_ACCELS) <= set(list_accels())
    assert {"m3vit-tiny", "m3vit-micro"} <= set(list_models())
    assert list_boards() == ("zcu102", "zcu104", "kv260", "pynq-z2", "ultra96-v2")


# Facts from reference/ecosystem.md section 4 (not from the code under test).
BOARD_FACTS = {
    "zcu102": ("xczu9eg-ffvb1156-2-e", "zynquplus", 274080, 2520, 912, 0, 128, 21.3),
    "zcu104": ("xczu7ev-ffvc1156-2-e", "zynquplus", 230400, 1728, 312, 96, 128, 19.2),
    "kv260": ("xck26-sfvc784-2LV-c", "zynquplus", 117120, 1248, 144, 64, 128, 19.2),
    "pynq-z2": ("xc7z020clg400-1", "zynq7", 53200, 220, 140, 0, 64, 4.2),
    "ultra96-v2": ("xczu3eg-sbva484-1-i", "zynquplus", 70560, 360, 216, 0, 128, 8.5),
}


@pytest.mark.parametrize("key", sorted(BOARD_FACTS))
def test_board_facts(key: str) -> None:
    part, family, lut, dsp, bram, uram, port, ddr = BOARD_FACTS[key]
    b = load_board(key)
    assert (b.key, b.part, b.family, b.lut, b.dsp, b.bram36, b.uram) == (
        key, part, family, lut, dsp, bram, uram)
    assert b.ff == 2 * lut
    assert (b.ps_port_bits, b.ddr_gbps, b.default_clock_mhz) == (port, ddr, 100.0)


def test_unknown_board_lists_known() -> None:
    with pytest.raises(ConfigError, match="zcu102.*pynq-z2"):
        load_board("zcu999")


@pytest.mark.parametrize("name", SHIPPED_ACCELS)
def test_shipped_design_points_load_and_fit_their_board(name: str) -> None:
    accel = load_accel(name)
    assert isinstance(accel, AccelConfig) and accel.name == name
    report = accel.check_fit()
    assert report.fits and report.board == accel.board.key
    for use in report.resources:
        assert use.used * 100 <= use.available * use.limit_percent


@pytest.mark.parametrize("name", ("zcu104", "kv260", "pynq-z2", "ultra96-v2"))
def test_board_design_points_run_m3vit_tiny(name: str) -> None:
    accel = load_accel(name)
    assert accel.board.key == name
    tiny = load_model("m3vit-tiny")
    assert accel.model_problems(tiny) == ()
    assert accel.max_tokens >= 129


def test_design_points_and_models() -> None:
    micro, tiny = load_model("m3vit-micro"), load_model("m3vit-tiny")
    assert load_accel("edge-moe-zcu102").model_problems(tiny) == ()
    assert load_accel("tiny").model_problems(micro) == ()
    problems = load_accel("tiny").model_problems(tiny)
    assert any("tokens 129 > buffers.max_tokens=16" in p for p in problems)
    with pytest.raises(ConfigError, match="m3vit-tiny does not run on design point tiny"):
        load_accel("tiny").check_model(tiny)
    narrow = load_accel("tiny", ["buffers.max_out_features=64"])
    assert "output row 3*dim (fused qkv) = 96 > buffers.max_out_features=64" in \
        narrow.model_problems(micro)
    no_moe = load_accel("tiny", ["ops=[linear, layernorm, attention, conv, upsample, add]"])
    assert "ops lacks moe_gate, moe_experts" in no_moe.model_problems(micro)


def test_edge_moe_design_point_matches_paper() -> None:
    a = load_accel("edge-moe-zcu102")
    assert (a.board.key, a.clock_mhz, a.linear_p_in, a.linear_p_out, a.attn_lanes) == (
        "zcu102", 300.0, 16, 16, 4)
    assert (a.axi_bits, a.axi_bytes, a.linear_macs_per_cycle, a.act_per_beat) == (256, 32, 256, 8)
    f = a.formats
    assert (f.act.width, f.act.int_bits, f.act.signed) == (32, 10, True)
    assert (f.act.quant, f.act.overflow) == ("TRN", "WRAP")
    assert (f.linear_weight.width, f.linear_weight.int_bits) == (16, 2)
    assert (f.attn_bias.int_bits, f.bias.int_bits, f.norm.int_bits) == (7, 5, 5)
    assert (f.patch_weight.int_bits, f.conv_weight.int_bits) == (0, 2)
    assert (f.pixel.width, f.pixel.int_bits, f.pixel.signed) == (8, 0, False)
    assert a.weight_buffer_words == 768 * 192
    assert (a.max_tokens, a.max_in_features, a.max_out_features) == (129, 2304, 768)
    assert a.ops == ("linear", "layernorm", "attention", "moe_gate", "moe_experts", "conv",
                     "upsample", "add")  # M3ViT's ops (VoVNet's POOL: tiny, kv260)


def test_m3vit_tiny_is_edge_moe_model() -> None:
    m = load_model("m3vit-tiny")
    assert isinstance(m, ModelConfig)
    assert (m.grid_h, m.grid_w, m.num_patches, m.num_tokens) == (8, 16, 128, 129)
    assert (m.dim, m.depth, m.heads, m.head_dim, m.mlp_hidden) == (192, 12, 3, 64, 768)
    assert m.moe_blocks == (1, 3, 5, 7, 9, 11)
    assert [m.is_moe(b) for b in range(4)] == [False, True, False, True]
    assert (m.num_experts, m.expert_hidden, m.top_k, m.ln_eps) == (16, 384, 2, 1e-6)
    assert [(t.name, t.channels) for t in m.tasks] == [("seg", 7), ("depth", 1)]
    assert (m.task_index("seg"), m.task_index("depth")) == (0, 1)
    assert (m.head_channels, m.head_upsamples) == (256, 4)
    with pytest.raises(ConfigError, match="seg, depth"):
        m.task_index("normals")
    with pytest.raises(ConfigError, match="0..11"):
        m.is_moe(12)


def test_m3vit_micro_shape() -> None:
    m = load_model("m3vit-micro")
    assert (m.image_height, m.image_width, m.num_patches, m.num_tokens) == (32, 64, 8, 9)
    assert (m.dim, m.depth, m.heads, m.mlp_hidden) == (32, 2, 2, 64)
    assert m.moe_blocks == (1,) and not m.is_moe(0)
    assert (m.num_experts, m.expert_hidden, m.top_k, m.head_channels) == (4, 48, 2, 16)


def test_moe_block_rules(tmp_path: Path) -> None:
    doc = yaml.safe_load((config_dir() / "models" / "m3vit-tiny.yaml").read_text())
    for rule, expected in (("even", tuple(range(0, 12, 2))), ("all", tuple(range(12))),
                           ("none", ()), ([7, 3], (3, 7))):
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump({**doc, "moe_blocks": rule}))
        assert load_model(str(path)).moe_blocks == expected


def test_good_overrides() -> None:
    base = load_accel("edge-moe-zcu102")
    a = load_accel("edge-moe-zcu102", ["linear_p_in=8", "formats.act=ap_fixed<24,8>",
                                       "buffers.max_tokens=200", "board=kv260"])
    assert (a.linear_p_in, a.max_tokens, a.board.key) == (8, 200, "kv260")
    assert a.formats.act == FixedType(24, 8)
    assert a.formats.linear_weight == base.formats.linear_weight
    assert a.linear_macs_per_cycle == 8 * 16
    m = load_model("m3vit-tiny", ["depth=4", "moe_blocks=[1, 3]"])
    assert (m.depth, m.moe_blocks) == (4, (1, 3))


def test_retarget_keeps_engines() -> None:
    a = load_accel("edge-moe-zcu102")
    b = a.retarget("pynq-z2")
    assert b.board == load_board("pynq-z2") and b.linear_p_in == a.linear_p_in
    assert b.config_id != a.config_id
    with pytest.raises(ConfigError, match="allowed: zcu102"):
        a.retarget("nope")


# ------------------------------------------------------------------------ config_id
def test_config_id_definition_and_stability() -> None:
    a, b = load_accel("edge-moe-zcu102"), load_accel("edge-moe-zcu102")
    assert a == b and a.config_id == b.config_id
    digest = hashlib.sha256(a.canonical_json().encode()).digest()
    assert a.config_id_int == int.from_bytes(digest[:4], "big")
    assert len(a.config_id) == 8 and int(a.config_id, 16) == a.config_id_int < 2**32
    data = a.to_dict()
    assert data["board"]["dsp"] == 2520 and data["buffers"]["max_tokens"] == 129


VARIANTS = {
    "board": "zcu104", "clock_mhz": "250", "linear_p_in": "8", "linear_p_out": "8",
    "attn_lanes": "2", "vector_lanes": "4", "axi_bits": "128", "axi_ports": "2",
    "attn_topk": "true", "attn_q8": "true", "attn_act": "false",
    "weight_formats": "[w16, q8, q4]", "linear_epilogue_lanes": "8", "linear_row_slots": "4",
    "formats.act": "ap_fixed<32,11>", "formats.linear_weight": "ap_fixed<16,3>",
    "formats.attn_bias": "ap_fixed<16,6>", "formats.bias": "ap_fixed<16,5,AP_RND>",
    "formats.norm": "ap_fixed<16,5,AP_TRN,AP_SAT>", "formats.patch_weight": "ap_fixed<12,0>",
    "formats.conv_weight": "ap_fixed<8,2>", "formats.pixel": "ap_ufixed<8,1>",
    "buffers.max_tokens": "130", "buffers.max_in_features": "2048",
    "buffers.max_out_features": "512", "buffers.max_heads": "8", "buffers.max_head_dim": "32",
    "buffers.max_experts": "8", "buffers.max_top_k": "1",
    "buffers.weight_buffer_words": "147712",
    "buffers.max_timesteps": "4", "buffers.conv_line_words": "65536",
    "ops": "[linear, layernorm, attention, moe_gate, moe_experts, conv, add]",
}
#: Overrides a variant needs beside its own to be valid (attn_act: false builds int8 only).
VARIANT_NEEDS = {"attn_act": ("attn_q8=true",)}


def test_variants_cover_every_override_key() -> None:
    assert set(VARIANTS) == set(OVERRIDE_KEYS)


def test_config_id_changes_with_every_field() -> None:
    base = load_accel("edge-moe-zcu102")
    ids = {base.config_id}
    for key, value in VARIANTS.items():
        variant = load_accel("edge-moe-zcu102", [*VARIANT_NEEDS.get(key, ()), f"{key}={value}"])
        assert variant.config_id not in ids, key
        ids.add(variant.config_id)


def test_config_id_covers_board_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = load_accel("edge-moe-zcu102").config_id
    cfg = tmp_path / "cfg"
    shutil.copytree(config_dir(), cfg)
    boards = yaml.safe_load((cfg / "boards.yaml").read_text())
    boards["zcu102"]["bram36"] = 900
    (cfg / "boards.yaml").write_text(yaml.safe_dump(boards))
    monkeypatch.setenv("EDGEMOE_CONFIG_DIR", str(cfg))
    assert load_accel("edge-moe-zcu102").config_id != base


def test_config_id_equal_for_equivalent_spellings(tmp_path: Path) -> None:
    base = load_accel("edge-moe-zcu102")
    doc = yaml.safe_load((config_dir() / "accel" / "edge-moe-zcu102.yaml").read_text())
    doc["clock_mhz"] = 300.0
    doc["ops"] = list(reversed(doc["ops"]))
    doc["formats"]["act"] = "ap_fixed< 32 , 10, AP_TRN, AP_WRAP >"
    doc["formats"]["linear_weight"] = "ap_fixed<16,2,TRN>"
    doc = {k: doc[k] for k in reversed(list(doc))}  # key order does not matter
    path = tmp_path / "renamed-design.yaml"
    path.write_text("# another comment\n" + yaml.safe_dump(doc, sort_keys=False))
    other = load_accel(str(path))
    assert other.name == "renamed-design"
    assert other.config_id == base.config_id
    assert other.canonical_json() == base.canonical_json()
