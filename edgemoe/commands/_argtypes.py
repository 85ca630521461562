"""argparse value types and options shared by the verbs: a bad value is a one-line usage error."""

from __future__ import annotations

import argparse
import math


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0 (``nan``, ``inf``, 0 and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number of seconds > 0: "
                                         "pass e.g. 30")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (digits, optional ``_`` separators)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_ports_option(parser: argparse.ArgumentParser) -> None:
    """``--ports`` of the verbs that print the cycle model with memory."""
    parser.add_argument("--ports", type=positive_int, default=1, metavar="N",
                        help="PS ports the modelled traffic spreads over (default 1: the RTL "
                        "top's one master, as validated; up to the design point's m_axi "
                        "masters, as its HLS kernel has)")


def add_trained_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--weights`` of the verbs that work on a trained model."""
    parser.add_argument("--model", default="m3vit-demo",
                        help="model config (default m3vit-demo)")
    parser.add_argument("--weights", metavar="FILE",
                        help=".safetensors/.npz (default: the shipped trained weights of --model)")


def task_indices(model, task: str) -> list[int]:
    """The task indices a ``--task`` value names: ``all``, an index, or a task name."""
    names = [t.name for t in model.tasks]
    if task == "all":
        return list(range(len(names)))
    if task.isdigit() and int(task) < len(names):
        return [int(task)]
    if task in names:
        return [names.index(task)]
    raise ValueError(f"unknown task {task!r} of {model.name}; choose one of {names}, "
                     f"0..{len(names) - 1} or all")
