"""Parameters: boards, model shapes and accelerator design points.

Everything is loaded from ``configs/`` into frozen, validated dataclasses; invalid input
raises :class:`ConfigError` naming the file, the key, the value and what is allowed.
"""

from .accel import AccelConfig, Formats, list_accels, load_accel
from .board import Board, list_boards, load_board
from .errors import ConfigError
from .files import config_dir
from .fit import FitReport, fit_report
from .model import ModelConfig, TaskSpec, list_models, load_model

__all__ = [
    "AccelConfig",
    "Board",
    "ConfigError",
    "FitReport",
    "Formats",
    "ModelConfig",
    "TaskSpec",
    "config_dir",
    "fit_report",
    "list_accels",
    "list_boards",
    "list_models",
    "load_accel",
    "load_board",
    "load_model",
]
