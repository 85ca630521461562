"""`edgemoe hls` reads Vitis HLS's csynth.xml and co-simulation report (fixtures in the
documented layout under tests/data/hls_solution; their figures are invented)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemoe.cli import main
from edgemoe.flow.hls_report import (
    HlsReportError,
    find_reports,
    parse_cosim_report,
    parse_csynth_xml,
)

pytestmark = pytest.mark.unit

SOLUTION = Path(__file__).parent / "data" / "hls_solution"
CSYNTH = SOLUTION / "syn" / "report" / "csynth.xml"
COSIM = SOLUTION / "sim" / "report" / "edgemoe_top_cosim.rpt"


def test_parse_csynth_and_cosim():
    csynth, cosim = find_reports(SOLUTION, "edgemoe_top")
    assert (csynth, cosim) == (CSYNTH, COSIM)
    rep = parse_csynth_xml(csynth, cosim)
    assert (rep.top, rep.part) == ("edgemoe_top", "xczu9eg-ffvb1156-2-e")
    assert (rep.target_ns, rep.estimated_ns) == (3.33, 2.914)
    assert (rep.latency_best, rep.latency_worst) == (57, None)  # "undef" is unbounded
    assert (rep.interval_min, rep.interval_max) == (58, None)
    # 301 BRAM_18K are 151 BRAM36 (halves rounded up)
    assert rep.measured() == {"lut": 162224, "ff": 141310, "dsp": 1060, "bram36": 151, "uram": 0}
    assert [(lp.name, lp.depth, lp.trip_count, lp.latency, lp.ii, lp.pipeline_depth)
            for lp in rep.loops] == [("DISPATCH_INSTRUCTIONS", 0, 256, None, None, None),
                                     ("DISPATCH_PROF_CLEAR", 1, 8, 9, 1, 2)]
    c = rep.cosim
    assert (c.rtl, c.status, c.latency_min, c.latency_avg, c.latency_max) == \
        ("Verilog", "Pass", 1834417, 1834417, 1834417)
    assert (c.interval_min, c.interval_max) == (None, None)


def test_older_dsp48e_tag(tmp_path):
    xml = tmp_path / "csynth.xml"
    xml.write_text(CSYNTH.read_text().replace("<DSP>1060</DSP>", "<DSP48E>77</DSP48E>"))
    assert parse_csynth_xml(xml).resources["dsp"] == 77


@pytest.mark.parametrize("text,what", [
    ("<profile><AreaEstimates>", "not well-formed XML"),
    ("<profile/>", "no <AreaEstimates/Resources>"),
    ("<profile><AreaEstimates><Resources/></AreaEstimates></profile>", "no <UserAssignments"),
])
def test_bad_csynth_names_the_problem(tmp_path, text, what):
    bad = tmp_path / "csynth.xml"
    bad.write_text(text)
    with pytest.raises(HlsReportError, match=what):
        parse_csynth_xml(bad)


def test_cosim_without_result(tmp_path):
    rpt = tmp_path / "edgemoe_top_cosim.rpt"
    rpt.write_text(COSIM.read_text().replace("|Verilog|    Pass|", "|Verilog|      NA|"))
    with pytest.raises(HlsReportError, match="no Verilog/VHDL result row"):
        parse_cosim_report(rpt)
    with pytest.raises(HlsReportError, match="does not exist"):
        parse_cosim_report(tmp_path / "missing.rpt")


def test_cli_prints_the_synth_table(capsys):
    assert main(["hls", "--accel", "edge-moe-zcu102", "--report-only",
                 "--solution", str(SOLUTION)]) == 0
    out = capsys.readouterr().out
    assert "resource  vitis   model estimate" in out
    assert "LUT       162224" in out and "BRAM36    151" in out
    assert "co-simulation (Verilog): Pass, latency 1,834,417" in out
    assert "  DISPATCH_PROF_CLEAR  8" in out


def test_cli_without_reports_says_what_to_run(tmp_path, capsys):
    assert main(["hls", "--accel", "tiny", "--report-only", "--solution", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "edgemoe hls --accel tiny --steps csynth" in err and "Traceback" not in err
