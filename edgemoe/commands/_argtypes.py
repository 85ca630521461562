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


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    """What the simulating verbs (csim, rtlsim) run: a design point, a model with seeded
    random weights and its tasks (``task_indices``)."""
    parser.add_argument("--accel", required=True, help="design point name or YAML path")
    parser.add_argument("--model", required=True,
                        help="model name (configs/models) or YAML path")
    parser.add_argument("--task", default="0", help="task index, name or all (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a design-point key (repeatable)")


def add_ports_option(parser: argparse.ArgumentParser) -> None:
    """``--ports`` of the verbs that print the cycle model with memory."""
    parser.add_argument("--ports", type=positive_int, default=1, metavar="N",
                        help="PS ports the modelled traffic spreads over (default 1: the RTL "
                        "top's one master, as validated; up to the design point's m_axi "
                        "masters, as its HLS kernel has)")


def add_int8_heads_option(parser: argparse.ArgumentParser) -> None:
    """``--int8-heads`` of the verbs that calibrate a W8A8 program (``--int8 N``)."""
    parser.add_argument("--int8-heads", action="store_true",
                        help="with --int8 N, the task heads' convs run W8A8 too")


def int8_heads(args) -> bool:
    """``--int8-heads``, refused without the ``--int8 N`` that calibrates it."""
    if args.int8_heads and not args.int8:
        raise ValueError("--int8-heads runs the heads' convs in the W8A8 program of --int8 N: "
                         "add --int8 N (e.g. --int8 8)")
    return bool(args.int8_heads)


def add_int8_attn_option(parser: argparse.ArgumentParser) -> None:
    """``--int8-attn`` of the verbs that calibrate a W8A8 program (``--int8 N``)."""
    parser.add_argument("--int8-attn", action="store_true",
                        help="with --int8 N, every ATTENTION runs on int8 q, k, v codes too "
                             "(Flag.WFMT_Q8; needs a design point that builds attn_q8)")


def int8_attn(args) -> bool:
    """``--int8-attn``, refused without the ``--int8 N`` that calibrates it."""
    if args.int8_attn and not args.int8:
        raise ValueError("--int8-attn runs every ATTENTION in the W8A8 program of --int8 N "
                         "on int8 q, k, v: add --int8 N (e.g. --int8 8)")
    return bool(args.int8_attn)


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
