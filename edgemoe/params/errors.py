"""The one exception type of the parameter layer."""

from __future__ import annotations

import reprlib

__all__ = ["NO_VALUE", "ConfigError", "fail", "short_repr"]

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlong = 40
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset"):
    setattr(_REPR, _attr, 8)


def short_repr(value: object) -> str:
    """A bounded ``repr`` (safe for huge or self-referential YAML values)."""
    return _REPR.repr(value)


class ConfigError(ValueError):
    """A configuration file, override or design point is invalid.

    The message names the source (file and overrides), the key path, the offending
    value and what is allowed, so that the user can fix the file without reading code.
    """


#: Pass as ``value`` to :func:`fail` when there is no value to show (missing/unknown key).
NO_VALUE = object()


def fail(source: str, key: str, value: object, problem: str, allowed: str) -> ConfigError:
    """Build a ConfigError with the project's standard message layout.

    Args:
        source: Where the value came from (file path, optionally with ``--set`` overrides).
        key: Dotted key path inside the document, e.g. ``buffers.max_tokens``.
        value: The offending value (bounded ``repr``), or :data:`NO_VALUE`.
        problem: What is wrong, e.g. ``"is not a power of two"``.
        allowed: What would be accepted, e.g. ``"a power of two in 1..64"``.

    Returns:
        The exception, for the caller to ``raise``.
    """
    if value is NO_VALUE:
        return ConfigError(f"{source}: {key} {problem}; allowed: {allowed}")
    return ConfigError(f"{source}: {key} = {short_repr(value)} {problem}; allowed: {allowed}")
