"""The physical resource model's int8 attention (``attn_q8``: ATTENTION with
``Flag.WFMT_Q8``, edgemoe.numerics.attn_q8): what it adds to the act attention engine.

A physical estimate until Yosys measures the module that builds it.  Per lane a step
covers a word of int8 codes, ``axi_bytes`` elements (32 on a 256-bit bus):

* QK^T: ``axi_bytes`` int8 x int8 products; AV: ``axi_bytes`` products of a probability
  ``p`` (``0 <= p <= 1``: ``frac_bits + 2`` signed bits) and an int8 v code.  Each fits
  one DSP48E2 (27x18) slice, and the act datapaths they share the lane with already hold
  ``act_per_beat x dsp(act x act)`` slices each (32 for ap_fixed<32,*> on 256 bits): the
  int8 products reuse those slices and only the excess, if any, is new DSP.  LUT: the
  operand selects at those slices' ports (a LUT6_2 selects two bits); QK^T's adder tree,
  half an adder as wide as its sum per product (the act engine's rule), the sum
  ``|acc| <= 127**2 * head_dim``; AV's accumulators, one adder of ``frac_bits + 9`` bits
  per element of the word (``|acc| < 2**(frac_bits + 8)``, numerics.attn_q8.outputs).
* The two rescales (``acc * s_mul`` and ``acc * o_mul``, an int32 multiplier): one of each
  per lane, and each a 64-bit rounding shift by a variable 0..63 (six levels of 2:1
  selects) plus act's rounding and saturation (about 300 LUT).
* The quantizers (q, k and v rows as they load, one beat a cycle): ``act_per_beat``
  32 x 32 products ``x * mul`` for the engine, each with its rounding add, clamp and
  count (about 80 LUT).
* Memories: none new; a row of codes is a quarter of its act row, so the K, V and Q row
  memories of the act engine hold them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .accel import AccelConfig

#: Bits of an int8 code.
CODE_BITS = 8
#: Bits of an int32 rescale multiplier (q_mul .. o_mul).
MUL_BITS = 32
#: LUT of one rescale's variable 64-bit shift, rounding and saturation.
RESCALE_LUT = 300
#: LUT of one quantizer's rounding add, clamp and clamp count.
QUANTIZER_LUT = 80


def add_attn_q8(accel: AccelConfig, dsp: Callable[[int, int], int],
                add: Callable[[str, str, float], None]) -> None:
    """Add the int8 attention's DSP and LUT (component ``attention_q8``) with ``add``;
    ``dsp(a_bits, b_bits)`` is DSP slices per signed multiplier (fit.dsp_per_multiplier)."""
    if not accel.attn_q8:
        return
    act = accel.formats.act
    lanes, word, dot = accel.attn_lanes, accel.axi_bytes, accel.act_per_beat
    have = dot * dsp(act.width, act.width)  # slices of one act datapath (QK^T or AV)
    p_bits = act.frac_bits + 2
    need_qk, need_av = word * dsp(CODE_BITS, CODE_BITS), word * dsp(p_bits, CODE_BITS)
    acc_qk = 2 * CODE_BITS - 1 + max(1, (accel.max_head_dim - 1).bit_length())
    acc_av = act.frac_bits + 9
    rescale = dsp(acc_qk, MUL_BITS) + dsp(acc_av, MUL_BITS)
    add("attention_q8", "DSP", lanes * (max(0, need_qk - have) + max(0, need_av - have)
                                        + rescale) + dot * dsp(act.width, MUL_BITS))
    select = (need_qk * 2 * CODE_BITS + need_av * (p_bits + CODE_BITS)) / 2
    trees = word * acc_qk / 2 + word * acc_av
    add("attention_q8", "LUT", lanes * (select + trees + 2 * RESCALE_LUT) + dot * QUANTIZER_LUT)
