"""`edgemoe package`: assemble a deploy package bitstreams/<name>/."""

from __future__ import annotations

import json
from pathlib import Path

#: Default root of deploy packages, in the current folder (see bitstreams/README.md).
PACKAGE_ROOT = "bitstreams"


def default_package_dir(design: str, bit: str) -> Path:
    """``bitstreams/<design point>-<model>`` named from the design's manifest (else the
    bitstream's stem; a broken design is reported by make_package)."""
    try:
        manifest = json.loads((Path(design) / "manifest.json").read_text())
        name = f"{manifest['accel']}-{manifest['model']}"
    except (OSError, ValueError, KeyError, TypeError):
        name = Path(bit).stem
    return Path(PACKAGE_ROOT) / name


def _run(args) -> int:
    from ..host.package import make_package

    dest = args.out or default_package_dir(args.design, args.bit)
    out = make_package(args.bit, args.hwh, args.design, dest, accel=args.accel,
                       allow_rename=args.rename, overwrite=args.overwrite)
    print(f"wrote deploy package {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("package", help="assemble a deploy package (bit + hwh + program)",
                       description="Copy the bitstream, its .hwh and a compiled design into "
                       "bitstreams/<name>/ with accel.json and buildinfo.json.")
    p.add_argument("--bit", required=True, help="bitstream from Vivado")
    p.add_argument("--hwh", required=True, help="hardware handoff of the same Vivado run")
    p.add_argument("--design", required=True, metavar="DIR",
                   help="compiled design directory (manifest.json + image.bin)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="package folder (default ./bitstreams/<design point>-<model>)")
    p.add_argument("--accel", help="design point override (name or YAML path)")
    p.add_argument("--rename", action="store_true",
                   help="accept different .bit/.hwh basenames (same Vivado run)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing package")
    p.set_defaults(func=_run)
