"""`edgemoe lint-hls`: every design point's generated HLS follows the synthesis rules, each
engine is one hardware instance, and every rule fails on a fixture that breaks it."""

from __future__ import annotations

import re

import pytest

from edgemoe.cli import main
from edgemoe.codegen import KERNEL_HEADERS, OUTPUTS, TOP_NAME, lint_dataflow, render_hls
from edgemoe.codegen.lint import strip_comments
from edgemoe.codegen.lint_dataflow import PENDING_DATAFLOW, op_kernels
from edgemoe.codegen.lint_hls import (
    ENGINES,
    RULES,
    engine_call_sites,
    lint_design,
    lint_hls_texts,
)
from edgemoe.ops import OP_SPECS
from edgemoe.params import list_accels, load_accel

pytestmark = pytest.mark.codegen


@pytest.mark.parametrize("name", list_accels())
def test_every_design_point_is_clean(name):
    assert [str(p) for p in lint_design(load_accel(name))] == []


def test_cli_reports_clean(capsys):
    assert main(["lint-hls", "--accel", "tiny"]) == 0
    assert "tiny" in capsys.readouterr().out


@pytest.fixture(scope="module")
def design_code(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("lint")
    render_hls(load_accel("edge-moe-zcu102"), out)
    files = [out / o.filename.format(top=TOP_NAME) for o in OUTPUTS if o.kernel]
    files += [out / h for h in KERNEL_HEADERS]
    return "\n".join(strip_comments(f.read_text()) for f in files)


def test_engine_call_sites(design_code):
    """The loader, the MAC tile, attention, layernorm and the router have one call site;
    the linear engine has one per op handler, all inlined under ALLOCATION limit=1."""
    stages = ("lin_read_rows", "lin_mac_rows", "lin_write_rows")
    sites = engine_call_sites(design_code, (*ENGINES.values(), "lin_step", *stages))
    # the loader and the token loop sit in lin_step, inlined into both ping/pong branches
    # of lin_run, which limits each to one instance
    assert sites["lin_load"] == sites["lin_compute"] == ["lin_step"]
    assert sites["lin_step"] == ["lin_run", "lin_run"]
    assert "ALLOCATION function instances=lin_load<CFG> limit=1" in design_code
    assert "ALLOCATION function instances=lin_compute<CFG> limit=1" in design_code
    # the token loop is a dataflow region: each process called once, the MAC tile in one
    assert all(sites[f] == ["lin_compute"] for f in stages)
    assert sites["lin_row"] == ["lin_mac_rows"]
    for kernel in ("op_attention", "op_layernorm", "op_add", "op_upsample", "op_pool", "op_lif"):
        assert sites[kernel] == ["run_one"], (kernel, sites[kernel])  # the dispatcher
    assert sites["moe_route"] == ["op_moe_gate"]
    assert sorted(sites["lin_run"]) == ["op_conv", "op_linear", "op_moe_experts", "op_moe_gate"]
    assert "ALLOCATION function instances=edgemoe::lin_run<edgemoe::cfg> limit=1" in design_code
    assert set(engine_call_sites(design_code)) == set(ENGINES.values())


#: Vector-engine op kernel -> its DATAFLOW region and the region's processes.
_VECTOR_REGIONS = {
    "op_layernorm": ("ln_region", ("ln_fetch", "ln_unpack", "ln_stats", "ln_normalise",
                                   "vec_store_rows")),
    "op_add": ("add_region", ("add_load", "add_compute", "vec_store_rows")),
    "op_upsample": ("up_region", ("up_load", "up_blend", "up_store")),
    "op_pool": ("pool_region", ("pool_load", "pool_reduce", "vec_store_rows")),
    "op_lif": ("lif_region", ("lif_load", "lif_neurons", "lif_store")),
}


def test_vector_kernels_are_one_dataflow_region_each(design_code):
    """Each vector-engine kernel calls its region once, the region holds the DATAFLOW
    pragma and calls each of its processes once; the shared store process is one instance
    per region (a call site each) and the other processes belong to one region."""
    names = [n for region, procs in _VECTOR_REGIONS.values() for n in (region, *procs)]
    sites = engine_call_sites(design_code, names)
    for kernel, (region, procs) in _VECTOR_REGIONS.items():
        assert sites[region] == [kernel], (region, sites[region])
        assert all(sites[p].count(region) == 1 for p in procs), {p: sites[p] for p in procs}
        body = design_code[design_code.index(f"void {region}("):]
        assert "#pragma HLS DATAFLOW" in body[:body.index("\n}\n")], region
    stores = [r for r, procs in _VECTOR_REGIONS.values() if "vec_store_rows" in procs]
    assert sorted(sites["vec_store_rows"]) == sorted(stores)
    own = [p for _, procs in _VECTOR_REGIONS.values() for p in procs if p != "vec_store_rows"]
    assert all(len(sites[p]) == 1 for p in own), {p: sites[p] for p in own}


def test_op_kernels_are_the_op_table_handlers(design_code):
    assert set(op_kernels(design_code)) == {s.handler for s in OP_SPECS.values() if s.handler}


def test_only_pending_kernels_lack_a_region(design_code, monkeypatch):
    """Without the pending list, dataflow-kernel flags at most the kernels it names (and
    every entry names a real kernel): nothing else escapes the rule."""
    assert set(PENDING_DATAFLOW) <= set(op_kernels(design_code))
    monkeypatch.setattr(lint_dataflow, "PENDING_DATAFLOW", {})
    flagged = {re.search(r"op kernel (\w+)", p.message).group(1)
               for p in lint_hls_texts({"design.hpp": design_code}) if p.rule == "dataflow-kernel"}
    assert flagged <= set(PENDING_DATAFLOW), flagged


# ------------------------------------------------------------------ failing fixtures
_TOP_OK = """
void top(word_t* mem) {
#pragma HLS INTERFACE mode=m_axi port=mem bundle=gmem offset=slave depth=64 max_widen_bitwidth=128 max_read_burst_length=64 max_write_burst_length=64
}
"""

# a canonical DATAFLOW region: producer -> stream -> consumer, both looping to n
_PROC = """
void prod(hls::stream<int>& s, int n) {
P:
  for (int i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=8
#pragma HLS PIPELINE II=1
    s.write(i);
  }
}
void cons(hls::stream<int>& s, int* out, int n) {
C:
  for (int i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=8
#pragma HLS PIPELINE II=1
    out[i] = s.read();
  }
}
void peek(int* out, int n) {
K:
  for (int i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=8
#pragma HLS PIPELINE II=1
    out[i] += 1;
  }
}
"""
_REGION = _PROC + """
void region(int* out, int n, int m) {
#pragma HLS DATAFLOW
  hls::stream<int> s("s");
  prod(s, n);
  cons(s, out, n);
}
"""

# an op kernel on an m_axi port, called by the dispatcher, with its own canonical region
_KERNEL = _PROC + """
void region(word_t* mem, int* out, int n) {
#pragma HLS DATAFLOW
  hls::stream<int> s("s");
  prod(s, n);
  cons(s, out, n);
}
template <class CFG>
unsigned op_x(word_t* mem, int* out, int n) {
  region(mem, out, n);
  return 0;
}
template <class CFG>
unsigned run_one(word_t* mem, int* out, int n) {
  if (n > 0) return op_x<CFG>(mem, out, n);
  return 0;
}
"""

FIXTURES = {
    "label": (("void f(int a[4]) {\n  for (int i = 0; i < 4; i++) {\n#pragma HLS PIPELINE\n"
              "    a[i] = 0;\n  }\n}\n"),
              ("void f(int a[4]) {\nL:\n  for (int i = 0; i < 4; i++) {\n#pragma HLS PIPELINE\n"
              "    a[i] = 0;\n  }\n}\n")),
    "innermost": ("void f(int a[4]) {\nL:\n  for (int i = 0; i < 4; i++) {\n    a[i] = 0;\n  }\n}\n",
                  ("void f(int a[4]) {\nL:\n  for (int i = 0; i < 4; i++) {\n#pragma HLS UNROLL\n"
                  "    a[i] = 0;\n  }\n}\n")),
    "tripcount": (("void f(int a[4], int n) {\nL:\n  for (int i = 0; i < n; i++) {\n"
                  "#pragma HLS PIPELINE II=1\n    a[i] = 0;\n  }\n}\n"),
                  ("void f(int a[4], int n) {\nL:\n  for (int i = 0; i < n; i++) {\n"
                  "#pragma HLS LOOP_TRIPCOUNT max=4\n#pragma HLS PIPELINE II=1\n    a[i] = 0;\n"
                  "  }\n}\n")),
    "unroll-bound": (("void f(int a[4], int n) {\nO:\n  for (int i = 0; i < 4; i++) {\n"
                     "#pragma HLS PIPELINE II=1\n  I:\n    for (int j = 0; j < n; j++) {\n"
                     "#pragma HLS LOOP_TRIPCOUNT max=4\n      a[j] += i;\n    }\n  }\n}\n"),
                     ("void f(int a[4], int n) {\nO:\n  for (int i = 0; i < 4; i++) {\n"
                     "#pragma HLS PIPELINE II=1\n  I:\n    for (int j = 0; j < MAX_N; j++) {\n"
                     "      if (j < n) a[j] += i;\n    }\n  }\n}\n")),
    "axi-compact": (_TOP_OK.replace("}\n", "#pragma HLS AGGREGATE variable=mem compact=bit\n}\n"),
                    _TOP_OK),
    "m_axi-options": (_TOP_OK.replace(" depth=64", ""), _TOP_OK),
    "dataflow-canonical": (_REGION.replace("  prod(s, n);\n", "  if (n > 0) prod(s, n);\n"),
                           _REGION),
    "dataflow-stream": (_REGION.replace("  cons(s, out, n);\n", ""), _REGION),
    "dataflow-bypass": (_REGION.replace("  cons(s, out, n);\n", "  cons(s, out, n);\n"
                                        "  peek(out, n);\n"), _REGION),
    "dataflow-bounds": (_REGION.replace("  cons(s, out, n);\n", "  cons(s, out, m);\n"),
                        _REGION),
    "dataflow-kernel": (_KERNEL.replace("  region(mem, out, n);\n", "  peek(out, n);\n"), _KERNEL),
    "synthesizable": ("void f() {\n  float x = 1.0f;\n}\n", "void f() {\n  int x = 1;\n}\n"),
}


@pytest.mark.parametrize("rule", sorted(FIXTURES))
def test_rule_fails_on_its_fixture(rule):
    bad, good = FIXTURES[rule]
    problems = lint_hls_texts({"fixture.hpp": bad})
    assert rule in {p.rule for p in problems}, problems
    assert rule not in {p.rule for p in lint_hls_texts({"fixture.hpp": good})}
    assert "UG1399" in str(next(p for p in problems if p.rule == rule))


_ENGINE = """
template <class CFG>
void moe_route(int* mem) {
#pragma HLS INLINE off
}
template <class CFG>
void op_a(int* mem) {
#pragma HLS INLINE
  moe_route<CFG>(mem);
}
template <class CFG>
void op_b(int* mem) {
#pragma HLS INLINE
  moe_route<CFG>(mem);
}
void top(int* mem) {
#pragma HLS ALLOCATION function instances=moe_route<cfg> limit=1
  op_a<cfg>(mem);
  op_b<cfg>(mem);
}
"""


@pytest.mark.parametrize("broken,why", [
    (_ENGINE.replace("#pragma HLS ALLOCATION function instances=moe_route<cfg> limit=1\n", ""),
     "no ALLOCATION"),
    (_ENGINE.replace("void op_b(int* mem) {\n#pragma HLS INLINE\n", "void op_b(int* mem) {\n"),
     "not inlined"),
    (_ENGINE.replace("template <class CFG>\nvoid moe_route", "template <class CFG, class W>\n"
                     "void moe_route"), "templated on more than the design point"),
    (_ENGINE.replace("void moe_route(int* mem) {\n#pragma HLS INLINE off\n",
                     "void moe_route(int* mem) {\n"), "is not INLINE off"),
    # one call, but in an inlined function called twice: two instances
    (_ENGINE.replace("#pragma HLS ALLOCATION function instances=moe_route<cfg> limit=1\n", "")
     .replace("  op_b<cfg>(mem);\n", "  op_a<cfg>(mem);\n")
     .replace("  moe_route<CFG>(mem);\n}\nvoid top", "}\nvoid top"), "has 2 call sites"),
])
def test_engine_rule_fails(broken, why):
    assert not [p for p in lint_hls_texts({"ok.hpp": _ENGINE}) if p.rule == "engine"]
    problems = [str(p) for p in lint_hls_texts({"bad.hpp": broken}) if p.rule == "engine"]
    assert any(why in p for p in problems), problems


_HELPER = """
void push(hls::stream<int>& out, int v) {
  out.write(v);
}
void prod(hls::stream<int>& s, int n) {
P:
  for (int i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT max=8
#pragma HLS PIPELINE II=1
    push(s, i);
  }
}
""" + _REGION[_REGION.index("void cons"):]


def test_stream_written_through_a_helper_has_its_producer():
    """A process that writes its stream through a helper is the stream's producer; a
    helper that only reads it does not make the process one."""
    assert "dataflow-stream" not in {p.rule for p in lint_hls_texts({"h.hpp": _HELPER})}
    reader = _HELPER.replace("  out.write(v);\n", "  v = out.read();\n")
    problems = [str(p) for p in lint_hls_texts({"h.hpp": reader}) if p.rule == "dataflow-stream"]
    assert problems and "writers none" in problems[0], problems


def test_kernel_without_an_m_axi_port_needs_no_region():
    no_port = FIXTURES["dataflow-kernel"][0].replace("unsigned op_x(word_t* mem,",
                                                     "unsigned op_x(int* mem,")
    assert "dataflow-kernel" not in {p.rule for p in lint_hls_texts({"k.hpp": no_port})}


def test_every_rule_has_a_fixture():
    assert set(RULES) == set(FIXTURES) | {"engine"}


@pytest.mark.parametrize("option", ["bundle", "max_widen_bitwidth", "max_read_burst_length",
                                    "max_write_burst_length"])
def test_m_axi_port_without_its_bundle_or_burst_settings_fails(option):
    broken = re.sub(rf" {option}=\S+", "", _TOP_OK)
    problems = [str(p) for p in lint_hls_texts({"top.cpp": broken}) if p.rule == "m_axi-options"]
    assert problems and option in problems[0]
