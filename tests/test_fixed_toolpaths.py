"""Locating the ap_types headers for C simulation (edgemoe.flow.aptypes)."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from edgemoe.flow import ToolNotFoundError, ap_types_include_dir, cxx_flags

pytestmark = pytest.mark.unit


def test_xilinx_hls_include_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "ap_fixed.h").write_text("// stub\n")
    monkeypatch.setenv("XILINX_HLS", str(tmp_path))
    assert ap_types_include_dir() == tmp_path / "include"
    assert cxx_flags() == ["-std=c++14", "-isystem", str(tmp_path / "include"),
                           "-Wno-unknown-pragmas"]


def test_falls_back_to_hls4ml_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("XILINX_HLS", str(tmp_path))  # no include/ap_fixed.h there
    with caplog.at_level(logging.WARNING, logger="edgemoe.flow.aptypes"):
        found = ap_types_include_dir()
    assert found.parts[-4:] == ("hls4ml", "templates", "vivado", "ap_types")
    assert (found / "ap_fixed.h").is_file() and (found / "ap_int.h").is_file()
    assert "no include/ap_fixed.h" in caplog.text
    monkeypatch.delenv("XILINX_HLS")
    assert ap_types_include_dir() == found


def test_missing_headers_name_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.delenv("XILINX_HLS", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hls4ml" else real(name, *a))
    with pytest.raises(ToolNotFoundError, match=r"pip install 'edgemoe\[csim\]'"):
        ap_types_include_dir()
    with pytest.raises(ToolNotFoundError):
        cxx_flags()


def test_lookup_does_not_import_hls4ml() -> None:
    code = ("import sys; from edgemoe.flow import ap_types_include_dir; "
            "ap_types_include_dir(); print('hls4ml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"
