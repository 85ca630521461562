"""Locating, reading and overriding the YAML configuration files."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..resources import resource_dir
from .errors import ConfigError

__all__ = [
    "apply_overrides",
    "config_dir",
    "list_configs",
    "read_yaml",
    "resolve_config",
    "source_label",
]

log = logging.getLogger(__name__)

#: Environment variable that points the loaders at another ``configs/`` folder.
CONFIG_DIR_ENV = "EDGEMOE_CONFIG_DIR"


def config_dir() -> Path:
    """The folder holding ``boards.yaml``, ``accel/`` and ``models/``.

    Returns:
        ``$EDGEMOE_CONFIG_DIR`` when set, else the shipped ``configs/`` folder (the
        repository's in a clone, the wheel's copy in an installation). A config given by
        path (``--accel my/point.yaml``) is read from that path whatever this returns.
    """
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return resource_dir("configs")


def read_yaml(path: Path, source: str | None = None) -> Any:
    """Parse one YAML file with ``yaml.safe_load``.

    Args:
        path: File to read.
        source: Label for messages (defaults to the path).

    Returns:
        The parsed document (any YAML value; callers check its shape).

    Raises:
        ConfigError: The file is missing or unreadable, or is not valid YAML.
    """
    label = source or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found; create it or pass an existing path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read file ({exc}); pass a readable UTF-8 file") from None
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # ValueError/OverflowError: PyYAML constructors (e.g. an impossible date).
        detail = " ".join(str(exc).split())[:400]
        raise ConfigError(f"{label}: YAML syntax error: {detail}; fix the YAML syntax") from None
    except RecursionError:
        raise ConfigError(f"{label}: YAML nesting too deep; flatten the document") from None


def _looks_like_path(name_or_path: str) -> bool:
    return (
        "/" in name_or_path
        or os.sep in name_or_path
        or name_or_path.endswith((".yaml", ".yml"))
    )


def list_configs(kind: str) -> tuple[str, ...]:
    """Names (file stems) of the YAML files in ``configs/<kind>/``, sorted."""
    folder = config_dir() / kind
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml")))


def resolve_config(kind: str, name_or_path: str) -> tuple[str, Path]:
    """Turn a config name or a file path into ``(name, path)``.

    A value containing a path separator or ending in ``.yaml``/``.yml`` is a path;
    anything else is looked up as ``configs/<kind>/<name>.yaml``.

    Raises:
        ConfigError: The name is unknown (the message lists the known names) or the
            path does not exist.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(
            f"{kind} config {name_or_path!r} is a {type(name_or_path).__name__}; "
            f"pass a config name or a path to a YAML file"
        )
    text = os.fspath(name_or_path)
    if _looks_like_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: file not found; pass an existing YAML file")
        return path.stem, path
    path = config_dir() / kind / f"{text}.yaml"
    if not path.is_file():
        known = list_configs(kind)
        raise ConfigError(
            f"{kind} config {text!r} not found in {config_dir() / kind}; "
            f"allowed: {', '.join(known) or '(none)'} or a path to a .yaml file"
        )
    return text, path


def source_label(path: Path, overrides: Sequence[str]) -> str:
    """Message label for a file loaded with optional ``--set`` overrides."""
    if not overrides:
        return str(path)
    return f"{path} (with --set {' '.join(overrides)})"


def apply_overrides(
    doc: Any, overrides: Sequence[str], valid_keys: Sequence[str], source: str
) -> Any:
    """Apply ``key=value`` overrides to a parsed document.

    Keys are dotted paths of the YAML file (``linear_p_in``, ``formats.act``,
    ``buffers.max_tokens``); values are parsed with ``yaml.safe_load`` and validated
    later exactly as if they had been written in the file.

    Args:
        doc: The parsed YAML document (not modified).
        overrides: Strings ``"key=value"``.
        valid_keys: The dotted keys that may be overridden.
        source: Label for messages.

    Returns:
        A copy of ``doc`` with the overrides applied.

    Raises:
        ConfigError: An override is malformed, names an unknown key or has a value that
            is not valid YAML.
    """
    if isinstance(overrides, str):
        overrides = (overrides,)
    out = copy.deepcopy(doc)
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(
                f"{source}: override {item!r} is malformed; allowed: 'key=value' with key one of "
                + ", ".join(valid_keys)
            )
        key, _, text = item.partition("=")
        key = key.strip()
        if key not in valid_keys:
            raise ConfigError(
                f"{source}: override key {key!r} is not a known key; allowed: "
                + ", ".join(valid_keys)
            )
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
            detail = " ".join(str(exc).split())[:400]
            raise ConfigError(
                f"{source}: override {key} = {text!r} is not valid YAML ({detail}); "
                "allowed: a YAML scalar or flow list such as 8, 300.0, ap_fixed<16,2>, [a, b]"
            ) from None
        if not isinstance(out, dict):
            log.debug("override %s ignored: document is not a mapping", key)
            continue
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return out
