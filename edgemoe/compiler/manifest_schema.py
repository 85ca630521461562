"""Shape check of a ``manifest.json`` read from disk: every key the executors use, its type
and that every region lies inside the memory image, so a damaged manifest is reported by
key instead of failing somewhere inside a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..isa import INSTR_BYTES
from ..params.fixed import FixedType
from .taps import QUEUE_FORMAT


class ManifestError(ValueError):
    """A manifest or image that does not match what it is used with."""


def read_json(path: Path, error: type[Exception] = ManifestError) -> Any:
    """Parse a JSON file, naming the file in the error.

    Raises:
        error: The file cannot be read or is not JSON.
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise error(f"{path} is not valid JSON ({exc}): the file is damaged; write it "
                    "again (recompile, or re-run `edgemoe package`)") from None


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, what: str) -> ManifestError:
        return ManifestError(f"{self.source}: key '{key}' {what}: the manifest is damaged or "
                             "from another edgemoe version; recompile the model")

    def get(self, node: Any, key: str, kind: type | tuple[type, ...], path: str) -> Any:
        if not isinstance(node, dict):
            raise self.fail(path, "is not a JSON object")
        full = f"{path}.{key}" if path else key
        if key not in node:
            raise self.fail(full, "is missing")
        value = node[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(full, f"is {type(value).__name__}, expected {names}")
        return value

    def offset(self, node: Any, key: str, path: str, nbytes: int, size: int) -> int:
        value = self.get(node, key, int, path)
        if value < 0 or value + nbytes > size:
            raise self.fail(f"{path}.{key}", f"= {value} puts {nbytes} bytes outside the "
                                             f"{size}-byte memory image")
        return value

    def tensor(self, node: Any, path: str, size: int, dims: int | None = None) -> None:
        """A tensor spec: positive shape (``dims`` of them when given), format, offset."""
        shape = self.get(node, "shape", list, path)
        if not shape or (dims is not None and len(shape) != dims) \
                or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                           for d in shape):
            raise self.fail(f"{path}.shape", f"= {shape} is not "
                                             f"{dims or 'a list of'} positive integers")
        spelling = self.get(node, "format", str, path)
        try:
            fmt = FixedType.parse(spelling)
        except ValueError as exc:
            raise self.fail(f"{path}.format", f"= {spelling!r} is not a format ({exc})") from None
        count = 1
        for d in shape:
            count *= d
        self.offset(node, "offset", path, count * np.dtype(fmt.storage_dtype).itemsize, size)


def check_manifest(manifest: Any, source: str = "manifest.json") -> None:
    """Check the keys, types and ranges of a manifest.

    Raises:
        ManifestError: Naming ``source`` and the first bad key.
    """
    c = _Checker(source)
    if not isinstance(manifest, dict):
        raise ManifestError(f"{source} holds a JSON {type(manifest).__name__}, not an object: "
                            "the manifest is damaged; recompile the model")
    for key in ("config_id", "accel", "model", "weights_digest"):
        c.get(manifest, key, str, "")
    c.get(manifest, "version", int, "")
    size = c.get(manifest, "image_bytes", int, "")
    regions = c.get(manifest, "regions", dict, "")
    for name in ("weights", "program", "status"):
        c.get(regions, name, list, "regions")
    for name, span in regions.items():  # image comparisons walk every region
        if not isinstance(span, list) or len(span) != 2 or not all(
                type(v) is int and v >= 0 for v in span) or span[0] + span[1] > size:
            raise c.fail(f"regions.{name}", f"= {span} is not [offset, bytes] inside the image")
    program = c.get(manifest, "program", dict, "")
    n = c.get(program, "n_instructions", int, "program")
    if n < 0:
        raise c.fail("program.n_instructions", f"= {n} is negative")
    c.offset(program, "offset", "program", n * INSTR_BYTES, size)
    names = program.get("names")
    if names is not None and (not isinstance(names, list) or len(names) != n
                              or not all(isinstance(v, str) for v in names)):
        raise c.fail("program.names", f"is not a list of {n} instruction names")
    shared = program.get("shared_prefix", 0)
    if type(shared) is not int or not 0 <= shared < max(n, 1):
        raise c.fail("program.shared_prefix", f"= {shared!r} is not an instruction index "
                     f"in [0, {n})")
    status = c.get(manifest, "status", dict, "")
    c.offset(status, "offset", "status", (n + 1) * INSTR_BYTES, size)
    pixels = c.get(c.get(manifest, "inputs", dict, ""), "pixels", dict, "inputs")
    c.tensor(pixels, "inputs.pixels", size, 3)
    tasks = c.get(manifest, "tasks", list, "")
    outputs = c.get(manifest, "outputs", dict, "")
    if not tasks or not all(isinstance(t, str) for t in tasks):
        raise c.fail("tasks", f"= {tasks} is not a list of task names")
    for i, task in enumerate(tasks):
        spec = c.get(outputs, task, dict, "outputs")
        c.tensor(spec, f"outputs.{task}", size)  # (H, W, C) maps, or (tokens, dim)
        index = c.get(spec, "task_index", int, f"outputs.{task}")
        if not 0 <= index < len(tasks):
            raise c.fail(f"outputs.{task}.task_index", f"= {index} is not 0..{len(tasks) - 1}")
    # every lowering writes taps (the token tensor x at least); the host reads them
    if "taps" not in manifest:
        raise c.fail("taps", "is missing")
    _check_taps(c, manifest["taps"], size)


def _check_taps(c: _Checker, taps: Any, size: int) -> None:
    """The token tensor and the compiled-in tap tensors (``--dump``)."""
    shape = c.get(taps, "x_shape", list, "taps")
    # the activation format is the design point's: check at least one byte per element here
    c.tensor({"shape": shape, "format": "ap_fixed<8,1>", "offset": c.get(taps, "x", int, "taps")},
             "taps.x", size, 2)
    tensors = taps.get("tensors", {})
    if not isinstance(tensors, dict):
        raise c.fail("taps.tensors", "is not a JSON object")
    for name, spec in tensors.items():
        c.get(spec, "task_mask", int, f"taps.tensors.{name}")
        if c.get(spec, "format", str, f"taps.tensors.{name}") == QUEUE_FORMAT:
            spec = {**spec, "format": "ap_int<32>"}  # queue words are 32-bit
        c.tensor(spec, f"taps.tensors.{name}", size)
