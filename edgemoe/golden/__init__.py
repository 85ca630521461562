"""Bit-exact golden executor of the ISA over a memory image (the executable spec)."""

from .executor import execute, status_words

__all__ = ["execute", "status_words"]
