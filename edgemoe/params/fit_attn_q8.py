"""The physical resource model's int8 attention (``attn_q8``: ATTENTION with
``Flag.WFMT_Q8``, edgemoe.numerics.attn_q8): what it adds to the act attention engine.

The RTL estimate calibrates it by Yosys counts of edgemoe_attn with and without the mode
(edgemoe.params.fit_calibration: the residual after the act engine's count).  Per lane a step
covers a word of int8 codes, ``axi_bytes`` elements (32 on a 256-bit bus):

* QK^T: ``axi_bytes`` int8 x int8 products; AV: ``axi_bytes`` products of a probability
  ``p`` (``0 <= p <= 1``: ``frac_bits + 2`` signed bits) and an int8 v code.  Each takes
  one DSP48E2 (27x18) slice of its own: both executors build the int8 lanes beside the act
  ones (HLS ``att_q8``, SV ``edgemoe_attn_q8_lane``), not on their slices.  LUT: the
  operands' routing to those slices (a LUT6_2 per two bits); QK^T's adder tree, half an
  adder as wide as its sum per product (the act engine's rule), the sum
  ``|acc| <= 127**2 * head_dim``; AV's accumulators, one adder of ``frac_bits + 9`` bits
  per element of the word (``|acc| < 2**(frac_bits + 8)``, numerics.attn_q8.outputs).
* The two rescales (``acc * s_mul`` and ``acc * o_mul``, an int32 multiplier): one of each
  per lane, and each a 64-bit rounding shift by a variable 0..63 (six levels of 2:1
  selects) plus act's rounding and saturation (about 300 LUT).
* The quantizers (q, k and v rows as they load, one beat a cycle; and the writer's, for
  output rows written as int8 codes: ``q8_codes``' codes out): ``act_per_beat`` 32 x 32
  products ``x * mul`` for each of the two, each with its rounding add, clamp and count
  (about 80 LUT).
* Memories: none new; a row of codes is a quarter of its act row, so the K, V and Q row
  memories of the act engine hold them.

Against Yosys (MEASURED, ``edgemoe synth --top edgemoe_attn --fast`` with and without
``attn_q8``): the SV's int8 mode adds 14,417 LUT, 3,231 FF and 161 DSP on tiny (2 lanes,
16-code words; with session 14's codes in and out), where this model says 3,904 LUT and
108 DSP; the calibration carries the difference (about 3.7x LUT, 1.5x DSP).  Built alone
(``attn_act: false``: the act products and score rescale left out, fit.py's attention keeps
its per-lane softmax and control) edgemoe_attn on that design (before codes in and out)
measures 25,134 LUT, 5,049 FF and 266 DSP against 30,165, 5,186 and 346 with the act mode
(Yosys estimates); the RTL estimate says 23,734 LUT and 232 DSP (no calibration point of
its own: the residual split above would charge the act-free engine's difference to the
int8 mode).
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
    p_bits = act.frac_bits + 2
    need_qk, need_av = word * dsp(CODE_BITS, CODE_BITS), word * dsp(p_bits, CODE_BITS)
    acc_qk = 2 * CODE_BITS - 1 + max(1, (accel.max_head_dim - 1).bit_length())
    acc_av = act.frac_bits + 9
    rescale = dsp(acc_qk, MUL_BITS) + dsp(acc_av, MUL_BITS)
    quantizers = 2 * dot  # the loader's and the writer's (codes out)
    add("attention_q8", "DSP", lanes * (need_qk + need_av + rescale)
        + quantizers * dsp(act.width, MUL_BITS))
    routing = (need_qk * 2 * CODE_BITS + need_av * (p_bits + CODE_BITS)) / 2
    trees = word * acc_qk / 2 + word * acc_av
    add("attention_q8", "LUT", lanes * (routing + trees + 2 * RESCALE_LUT)
        + quantizers * QUANTIZER_LUT)
