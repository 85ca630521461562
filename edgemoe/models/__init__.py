"""Float reference models (numpy float64) and weight import/export.

Canonical weights are float64 arrays keyed by M3ViT ``state_dict`` names
(:func:`expected_shapes`). Importers: ``.npz``, ``.safetensors`` and Edge-MoE
``*.float32.bin`` directories (:func:`load_weights`). :class:`M3ViTReference` is the
float forward the fixed-point golden model is measured against.

This package imports only numpy at import time (Pillow and safetensors are loaded
on use), so it can be imported on a PYNQ board.
"""

from edgemoe.models.edgemoe_bin import edgemoe_file_map, save_edgemoe_bin
from edgemoe.models.errors import ImageError, UnsupportedModelError, WeightError
from edgemoe.models.images import image_to_pixels, load_default_image, resize_image
from edgemoe.models.m3vit import PIXEL_SCALE, M3ViTReference
from edgemoe.models.weight_io import load_weights, save_weights
from edgemoe.models.weights import (
    BN_EPS,
    expected_shapes,
    fold_bn,
    fold_cls_into_pos,
    random_weights,
    validate_weights,
)

__all__ = [
    "BN_EPS",
    "PIXEL_SCALE",
    "ImageError",
    "M3ViTReference",
    "UnsupportedModelError",
    "WeightError",
    "edgemoe_file_map",
    "expected_shapes",
    "fold_bn",
    "fold_cls_into_pos",
    "image_to_pixels",
    "load_default_image",
    "load_weights",
    "random_weights",
    "resize_image",
    "save_edgemoe_bin",
    "save_weights",
    "validate_weights",
]
