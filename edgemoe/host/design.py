"""What an accelerator runs: a compiled program + memory image + manifest (+ bitstream).

Sources: a deploy package ``bitstreams/<name>/`` (``<name>.bit``, ``<name>.hwh``,
``manifest.json``, ``image.bin``, ``buildinfo.json``, ``accel.json``), a compiled design
directory (:meth:`edgemoe.compiler.Compiled.save`: ``manifest.json`` + ``image.bin``) or a
:class:`~edgemoe.compiler.Compiled` object.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

from ..compiler import Compiled, ManifestError, check_image
from ..compiler.manifest_schema import check_manifest, read_json
from ..isa import Instr, Op, decode
from ..numerics import numerics_digest
from ..params import AccelConfig, ConfigError, load_accel
from ..params.accel import accel_from_mapping
from .errors import ConfigIdMismatch, PackageError
from .registers import TOP_NAME, VLNV

log = logging.getLogger(__name__)

BUILDINFO = "buildinfo.json"
ACCEL_FILE = "accel.json"


@dataclass(frozen=True, eq=False)
class Design:
    """A program ready to place on an executor.

    Attributes:
        manifest: The compiler's manifest (config_id, regions, inputs, outputs, ...).
        image: Initial memory image (uint8; weights + program); never modified.
        accel: Design point the program was compiled for.
        instrs: Decoded instructions.
        names: One display name per instruction (for profiles and error messages).
        root: Directory the design was read from (None for an in-memory Compiled).
        bitfile: ``<name>.bit`` of a deploy package, else None.
        hwh: ``<name>.hwh`` of a deploy package, else None.
        buildinfo: Parsed ``buildinfo.json`` of a deploy package, else None.
    """

    manifest: dict
    image: np.ndarray
    accel: AccelConfig
    instrs: tuple[Instr, ...]
    names: tuple[str, ...]
    root: Path | None = None
    bitfile: Path | None = None
    hwh: Path | None = None
    buildinfo: dict | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        """Task names in task-index order."""
        return tuple(self.manifest["tasks"])

    @property
    def config_id(self) -> str:
        """The manifest's config_id (8 hex digits)."""
        return str(self.manifest["config_id"])

    @property
    def program_offset(self) -> int:
        return int(self.manifest["program"]["offset"])

    @property
    def n_instructions(self) -> int:
        return int(self.manifest["program"]["n_instructions"])

    @property
    def shared_prefix(self) -> int:
        """Instructions every task computes alike: a later task on the same image skips
        them (0: the program has no shared prefix)."""
        return int(self.manifest["program"].get("shared_prefix", 0))

    @property
    def status_offset(self) -> int:
        return int(self.manifest["status"]["offset"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the pixel input."""
        c, h, w = self.manifest["inputs"]["pixels"]["shape"]
        return int(c), int(h), int(w)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hwh_has_ip(hwh: Path) -> bool:
    """True when the ``.hwh`` has a module of our IP (VLNV, or any vendor's ``edgemoe_top``)."""
    try:
        root = ET.parse(hwh).getroot()
    except ET.ParseError as exc:
        raise PackageError(f"{hwh} is not valid XML ({exc}): copy the .hwh Vivado wrote "
                           "(hw_handoff/design_1.hwh) next to the bitstream") from None
    for mod in root.iter("MODULE"):
        vlnv = mod.get("VLNV") or ""
        if vlnv == VLNV or vlnv.split(":")[2:3] == [TOP_NAME]:
            return True
    return False


def package_files(directory: Path) -> tuple[Path, Path]:
    """The (.bit, .hwh) pair of a deploy package, checking names.

    Raises:
        PackageError: No or several bitstreams, a missing ``.hwh`` or a ``.bit``/``.hwh``
            basename mismatch.
    """
    bits = sorted(directory.glob("*.bit"))
    hwhs = sorted(directory.glob("*.hwh"))
    if not bits:
        raise PackageError(f"{directory} holds no .bit file: a deploy package holds "
                           f"{directory.name}.bit and {directory.name}.hwh; assemble it with "
                           "`edgemoe package --bit F.bit --hwh F.hwh --design DIR --out DIR`")
    if len(bits) > 1:
        raise PackageError(f"{directory} holds several bitstreams "
                           f"({', '.join(b.name for b in bits)}): keep exactly one per package")
    bit = bits[0]
    hwh = bit.with_suffix(".hwh")
    if not hwh.is_file():
        if hwhs:
            raise PackageError(
                f"{bit.name} and {hwhs[0].name} have different basenames: pynq loads the .hwh "
                f"with the same basename as the .bit; rename {hwhs[0].name} to {hwh.name}")
        raise PackageError(f"{hwh} is missing: pynq needs the hardware handoff beside the "
                           f"bitstream; copy Vivado's hw_handoff/design_1.hwh to {hwh}")
    if bit.stem != directory.name:
        log.warning("package folder %s holds %s: deploy packages are named "
                    "bitstreams/<name>/<name>.bit", directory, bit.name)
    return bit, hwh


def check_buildinfo(directory: Path, buildinfo: dict, manifest: dict) -> None:
    """Compare the files of a package with the sha256 sums recorded when it was built.

    Raises:
        PackageError: A file changed after packaging, or the recorded config_id differs
            from the manifest's.
    """
    files = buildinfo.get("files", {}) if isinstance(buildinfo, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise PackageError(f"{directory / BUILDINFO} is damaged (no 'files' table of sha256 "
                           "sums): re-run `edgemoe package`")
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise PackageError(f"{path} is listed in {BUILDINFO} but missing: copy the whole "
                               "package folder, or re-run `edgemoe package`")
        actual = sha256_file(path)
        if actual != expected:
            raise PackageError(
                f"{path} does not match {BUILDINFO} (sha256 {actual[:16]} != {expected[:16]}): "
                "the file was replaced after packaging, so the bitstream, manifest and image may "
                "no longer belong together; re-run `edgemoe package` with the matching files")
    if str(buildinfo.get("config_id")) != str(manifest["config_id"]):
        raise PackageError(f"{BUILDINFO} records config_id {buildinfo.get('config_id')} but "
                           f"manifest.json has {manifest['config_id']}: re-run `edgemoe package`")


def resolve_accel(manifest: dict, root: Path | None,
                  accel: AccelConfig | str | None) -> AccelConfig:
    """The design point of a manifest, checked against the manifest's config_id.

    Order: ``accel`` (object, name or YAML path), ``<root>/accel.json``, then the design
    point named in the manifest from ``configs/accel/``.

    Raises:
        ConfigIdMismatch: The design point's config_id differs from the manifest's.
        PackageError: The design point cannot be loaded.
    """
    try:
        if isinstance(accel, str):
            accel = load_accel(accel)
        elif accel is None and root is not None and (root / ACCEL_FILE).is_file():
            doc = read_json(root / ACCEL_FILE, PackageError)
            accel = accel_from_mapping(doc, str(manifest["accel"]), str(root / ACCEL_FILE))
        elif accel is None:
            accel = load_accel(str(manifest["accel"]))
    except ConfigError as exc:
        raise PackageError(f"cannot load design point {manifest.get('accel')!r} of the "
                           f"manifest: {exc}; pass accel=... explicitly") from None
    if accel.config_id != manifest["config_id"]:
        raise ConfigIdMismatch(
            f"the program was compiled for config_id {manifest['config_id']} but design point "
            f"{accel.name!r} has config_id {accel.config_id}: the design point changed since "
            "compiling; recompile the model for this design point or pass the matching accel")
    digest = manifest.get("numerics_digest")
    if digest is not None and digest != numerics_digest():
        raise ConfigIdMismatch(
            f"the program was compiled with numerics tables {digest} but this edgemoe builds "
            f"{numerics_digest()}: the exp/recip/rsqrt/GELU tables differ (another edgemoe "
            "version or platform); recompile the model and regenerate the hardware with one "
            "edgemoe version")
    return accel


def instruction_names(manifest: dict, instrs: list[Instr] | tuple[Instr, ...]) -> tuple[str, ...]:
    """Display names: the manifest's ``program.names``, else instruction comments, else op#i."""
    names = manifest.get("program", {}).get("names")
    if names and len(names) == len(instrs):
        return tuple(str(n) for n in names)
    out = []
    for i, ins in enumerate(instrs):
        try:
            op = Op(ins.op).name.lower()
        except ValueError:
            op = f"op{ins.op}"
        out.append(ins.comment or f"{op}#{i}")
    return tuple(out)


def _from_compiled(compiled: Any, accel, root=None, **extra) -> Design:
    image = np.array(compiled.image, dtype=np.uint8, copy=True)
    try:
        check_image(compiled.manifest, image)
    except ManifestError as exc:
        raise PackageError(str(exc)) from None
    manifest = compiled.manifest
    instrs = list(compiled.instrs)
    if len(instrs) != manifest["program"]["n_instructions"]:
        p = manifest["program"]
        instrs = decode(image[p["offset"]:p["offset"] + 64 * p["n_instructions"]].tobytes())
    image.flags.writeable = False
    return Design(manifest, image, resolve_accel(manifest, root, accel), tuple(instrs),
                  instruction_names(manifest, instrs), root, **extra)


def open_design(source: Any, accel: AccelConfig | str | None = None) -> Design:
    """Load a design from a deploy package, a compiled design directory or a Compiled.

    Args:
        source: Directory path, :class:`~edgemoe.compiler.Compiled` or a Design.
        accel: Design point override (object, name or path); see :func:`resolve_accel`.

    Raises:
        PackageError: Missing or inconsistent files (with the fix in the message).
        ConfigIdMismatch: The design point does not match the manifest.
    """
    if isinstance(source, Design):
        return source
    if isinstance(source, Compiled) or (hasattr(source, "image") and hasattr(source, "manifest")):
        return _from_compiled(source, accel)
    root = Path(source)
    if not root.is_dir():
        raise PackageError(f"{root} is not a directory: pass a deploy package "
                           "(bitstreams/<name>/) or a compiled design directory")
    if not (root / "manifest.json").is_file():
        raise PackageError(f"{root} has no manifest.json: it is neither a compiled design "
                           "(`Compiled.save(DIR)`) nor a deploy package (`edgemoe package`)")
    is_package = any(root.glob("*.bit")) or any(root.glob("*.hwh")) or (root / BUILDINFO).exists()
    extra: dict[str, Any] = {}
    if is_package:
        bit, hwh = package_files(root)
        if not hwh_has_ip(hwh):
            raise PackageError(f"{hwh} describes no {TOP_NAME} IP (VLNV {VLNV}): this bitstream "
                               "was not built from an edgemoe design; package the matching one")
        if not (root / BUILDINFO).is_file():
            raise PackageError(f"{root / BUILDINFO} is missing: assemble packages with "
                               "`edgemoe package`, which records what belongs together")
        buildinfo = read_json(root / BUILDINFO, PackageError)
        manifest = read_json(root / "manifest.json", PackageError)
        try:
            check_manifest(manifest, str(root / "manifest.json"))
        except ManifestError as exc:
            raise PackageError(str(exc)) from None
        check_buildinfo(root, buildinfo, manifest)
        extra = {"bitfile": bit, "hwh": hwh, "buildinfo": buildinfo}
    try:
        compiled = Compiled.load(root)
    except ManifestError as exc:
        raise PackageError(f"{root}: {exc}") from None
    return _from_compiled(compiled, accel, root, **extra)


def with_program(design: Design, compiled: Compiled) -> Design:
    """``design``'s bitstream with another program for the same design point.

    Used to run other weights on a packaged bitstream: only the config_id must match.

    Raises:
        ConfigIdMismatch: ``compiled`` was built for another design point.
    """
    if compiled.manifest["config_id"] != design.config_id:
        raise ConfigIdMismatch(f"the new program has config_id {compiled.manifest['config_id']} "
                               f"but the package is {design.config_id}: compile it for design "
                               f"point {design.accel.name!r}")
    new = _from_compiled(compiled, design.accel)
    return replace(new, root=design.root, bitfile=design.bitfile, hwh=design.hwh,
                   buildinfo=design.buildinfo)
