"""Deploy packages: ``bitstreams/<name>/`` = bitstream + handoff + program + build info.

A package holds ``<name>.bit``, ``<name>.hwh``, ``manifest.json``, ``image.bin`` (weights
and program), ``accel.json`` (the resolved design point, so the board needs no configs to
check config_id) and ``buildinfo.json`` (versions, time, source hash and the sha256 of
every file, checked whenever the package is opened).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import platform
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from .. import __version__
from ..compiler import Compiled, ManifestError
from ..params import AccelConfig
from .design import ACCEL_FILE, BUILDINFO, hwh_has_ip, resolve_accel, sha256_file
from .errors import OutputError, PackageError
from .outdir import OutputDir
from .registers import TOP_NAME, VLNV, missing_registers

log = logging.getLogger(__name__)

PACKAGE_FILES = ("manifest.json", "image.bin", ACCEL_FILE)


def accel_mapping(accel: AccelConfig) -> dict:
    """The design point as the mapping ``accel_from_mapping`` reads (board by key)."""
    doc = accel.to_dict()
    doc.pop("name", None)
    doc["board"] = accel.board.key
    return doc


def source_hash() -> str:
    """sha256 over the edgemoe Python sources and configs (what built the program)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.py"))
    configs = root.parent / "configs"
    if configs.is_dir():
        files += sorted(configs.rglob("*.yaml"))
    for path in files:
        digest.update(path.relative_to(root.parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def hwh_registers(hwh: Path) -> set[str]:
    """Register names of our IP in a ``.hwh`` (empty when the IP is absent)."""
    root = ET.parse(hwh).getroot()
    for mod in root.iter("MODULE"):
        vlnv = mod.get("VLNV") or ""
        if vlnv == VLNV or vlnv.split(":")[2:3] == [TOP_NAME]:
            return {r.get("NAME") for r in mod.iter("REGISTER")}
    return set()


def check_hwh(hwh: Path) -> None:
    """Check that a ``.hwh`` describes an ``edgemoe_top`` with the registers we drive.

    Raises:
        PackageError: No such IP, or registers missing.
    """
    if not hwh_has_ip(hwh):
        raise PackageError(f"{hwh} describes no {TOP_NAME} IP (VLNV {VLNV}): the bitstream was "
                           "not built from an edgemoe design; pass the .hwh of the right build")
    missing = sorted(missing_registers(hwh_registers(hwh)))
    if missing:
        raise PackageError(f"{hwh}: {TOP_NAME} lacks registers {', '.join(missing)}: the "
                           "bitstream was built from another HLS top; rebuild it from this "
                           "edgemoe version")


def make_package(bit: str | Path, hwh: str | Path, design: str | Path, out: str | Path, *,
                 accel: AccelConfig | str | None = None, allow_rename: bool = False,
                 overwrite: bool = False) -> Path:
    """Assemble a deploy package.

    Args:
        bit: Bitstream from Vivado.
        hwh: Hardware handoff of the same Vivado run.
        design: Compiled design directory (``manifest.json`` + ``image.bin``).
        out: Package directory ``bitstreams/<name>``; files are named ``<name>.bit/.hwh``.
        accel: Design point override (else the one named in the manifest).
        allow_rename: Accept a ``.bit`` and ``.hwh`` with different basenames (Vivado's
            ``design_1_wrapper.bit`` and ``design_1.hwh``); both are renamed to ``<name>``.
        overwrite: Replace a package edgemoe wrote in ``out`` earlier (a folder holding
            other files, or any input, is never removed).

    Returns:
        The package directory.

    Raises:
        PackageError: Missing files, basename mismatch, a handoff without our IP, an image
            that does not match its manifest, a design point with another config_id, or an
            ``out`` that holds files of another run or an input.
    """
    bit, hwh, design, out = Path(bit), Path(hwh), Path(design), Path(out)
    for path, what in ((bit, "bitstream"), (hwh, "hardware handoff (.hwh)")):
        if not path.is_file():
            raise PackageError(f"{what} {path} does not exist: pass the file Vivado wrote")
    if bit.suffix != ".bit" or hwh.suffix != ".hwh":
        raise PackageError(f"expected a .bit and a .hwh, got {bit.name} and {hwh.name}")
    if bit.stem != hwh.stem and not allow_rename:
        raise PackageError(f"{bit.name} and {hwh.name} have different basenames: pynq pairs a "
                           "bitstream with the .hwh of the same basename; if both come from the "
                           "same Vivado run pass --rename (they become <name>.bit/.hwh)")
    check_hwh(hwh)
    try:
        compiled = Compiled.load(design)
    except ManifestError as exc:
        raise PackageError(f"{design}: {exc}") from None
    resolved = resolve_accel(compiled.manifest, design, accel)
    try:
        folder = OutputDir(out, "package", overwrite=overwrite, inputs=(bit, hwh, design),
                           listing=BUILDINFO)
    except OutputError as exc:
        raise PackageError(str(exc)) from None
    try:  # a package is all or nothing: an interrupted one leaves no folder behind
        _write_package(folder, compiled, resolved, bit, hwh, design)
    except BaseException:
        folder.discard()
        raise
    return out


def _write_package(folder: OutputDir, compiled: Compiled, resolved: AccelConfig, bit: Path,
                   hwh: Path, design: Path) -> None:
    """Copy the files of a package into ``folder``, ``buildinfo.json`` last."""
    out = folder.path
    name = out.name
    for src, dst in ((bit, f"{name}.bit"), (hwh, f"{name}.hwh")):
        with folder.file(dst) as tmp:
            shutil.copyfile(src, tmp)
    with folder.file("image.bin") as tmp:
        compiled.image.tofile(tmp)
    with folder.file("manifest.json") as tmp:
        tmp.write_text(compiled.manifest_json())
    with folder.file(ACCEL_FILE) as tmp:
        tmp.write_text(json.dumps(accel_mapping(resolved), indent=1, sort_keys=True))
    files = [f"{name}.bit", f"{name}.hwh", *PACKAGE_FILES]
    info = {
        "name": name,
        "config_id": compiled.manifest["config_id"],
        "accel": resolved.name,
        "model": compiled.manifest["model"],
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"edgemoe": __version__, "python": platform.python_version(),
                     "numpy": np.__version__, "pynq": _version("pynq")},
        "source_sha256": source_hash(),
        "inputs": {"bit": str(bit.resolve()), "hwh": str(hwh.resolve()),
                   "design": str(design.resolve())},
        "files": {f: sha256_file(out / f) for f in files},
    }
    with folder.file(BUILDINFO) as tmp:  # last: it marks the folder as a complete package
        tmp.write_text(json.dumps(info, indent=1, sort_keys=True))
    log.info("packaged %s (config_id %s) into %s", compiled.manifest["model"],
             info["config_id"], out)
