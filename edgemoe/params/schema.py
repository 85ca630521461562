"""Typed reading of YAML documents and range checks with actionable messages.

The loaders turn a parsed YAML mapping into Python values with :class:`Reader` (type
checks, unknown/missing keys); the dataclasses then check ranges and cross-field rules
with :func:`require` and friends in ``__post_init__``, so a design point built in code
(e.g. by ``dataclasses.replace``) is validated exactly like one loaded from a file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import NO_VALUE, fail

__all__ = ["Reader", "is_pow2", "require", "require_int_range", "require_pow2"]

_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def is_pow2(n: int) -> bool:
    """True when ``n`` is a positive power of two."""
    return n > 0 and n & (n - 1) == 0


def require(ok: bool, source: str, key: str, value: object, problem: str, allowed: str) -> None:
    """Raise a :class:`ConfigError` unless ``ok``."""
    if not ok:
        raise fail(source, key, value, problem, allowed)


def require_int_range(source: str, key: str, value: int, lo: int, hi: int) -> None:
    """Check ``lo <= value <= hi``."""
    require(lo <= value <= hi, source, key, value, "is out of range", f"an integer in {lo}..{hi}")


def require_pow2(source: str, key: str, value: int, lo: int, hi: int) -> None:
    """Check that ``value`` is a power of two in ``lo..hi`` (the hardware indexes by bits)."""
    require(
        is_pow2(value) and lo <= value <= hi,
        source,
        key,
        value,
        "is not a power of two in range" if lo <= value <= hi else "is out of range",
        f"a power of two in {lo}..{hi}",
    )


def _type_name(value: object) -> str:
    return type(value).__name__


class Reader:
    """Reads typed values out of a parsed YAML document, naming the key path on error.

    Args:
        source: Label of the document for messages (usually the file path).
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def mapping(
        self,
        obj: object,
        where: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
    ) -> Mapping[str, Any]:
        """Check that ``obj`` is a mapping with exactly the required (+ optional) keys.

        Args:
            obj: The parsed YAML node.
            where: Key path of the node ("" for the document root).
            required: Keys that must be present.
            optional: Keys that may be present.

        Returns:
            ``obj`` as a mapping with string keys.
        """
        req = tuple(required)
        allowed = req + tuple(optional)
        label = where or "<document>"
        if not isinstance(obj, Mapping):
            raise fail(
                self.source, label, obj, f"is a {_type_name(obj)}, not a mapping",
                "a mapping with keys " + ", ".join(allowed),
            )
        for key in obj:
            if not isinstance(key, str) or key not in allowed:
                raise fail(
                    self.source, self.path(where, str(key)), NO_VALUE, "is not a known key",
                    "keys " + ", ".join(allowed),
                )
        missing = [k for k in req if k not in obj]
        if missing:
            raise fail(
                self.source, self.path(where, missing[0]), NO_VALUE,
                "is missing (missing: " + ", ".join(missing) + ")",
                "keys " + ", ".join(allowed),
            )
        return obj

    @staticmethod
    def path(where: str, key: str) -> str:
        """Join a key path."""
        return f"{where}.{key}" if where else key

    def integer(self, value: object, key: str) -> int:
        """Read an integer (``bool`` and floats are rejected)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(
                self.source, key, value, f"is a {_type_name(value)}, not an integer",
                "an integer (no quotes, no decimal point)",
            )
        return value

    def number(self, value: object, key: str) -> float:
        """Read a finite real number; numeric text such as ``1e-6`` is accepted.

        PyYAML reads ``1e-6`` (no decimal point) as a string, hence the text form.
        """
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(self.source, key, value, f"is a {_type_name(value)}, not a number",
                       "a finite number")
        try:
            out = float(value)
        except OverflowError:
            out = math.inf
        if not math.isfinite(out):
            raise fail(self.source, key, value, "is not finite", "a finite number")
        return out

    def string(self, value: object, key: str) -> str:
        """Read a string."""
        if not isinstance(value, str):
            raise fail(self.source, key, value, f"is a {_type_name(value)}, not a string",
                       "a string")
        return value

    def seq(self, value: object, key: str) -> list[Any]:
        """Read a YAML sequence."""
        if not isinstance(value, list):
            raise fail(self.source, key, value, f"is a {_type_name(value)}, not a list",
                       "a YAML list, e.g. [a, b]")
        return value

