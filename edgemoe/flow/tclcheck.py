"""Run a generated Vivado/Vitis Tcl script through a real Tcl interpreter with every vendor
command stubbed out: catches what breaks a script before the tool sees it (unbalanced
braces or quotes, bad ``expr``/``if`` syntax, unknown variables), without Vivado.

The interpreter is Python's own Tcl (``tkinter.Tcl()``, no display needed) or, when
Python was built without it, ``tclsh`` (Debian package ``tcl``).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .aptypes import ToolNotFoundError

__all__ = ["TclCheckError", "check_tcl", "tcl_interpreter"]

log = logging.getLogger(__name__)

# Vendor commands return "" (unknown), except the few whose result the scripts test.
# `unknown` is replaced so no stubbed name ever reaches exec.
_STUBS = r"""
proc unknown {args} { return "" }
proc get_property {args} { return "100%" }
proc glob {args} { return [list stub/path] }
rename file _edgemoe_file
proc file {cmd args} {
  if {$cmd in {copy delete mkdir rename}} { return "" }
  return [_edgemoe_file $cmd {*}$args]
}
rename puts _edgemoe_puts
proc puts {args} {}
proc exit {args} {}
set argv {}
set argc 0
"""


class TclCheckError(ValueError):
    """The script does not run under Tcl (message: the Tcl error and its line)."""


def _where(info: str, path: Path) -> str:
    """``line N`` of the script from a Tcl errorInfo trace."""
    lines = re.findall(rf'\(file "[^"]*{re.escape(path.name)}" line (\d+)\)', info)
    return f"line {lines[-1]}" if lines else "unknown line"


def tcl_interpreter() -> str:
    """``"tkinter"`` or the path of ``tclsh``; raises ToolNotFoundError when neither exists."""
    try:
        import tkinter
    except ImportError as exc:
        log.debug("no tkinter (%s); trying tclsh", exc)
    else:
        try:
            tkinter.Tcl()
            return "tkinter"
        except tkinter.TclError as exc:  # _tkinter without a usable Tcl library
            log.debug("tkinter has no Tcl (%s); trying tclsh", exc)
    tclsh = shutil.which("tclsh")
    if tclsh:
        return tclsh
    raise ToolNotFoundError("no Tcl interpreter: Python lacks tkinter and tclsh is not on PATH; "
                            "install one (apt-get install tcl)")


def check_tcl(path: Path | str) -> None:
    """Run ``path`` with stubbed vendor commands.

    Raises:
        TclCheckError: Tcl rejected the script (syntax or run-time error).
        ToolNotFoundError: no Tcl interpreter (see :func:`tcl_interpreter`).
    """
    path = Path(path)
    interp = tcl_interpreter()
    if interp == "tkinter":
        import tkinter

        tcl = tkinter.Tcl()
        tcl.eval(_STUBS)
        try:
            tcl.eval(f"source {{{path}}}")
        except tkinter.TclError as exc:
            info = tcl.eval("set errorInfo")
            raise TclCheckError(f"{path.name}, {_where(info, path)}: Tcl error: "
                                f"{str(exc).splitlines()[0]}") from None
        return
    with tempfile.TemporaryDirectory(prefix="edgemoe-tcl-") as tmp:
        wrapper = Path(tmp) / "check.tcl"
        wrapper.write_text(_STUBS + f"\nsource {{{path}}}\n")
        proc = subprocess.run([interp, str(wrapper)], capture_output=True, text=True,
                              timeout=60, check=False)
    if proc.returncode != 0:
        err = proc.stderr.strip() or "tclsh failed"
        raise TclCheckError(f"{path.name}, {_where(err, path)}: Tcl error: {err.splitlines()[0]}")
    log.debug("tcl check of %s passed", path)
