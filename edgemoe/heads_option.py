"""`--heads random|none` of `edgemoe compile` and `edgemoe run`: weights without task heads.

Edge-MoE publishes backbone weights only.  ``random`` fills the missing ``heads.*``
tensors with seeded random weights (outputs are then not meaningful); ``none`` compiles
the backbone alone, whose per-task output is the token tensor.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

HEADS_CHOICES = ("random", "none")


def add_heads_option(parser) -> None:
    """Add ``--heads`` to a sub-command parser."""
    parser.add_argument("--heads", choices=HEADS_CHOICES,
                        help="weights without task heads (Edge-MoE folders): random = seeded "
                        "random heads, none = backbone only (output: the token tensor)")


def load_cli_weights(path: str, model, heads: str | None, seed: int = 0) -> dict:
    """Weights of ``--weights`` for ``model``, heads filled per ``--heads`` when missing.

    Raises:
        WeightError: Missing or mis-shaped tensors, listed by name.
    """
    from .models import load_weights

    if heads is None:
        return load_weights(path, model)
    if heads == "none":
        log.info("--heads none: compiling the backbone only; head tensors are not used")
        return load_weights(path, model, backbone_only=True)
    return load_weights(path, model, head_seed=seed)
