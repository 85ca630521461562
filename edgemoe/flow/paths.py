"""Where the flow steps put their outputs: ``build/<design>/<step>/`` under the current
folder unless a step is given ``--out`` / ``build_root``."""

from __future__ import annotations

from pathlib import Path

from ..resources import default_build_root

__all__ = ["csim_dir", "default_build_root", "design_key", "hls_dir"]


def design_key(accel) -> str:
    """Folder name of a design point under ``build/``: its name, plus its config_id when it
    differs from the named file in ``configs/accel`` (overridden with ``--set``)."""
    from ..params import ConfigError, list_accels, load_accel

    if accel.name in list_accels():
        try:
            if load_accel(accel.name).config_id == accel.config_id:
                return accel.name
        except ConfigError:
            pass
    return f"{accel.name}-{accel.config_id}"


def hls_dir(accel, build_root: Path | str | None = None) -> Path:
    """``build/<design>/hls``: the generated HLS project of a design point."""
    return Path(build_root or default_build_root()) / design_key(accel) / "hls"


def csim_dir(accel, build_root: Path | str | None = None) -> Path:
    """``build/<design>/csim``: the cached C-sim libraries of a design point."""
    return Path(build_root or default_build_root()) / design_key(accel) / "csim"
