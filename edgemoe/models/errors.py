"""Exceptions raised by the float reference models and the weight importers."""

from __future__ import annotations

__all__ = ["ImageError", "UnsupportedModelError", "WeightError"]


class WeightError(ValueError):
    """A weight set does not match the model it is used with.

    One error lists every problem found (missing, extra, mis-shaped, non-finite tensors,
    unreadable files), so a user fixes them all in one pass.

    Attributes:
        problems: One human-readable line per problem, each naming the tensor or file.
    """

    def __init__(self, summary: str, problems: tuple[str, ...] | list[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        lines = [summary, *(f"  - {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


class ImageError(ValueError):
    """An input image has the wrong dtype, layout or size for the model."""


class UnsupportedModelError(ValueError):
    """The model configuration cannot be run by this reference implementation."""
