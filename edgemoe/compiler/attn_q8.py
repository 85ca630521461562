"""Int8 ATTENTION for the compiler: calibrated q, k, v ranges -> the parameter block.

``edgemoe compile --int8 N --int8-attn`` calibrates the largest ``|q|``, ``|k|`` and
``|v|`` of every block's attention (over all heads, images and tasks:
:func:`edgemoe.compiler.calibrate.attn_q8_layers`) and runs each ATTENTION with
``Flag.WFMT_Q8``; its 32-byte block of multipliers and shifts
(:func:`edgemoe.numerics.attn_q8.choose_params`) sits in the weights region.

Codes in memory (``q8_codes``, numerics.attn_q8): when the block's proj LINEAR runs W8A8
the ATTENTION writes proj's int8 input codes (codes out, ``out_x_mul`` = proj's x_mul) and
proj reads them (LINEAR ``codes_in``): its output tensor holds a byte an element
(:func:`attn_codes_out_mul`).  Where the qkv LINEAR runs W8A8 it writes the int8 codes of
q, k and v and the ATTENTION reads them (codes in, :func:`attn_codes_in_allowed`;
compiler.qkv_codes lowers the pair).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..isa import Flag
from ..numerics import attn_q8, int8
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


def attn_codes_out_mul(low, block: int) -> int:
    """proj's input multiplier when block ``block``'s ATTENTION writes its output rows as
    proj's int8 input codes, else 0: the ATTENTION is int8 (not top-k), proj runs W8A8 (not
    mixed int4/int8) and nobody taps the attention's act output."""
    proj = f"blocks.{block}.attn.proj"
    if low.topk is not None or attn_q8_names(block)[0] not in low.int8 or \
            proj not in low.int8 or proj in low.mixed or f"blocks.{block}.attn" in low.want:
        return 0
    return int8.input_multiplier(low.int8[proj])  # as quantize_q8 chooses it for proj


def attn_codes_in_allowed(low, block: int) -> bool:
    """Whether block ``block``'s ATTENTION may read its qkv rows as int8 codes: it is int8
    (not top-k), the qkv LINEAR runs W8A8 (not mixed int4/int8) and nobody taps the qkv
    act rows.  (The qkv LINEAR then writes the codes, each third of its columns with the
    block's q_mul / k_mul / v_mul, into a ``T x 3D``-byte tensor: compiler.qkv_codes.)"""
    qkv = f"blocks.{block}.attn.qkv"
    return low.topk is None and attn_q8_names(block)[0] in low.int8 and qkv in low.int8 \
        and qkv not in low.mixed and f"blocks.{block}.qkv" not in low.want


def attn_q8_fields(low, block: int, ranges: Mapping[str, float], out_x_mul: int = 0,
                   codes_in: bool = False) -> dict:
    """ATTENTION flag, ``q8_params`` and ``q8_codes`` of block ``block`` on lowering ``low``
    (its builder ``b``, formats ``f`` and model ``m``); the block goes in the weights
    region.  ``out_x_mul`` (nonzero): write the output rows as int8 codes made with it;
    ``codes_in``: the qkv rows are int8 codes made with the block's q/k/v multipliers."""
    q_max, k_max, v_max = (ranges[n] for n in attn_q8_names(block))
    scale = low.m.head_dim ** -0.5  # (the instruction's scale immediate is unused)
    fields = attn_q8.choose_params(q_max, k_max, v_max, scale, low.f.act, out_x_mul)
    ref = low.b.place("weights", attn_q8.param_block(fields).astype("<u4"),
                      f"blocks.{block}.attn.q8_params")  # (place aligns to 64 bytes)
    codes = (attn_q8.Q8_CODES_IN if codes_in else 0) | \
        (attn_q8.Q8_CODES_OUT if out_x_mul else 0)
    return {"flags": Flag.WFMT_Q8, "q8_params": ref, "q8_codes": codes}

