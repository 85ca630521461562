"""A compiled program: the memory image, the decoded instructions and the manifest.

The manifest (JSON) is the contract between the compiler, every executor and the host:
config_id, image size, regions, program location, input and output tensors with their
formats, the status block, debug taps and a digest of the weights region.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..isa import Instr, Op, decode
from ..numerics import numerics_digest
from .manifest_schema import ManifestError, check_manifest, read_json
from .quantize import QuantReport

MANIFEST_VERSION = 1


@dataclass
class Compiled:
    """Everything an executor needs to run a model: image + manifest (+ instructions)."""

    image: np.ndarray
    manifest: dict
    instrs: list[Instr] = field(default_factory=list)
    effective_weights: dict = field(default_factory=dict)
    report: QuantReport = field(default_factory=QuantReport)

    @property
    def program_offset(self) -> int:
        return self.manifest["program"]["offset"]

    @property
    def n_instructions(self) -> int:
        return self.manifest["program"]["n_instructions"]

    @property
    def shared_prefix(self) -> int:
        """Instructions every task shares: a later task on the same image starts here."""
        return int(self.manifest["program"].get("shared_prefix", 0))

    @property
    def status_offset(self) -> int:
        return self.manifest["status"]["offset"]

    def fresh_image(self) -> np.ndarray:
        """A writable copy of the initial memory image."""
        return self.image.copy()

    def save(self, directory: str | Path) -> Path:
        """Write ``image.bin`` and ``manifest.json`` into ``directory``."""
        from ..host.outdir import atomic_path  # host imports compiler

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        # Both files are written under temporary names and renamed only when both are
        # complete: an interrupted save leaves the previous pair (or nothing).
        with atomic_path(d / "image.bin") as image_tmp, \
                atomic_path(d / "manifest.json") as manifest_tmp:
            self.image.tofile(image_tmp)
            manifest_tmp.write_text(self.manifest_json())
        return d

    def manifest_json(self) -> str:
        """The manifest as written to ``manifest.json``."""
        return json.dumps(self.manifest, indent=1, sort_keys=True)

    @classmethod
    def load(cls, directory: str | Path) -> Compiled:
        """Read a program saved by :meth:`save`, checking the image against the manifest."""
        d = Path(directory)
        for name in ("manifest.json", "image.bin"):
            if not (d / name).is_file():
                raise ManifestError(f"{d / name} is missing: compile the model first "
                                    "(`edgemoe compile ... --out DIR`)")
        manifest = read_json(d / "manifest.json")
        check_manifest(manifest, str(d / "manifest.json"))
        image = np.fromfile(d / "image.bin", dtype=np.uint8)
        check_image(manifest, image)
        p = manifest["program"]
        instrs = decode(image[p["offset"]:p["offset"] + 64 * p["n_instructions"]].tobytes())
        return cls(image, manifest, instrs)


def weights_digest(image: np.ndarray, manifest: dict) -> str:
    """sha256 (16 hex chars) of the weights region."""
    off, size = manifest["regions"]["weights"]
    return hashlib.sha256(image[off:off + size].tobytes()).hexdigest()[:16]


def check_image(manifest: dict, image: np.ndarray) -> None:
    """Raise ManifestError when the image does not belong to the manifest."""
    if isinstance(manifest, dict) and manifest.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"manifest version {manifest.get('version')} is not "
                            f"{MANIFEST_VERSION}: recompile the model with this edgemoe")
    check_manifest(manifest)
    if image.size != manifest["image_bytes"]:
        raise ManifestError(f"memory image has {image.size} bytes but the manifest says "
                            f"{manifest['image_bytes']}: the files come from different compiles")
    if weights_digest(image, manifest) != manifest["weights_digest"]:
        raise ManifestError("the weights in the memory image do not match the manifest's "
                            "weights_digest: recompile, or pass the matching manifest")


def manifest_frame(model, accel, layout) -> dict:
    """The manifest keys every lowered model has (identity, regions, program, status, the
    pixel input); the lowering adds its outputs, tasks and taps."""
    return {
        "version": MANIFEST_VERSION,
        "config_id": accel.config_id,
        "numerics_digest": numerics_digest(),
        "accel": accel.name,
        "model": model.name,
        "image_bytes": int(layout.image.size),
        "regions": {k: [int(o), int(s)] for k, (o, s) in layout.regions.items()},
        "program": {"offset": layout.regions["program"][0], "n_instructions": len(layout.instrs),
                    "names": [ins.comment or Op(ins.op).name.lower() for ins in layout.instrs]},
        "status": {"offset": layout.regions["status"][0], "bytes": 64, "profile_entry_bytes": 64},
        "inputs": {"pixels": {"offset": layout.symbols["pixels"],
                              "format": accel.formats.pixel.cpp(),
                              "shape": [model.in_chans, model.image_height, model.image_width],
                              "layout": "CHW"}},
    }


def build_manifest(model, accel, layout, taps: dict, heads: bool = True,
                   tap_specs: dict | None = None) -> dict:
    """The manifest of a lowered model (``heads=False``: backbone only, token outputs;
    ``tap_specs``: the copied-out intermediate tensors, see compiler/taps.py)."""
    sym, act = layout.symbols, accel.formats.act
    if heads:
        outputs = {t.name: {"offset": sym[f"out.{t.name}"], "format": act.cpp(),
                            "shape": [model.image_height, model.image_width, t.channels],
                            "layout": "HWC", "task_index": i}
                   for i, t in enumerate(model.tasks)}
    else:  # backbone only: every task's output is the token tensor (tokens, dim)
        outputs = {t.name: {"offset": layout.tensors["x"][0], "format": act.cpp(),
                            "shape": [model.num_tokens, model.dim], "layout": "TOKENS",
                            "task_index": i}
                   for i, t in enumerate(model.tasks)}
    manifest = manifest_frame(model, accel, layout)
    # a later task on the same image may start here (0: never)
    manifest["program"]["shared_prefix"] = layout.shared_prefix
    manifest.update({
        "outputs": outputs,
        "tasks": [t.name for t in model.tasks],
        "taps": {"x": layout.tensors["x"][0], "x_shape": [model.num_tokens, model.dim],
                 "after": taps,
                 "tensors": {name: {"offset": sym[spec["symbol"]], "shape": spec["shape"],
                                    "format": spec["format"], "task_mask": spec["task_mask"]}
                             for name, spec in (tap_specs or {}).items()}},
    })
    manifest["weights_digest"] = weights_digest(layout.image, manifest)
    return manifest
