"""Code generation: templates render under StrictUndefined for every design point and
board, the scripts name the right part/clock/top/sources, the rendered headers match
edgemoe.isa / edgemoe.numerics, and kernel sources contain nothing HLS cannot synthesize."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import numpy as np
import pytest
import yaml

from edgemoe import isa, numerics
from edgemoe.codegen import (
    KERNEL_HEADERS,
    OUTPUTS,
    TOP_NAME,
    TemplateError,
    cpp_type,
    hex_literal,
    make_environment,
    render_hls,
    scan_kernel_source,
    scan_kernel_sources,
    sv_literal,
    unlabeled_loops,
)
from edgemoe.codegen.outputs import render_one
from edgemoe.params import ConfigError, config_dir, list_accels, list_boards, load_accel
from edgemoe.params.fixed import FixedType

pytestmark = pytest.mark.codegen

BOARDS = yaml.safe_load((config_dir() / "boards.yaml").read_text())


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """Every design point rendered once."""
    root = tmp_path_factory.mktemp("hls")
    out = {}
    for name in list_accels():
        out[name] = root / name
        render_hls(load_accel(name), out[name])
    return out


def _defines(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2), 0) for m in
            re.finditer(r"static const (?:u?int\w*|int|bool) (\w+) = (-?(?:0x)?[0-9a-fA-F]+)u?;", text)}


def test_every_design_point_renders_every_output(projects):
    for name, out in projects.items():
        accel = load_accel(name)
        names = {o.filename.format(top=TOP_NAME) for o in OUTPUTS} | set(KERNEL_HEADERS)
        assert {p.name for p in out.iterdir()} == names
        for path in out.iterdir():
            first = path.read_text().splitlines()[0]
            assert f"generated from {name} {accel.config_id}" in first and "do not edit" in first
            assert first.startswith("#" if path.suffix in (".tcl", ".cfg") else "//")


@pytest.mark.parametrize("board", list_boards())
def test_every_board_renders(tmp_path, board):
    accel = load_accel("tiny").retarget(board)
    render_hls(accel, tmp_path)
    bd = (tmp_path / "bd.tcl").read_text()
    spec = BOARDS[board]
    assert f"-part {spec['part']}" in bd and spec["board_part"] in bd
    ps = "processing_system7" if spec["family"] == "zynq7" else "zynq_ultra_ps_e"
    assert f"xilinx.com:ip:{ps}:" in bd
    assert re.search(r"DATA_WIDTH \{" + str(spec["ps_port_bits"]) + r"\}", bd)
    assert f"{accel.name}.bit" in bd and f"{accel.name}.hwh" in bd


def test_scripts_match_boards_yaml_and_design_point(projects):
    for name, out in projects.items():
        accel = load_accel(name)
        board = BOARDS[accel.board.key]
        tcl = (out / "run_hls.tcl").read_text()
        cfg = (out / "hls_config.cfg").read_text()
        period = 1000.0 / accel.clock_mhz
        assert re.search(rf"^set_part {re.escape(board['part'])}$", tcl, re.MULTILINE)
        assert float(re.search(r"create_clock -period ([\d.]+)", tcl).group(1)) == \
            pytest.approx(period, abs=1e-3)
        assert re.search(rf"^set_top {TOP_NAME}$", tcl, re.MULTILINE)
        assert f"-m_axi_max_widen_bitwidth {accel.axi_bits}" in tcl
        for step in ("csim_design", "csynth_design", "cosim_design", "export_design -format ip_catalog"):
            assert step in tcl
        tcl_sources = re.findall(r"^add_files (\S+) -cflags", tcl, re.MULTILINE)
        cfg_sources = re.findall(r"^syn\.file=(\S+)$", cfg, re.MULTILINE)
        assert tcl_sources == cfg_sources and f"{TOP_NAME}.cpp" in tcl_sources
        assert set(tcl_sources) == {p.name for p in out.iterdir() if p.suffix in (".cpp", ".hpp")
                                    and p.name not in ("csim_bridge.cpp", "tb_edgemoe.cpp")}
        assert re.search(rf"^part={re.escape(board['part'])}$", cfg, re.MULTILINE)
        assert float(re.search(r"^clock=([\d.]+)ns$", cfg, re.MULTILINE).group(1)) == \
            pytest.approx(period, abs=1e-3)
        assert f"syn.top={TOP_NAME}" in cfg and "syn.output.format=ip_catalog" in cfg
        top = (out / f"{TOP_NAME}.cpp").read_text()
        assert f"max_widen_bitwidth={accel.axi_bits}" in top
        for port in ("mem", "mem_bytes", "program_offset", "n_instructions", "task",
                     "status_offset", "config_id", "status", "return"):
            assert f"mode=s_axilite port={port} bundle=control" in top
        assert "mode=m_axi port=mem bundle=mem offset=slave" in top


def test_isa_header_matches_isa_py(projects):
    text = (projects["tiny"] / "edgemoe_isa.hpp").read_text()
    d = _defines(text)
    for op in isa.Op:
        assert d[f"OP_{op.name}"] == int(op)
    for flag in isa.Flag:
        if flag:
            assert d[f"FLAG_{flag.name}"] == int(flag)
    for err in isa.Err:
        assert d[f"ERR_{err.name}"] == int(err)
    masks = re.search(r"OP_FLAGS\[N_OPCODES\] = \{(.*?)\};", text, re.DOTALL).group(1)
    assert [int(m, 16) for m in re.findall(r"0x([0-9a-f]+)", masks)] == \
        [int(isa.hw_flags(op, "hls", load_accel("tiny"))) for op in sorted(isa.Op)]
    assert d["FLD_LINEAR_SRC"] == 1 + isa.N_DIMS and d["FLD_ATTENTION_SCALE"] == isa.WORDS - 1


def test_attention_modes_only_where_the_design_builds_them(projects):
    """attn_topk and attn_q8: tiny's checker accepts Flag.ATTN_TOPK and Flag.WFMT_Q8 and CFG
    builds both paths; a board design point (both off) refuses the flags and leaves the
    paths out."""
    for name, built in (("tiny", 1), ("edge-moe-zcu102", 0)):
        isa_h = (projects[name] / "edgemoe_isa.hpp").read_text()
        masks = re.search(r"OP_FLAGS\[N_OPCODES\] = \{(.*?)\};", isa_h, re.DOTALL).group(1)
        attn = [int(m, 16) for m in re.findall(r"0x([0-9a-f]+)", masks)][int(isa.Op.ATTENTION)]
        assert attn == (int(isa.Flag.ATTN_TOPK | isa.Flag.WFMT_Q8) if built else 0), name
        params = (projects[name] / "edgemoe_params.hpp").read_text()
        assert f"static const int ATTN_TOPK_BUILT = {built};" in params, name
        assert f"static const int ATTN_Q8_BUILT = {built};" in params, name


def test_params_header_matches_design_point_and_numerics(projects):
    for name, out in projects.items():
        accel = load_accel(name)
        text = (out / "edgemoe_params.hpp").read_text()
        d = _defines(text)
        assert d["CONFIG_ID"] == accel.config_id_int
        assert (d["P_IN"], d["P_OUT"], d["ATTN_LANES"], d["AXI_BITS"]) == \
            (accel.linear_p_in, accel.linear_p_out, accel.attn_lanes, accel.axi_bits)
        assert d["MAX_TOKENS"] == accel.max_tokens and d["MAX_EXPERTS"] == accel.max_experts
        assert d["WBUF_TILES"] * accel.linear_p_in * accel.linear_p_out == accel.weight_buffer_words
        for role in ("act", "linear_weight", "pixel"):
            fmt = getattr(accel.formats, role)
            block = re.search(rf"struct fmt_{role} \{{(.*?)\}};", text, re.DOTALL).group(1)
            assert f"typedef {fmt.cpp()} type;" in block
            assert f"FRAC = {fmt.frac_bits};" in block
        for cname, value in numerics.numerics_constants().items():
            assert d[cname] == value
        for tname, table in numerics.numerics_tables().items():
            body = re.search(rf"{tname}\[\d+\] = \{{(.*?)\}};", text, re.DOTALL).group(1)
            assert np.array_equal(np.array([int(v) for v in re.findall(r"-?\d+", body)]), table)


def test_strict_undefined_and_filters():
    env = make_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    accel = load_accel("tiny")
    with pytest.raises(TemplateError, match="run_hls.tcl.j2"):
        render_one(env, next(o for o in OUTPUTS if o.template == "run_hls.tcl.j2"),
                   {"accel": accel, "name": "x"})
    assert cpp_type(FixedType.parse("ap_fixed<16,2>")) == "ap_fixed<16,2,AP_TRN,AP_WRAP>"
    assert cpp_type(np.dtype("<u4")) == "uint32_t" and cpp_type(16) == "int16_t"
    assert sv_literal(7) == "32'd7" and sv_literal(-5, 16) == "-16'sd5"
    assert hex_literal(255) == "0xff" and hex_literal(0x357bec1d, 8) == "0x357bec1d"
    with pytest.raises(TemplateError):
        hex_literal(-1)


def test_design_point_that_does_not_fit_is_refused(tmp_path):
    from edgemoe.flow.generate import generate

    accel = load_accel("edge-moe-zcu102", ["board=pynq-z2"])
    with pytest.raises(ConfigError, match="does not fit"):
        generate(accel, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_program_exceeding_the_buffers_is_refused():
    from edgemoe.compiler import compile_model
    from edgemoe.params import load_model
    from edgemoe.validate import ProgramError

    with pytest.raises(ProgramError, match="outside"):
        compile_model(load_model("m3vit-tiny"), load_accel("tiny"))


def test_generate_writes_testbench_vectors(tmp_path):
    from edgemoe.flow.generate import generate

    project = generate(load_accel("tiny"), out_dir=tmp_path)
    assert project.testbench_model == "m3vit-micro"
    args = [int(v) for v in (tmp_path / "tb_data" / "args.txt").read_text().split()]
    image = np.fromfile(tmp_path / "tb_data" / "image.bin", np.uint8)
    expected = np.fromfile(tmp_path / "tb_data" / "expected.bin", np.uint8)
    assert image.size == expected.size and not np.array_equal(image, expected)
    assert args[1] > 0 and args[0] % 64 == 0
    top = (tmp_path / f"{TOP_NAME}.cpp").read_text()
    assert f"depth={-(-image.size // 16)}" in top  # tiny: 128-bit beats cover the image


# --------------------------------------------------------------- synthesizability scan
def test_kernel_sources_are_synthesizable(projects):
    out = projects["edge-moe-zcu102"]
    kernel = [out / o.filename.format(top=TOP_NAME) for o in OUTPUTS if o.kernel]
    kernel += [out / h for h in KERNEL_HEADERS]
    assert scan_kernel_sources(kernel) == []


@pytest.mark.parametrize("snippet,what", [
    ("int* p = new int[4];", "dynamic allocation"),
    ("void f() { int* p = (int*)malloc(16); }", "dynamic allocation"),
    ("#include <vector>\nstd::vector<int> v;", "standard container"),
    ("float x = 1.0f;", "floating point"),
    ("inline double g(int a) { return a; }", "floating point"),
    ("#include <hls_math.h>", "floating point"),
    ("int fact(int n) {\n  return n ? n * fact(n - 1) : 1;\n}", "recursion"),
    ("template <int N> int sum(int n) {\n  if (n) return sum<N>(n - 1);\n  return 0;\n}", "recursion"),
])
def test_scanner_rejects(snippet, what):
    problems = scan_kernel_source(snippet, "snippet.hpp")
    assert any(what in p for p in problems), problems


def test_every_kernel_loop_has_a_label(projects):
    out = projects["tiny"]
    problems = [p for h in (*KERNEL_HEADERS, f"{TOP_NAME}.cpp")
                for p in unlabeled_loops((out / h).read_text(), h)]
    assert problems == []
    assert unlabeled_loops("int f() {\n  for (int i = 0; i < 4; i++) {}\n}")  # the check can fail
    assert not unlabeled_loops("L1:\n#pragma HLS PIPELINE\n  for (;;) {}")


def test_scanner_ignores_comments_and_strings():
    text = '// float here is fine\n/* new delete double */\nconst char* s = "std::vector";\n'
    assert scan_kernel_source(text) == []


def test_ip_vlnv_matches_the_host_driver(projects):
    """The exported IP's VLNV is the one edgemoe.host binds its driver to."""
    from edgemoe.host.registers import INSTANCE_NAME, VLNV

    vendor, library, top, version = VLNV.split(":")
    out = projects["edge-moe-zcu102"]
    tcl = (out / "run_hls.tcl").read_text()
    assert f"-vendor {vendor} -library {library} -version {version}" in tcl and top == TOP_NAME
    assert f"-vlnv {VLNV} {INSTANCE_NAME}" in (out / "bd.tcl").read_text()
