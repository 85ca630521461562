"""Helpers of the CLI fuzz suite: a workspace of valid inputs, corruptions, outcome checks.

The fuzz suite calls ``edgemoe.cli.main`` in-process.  Tools that take minutes (g++ C-sim
builds, Verilator, Yosys, Vitis, benchmarks, ssh) are replaced by stubs that raise the
error the real tool raises when it is missing, so every case exercises argument checking
and input-file handling, and nothing more expensive than a golden run of m3vit-micro.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgemoe.cli import main
from edgemoe.compiler import compile_model
from edgemoe.host.fake_device import make_fake_package
from edgemoe.host.hwh import write_hwh
from edgemoe.models import random_weights, save_weights
from edgemoe.params import config_dir, load_accel, load_model

#: Name fragment of the temporary files outputs are written to before the rename.
TEMP_MARK = ".edgemoe-tmp"


@dataclass(frozen=True)
class Workspace:
    """Valid inputs every case starts from (copied before a case corrupts one)."""

    root: Path
    design: Path
    package: Path
    bit: Path
    hwh: Path
    npz: Path
    safetensors: Path
    png: Path
    png16: Path
    accel_yaml: Path


def make_workspace(root: Path) -> Workspace:
    """Compile m3vit-micro for ``tiny`` and write every kind of input file once."""
    from PIL import Image

    model, accel = load_model("m3vit-micro"), load_accel("tiny")
    compiled = compile_model(model, accel)
    design = compiled.save(root / "design")
    package = make_fake_package(compiled, accel, root / "pkgsrc")
    bit = root / "x.bit"
    bit.write_bytes(b"\xff" * 64)
    hwh = root / "x.hwh"
    write_hwh(hwh, clock_mhz=accel.clock_mhz)
    weights = random_weights(model, 3)
    save_weights(weights, root / "w.npz")
    save_weights(weights, root / "w.safetensors")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 72, 3), dtype=np.uint8)).save(root / "a.png")
    Image.fromarray(rng.integers(0, 65536, (32, 64), dtype=np.uint16)).save(root / "b16.png")
    shutil.copyfile(config_dir() / "accel" / "tiny.yaml", root / "tiny.yaml")
    return Workspace(root, design, package, bit, hwh, root / "w.npz", root / "w.safetensors",
                     root / "a.png", root / "b16.png", root / "tiny.yaml")


# -- corruptions -----------------------------------------------------------------------------

def truncate(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of ``data`` (a partial copy or an interrupted write)."""
    return data[:int(len(data) * fraction)]


def flip(data: bytes, position: float, value: int) -> bytes:
    """``data`` with the byte at relative ``position`` replaced by ``value``."""
    if not data:
        return bytes([value])
    i = min(int(len(data) * position), len(data) - 1)
    return data[:i] + bytes([value]) + data[i + 1:]


def json_paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path of a JSON document (the root is ``()``)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += json_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:4]):
            out += json_paths(v, (*prefix, i))
    return out


def replace_at(doc: object, path: tuple, value: object, delete: bool = False) -> object:
    """``doc`` with the node at ``path`` replaced by ``value`` (or deleted)."""
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def rewrite_npz_member(data: bytes, keep: int) -> bytes:
    """A zip that keeps only the first ``keep`` members of an ``.npz`` (missing tensors)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for name in src.namelist()[:keep]:
            dst.writestr(name, src.read(name))
    return buf.getvalue()


# -- outcomes --------------------------------------------------------------------------------

#: Outcome of every case run so far in this process (for the report of the suite).
OUTCOMES: Counter = Counter()


@dataclass(frozen=True)
class Outcome:
    """What one CLI call did."""

    code: int | None
    exception: str | None
    stdout: str
    stderr: str

    @property
    def label(self) -> str:
        if self.exception:
            return f"traceback {self.exception}"
        return f"exit {self.code}"


def invoke(argv: list[str]) -> Outcome:
    """Run ``edgemoe argv`` in-process; an exception escaping main is a traceback."""
    out, err = io.StringIO(), io.StringIO()
    code, exc_name = None, None
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the finding: a traceback reaches the user
            exc_name = type(exc).__name__
    result = Outcome(code, exc_name, out.getvalue(), err.getvalue())
    OUTCOMES[result.label] += 1
    return result


def check_outcome(result: Outcome, argv: list[str]) -> None:
    """Exit 0 or 2, no traceback, and a one-line error naming the verb on exit 2."""
    assert result.exception is None, f"{result.exception} escaped for {argv}"
    assert result.code in (0, 2), f"exit {result.code} for {argv}: {result.stderr[-400:]}"
    assert "Traceback" not in result.stderr, f"traceback for {argv}: {result.stderr[-600:]}"
    if result.code == 2:
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert errors, f"exit 2 without an error line for {argv}: {result.stderr[-400:]}"


def check_complete_files(folder: Path) -> None:
    """Every file under ``folder`` is complete: no temporaries, readable PNG/npz/JSON."""
    from PIL import Image

    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_dir():
            continue
        assert TEMP_MARK not in path.name, f"temporary file left behind: {path}"
        if path.suffix == ".png":
            with Image.open(path) as im:
                im.load()
        elif path.suffix == ".npz":
            with np.load(path) as data:
                for key in data.files:
                    _ = data[key]  # decompresses the member
        elif path.suffix == ".json":
            json.loads(path.read_text())
