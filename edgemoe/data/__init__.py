"""Shipped data (default image, trained weights) and the synthetic street-scene generator.

Import-light on purpose (numpy only): the generator runs on a PYNQ board too.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["TRAINED_WEIGHTS", "trained_weights"]

TRAINED_WEIGHTS = {"m3vit-demo": "m3vit-demo.safetensors",
                   "vovnet-tiny": "vovnet-tiny-digits.safetensors",
                   "snn-digits": "snn-digits.safetensors"}
"""Model name -> shipped weight file in this folder (m3vit-demo: synthetic scenes only;
vovnet-tiny and snn-digits: scikit-learn digits; model cards beside them)."""


def trained_weights(model: str) -> Path:
    """Path of the shipped trained weights of ``model``.

    Raises:
        ValueError: No trained weights ship for ``model``.
    """
    if model not in TRAINED_WEIGHTS:
        raise ValueError(f"no trained weights ship for model '{model}' (only for "
                         f"{', '.join(TRAINED_WEIGHTS)}); pass --weights FILE")
    return Path(str(resources.files("edgemoe").joinpath("data", TRAINED_WEIGHTS[model])))
