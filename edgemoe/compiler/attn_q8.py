"""Int8 ATTENTION for the compiler: calibrated q, k, v ranges -> the parameter block.

``edgemoe compile --int8 N --int8-attn`` calibrates the largest ``|q|``, ``|k|`` and
``|v|`` of every block's attention (over all heads, images and tasks:
:func:`edgemoe.compiler.calibrate.attn_q8_layers`) and runs each ATTENTION with
``Flag.WFMT_Q8``; its 32-byte block of multipliers and shifts
(:func:`edgemoe.numerics.attn_q8.choose_params`) sits in the weights region.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..isa import Flag
from ..numerics import attn_q8
from .calibrate import attn_q8_names


def check_builds_attn_q8(accel) -> None:
    """Raise ValueError (one line, naming the fix) unless ``accel`` builds int8 attention:
    its executors would refuse ``Flag.WFMT_Q8`` on ATTENTION."""
    if accel.attn_q8:
        return
    from ..params import list_accels, load_accel

    names = ", ".join(n for n in list_accels() if load_accel(n).attn_q8)
    raise ValueError(f"design point {accel.name} does not build int8 attention: set attn_q8: "
                     f"true (or --set attn_q8=true), or use a design that builds it ({names})")


def check_attn_modes(accel, model_name: str, int8_blocks: int, blocks: int) -> None:
    """Raise ValueError (one line, naming the fix) when ``accel`` builds int8 attention only
    (``attn_act: false``) and fewer than all ``blocks`` ATTENTIONs of the program run int8:
    its executors would refuse an ATTENTION without ``Flag.WFMT_Q8``."""
    if accel.attn_act or int8_blocks == blocks:
        return
    raise ValueError(f"{accel.name} builds int8 attention only: add --int8 N --int8-attn (the "
                     f"{blocks - int8_blocks} of {blocks} ATTENTIONs of {model_name} without it "
                     f"would be refused; or use a design point with attn_act: true)")


def int8_only_ranges(model, accel, seed: int = 0) -> dict[str, float] | None:
    """None (the W16A32 program), or where ``accel`` builds int8 attention only (``attn_act:
    false``) the ranges of ``model``'s W8A8 program with int8 attention (what a default
    program there needs: testbench vectors, csim/rtlsim commands, tests), calibrated on the
    default image with compile_model's seeded random weights (``seed``)."""
    if accel.attn_act or getattr(model, "kind", None) != "m3vit":
        return None
    from ..models import load_default_image, random_weights
    from .calibrate import int8_layers, linear_input_ranges

    return linear_input_ranges(model, random_weights(model, seed), [load_default_image(model)],
                               int8_layers(model, attn=True))


def attn_q8_fields(low, block: int, ranges: Mapping[str, float]) -> dict:
    """ATTENTION flag and ``q8_params`` of block ``block`` on lowering ``low`` (its
    builder ``b``, formats ``f`` and model ``m``); the block goes in the weights region."""
    q_max, k_max, v_max = (ranges[n] for n in attn_q8_names(block))
    scale = low.m.head_dim ** -0.5  # (the instruction's scale immediate is unused)
    fields = attn_q8.choose_params(q_max, k_max, v_max, scale, low.f.act)
    ref = low.b.place("weights", attn_q8.param_block(fields).astype("<u4"),
                      f"blocks.{block}.attn.q8_params")  # (place aligns to 64 bytes)
    return {"flags": Flag.WFMT_Q8, "q8_params": ref}
