"""Exceptions of the numerics package."""

from __future__ import annotations


class NumericsError(ValueError):
    """A fixed-point type or an argument that an integer kernel cannot handle.

    The message names the type or argument, the limit, and what to use instead.
    """
