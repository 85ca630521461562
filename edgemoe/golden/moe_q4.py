"""MOE_EXPERTS with ``Flag.WFMT_Q4``: every expert's fc1 and fc2 as mixed int8/int4 rows.

The layout is :mod:`edgemoe.numerics.int4`'s (experts section); the arithmetic of each
layer is :func:`edgemoe.golden.linear_q4.mixed_rows`, the same as a mixed LINEAR's.
"""

from __future__ import annotations

import numpy as np

from ..isa import Err, Instr, unpack_moe_q8
from ..layout import bias_block_bytes
from ..numerics import int4
from ..numerics.int8 import DQ_SHIFT_MAX
from . import memory as mem
from .linear_q4 import MixedRows, channel_order, mixed_row_codes, mixed_rows


class MixedExperts:
    """The mixed layout of one MOE_EXPERTS instruction, checked before anything runs.

    Raises (through ``fault``) BAD_SHAPE when the d4 word at the end of b1 holds a
    ``dq_shift`` above DQ_SHIFT_MAX, BAD_QUEUE when an expert's channel_index list is not a
    permutation.
    """

    def __init__(self, image, ins: Instr, accel, fault):
        g = ins.get
        self.accel, self.fault = accel, fault
        d, h, self.e = g("dim"), g("hidden"), g("experts")
        po, pi = accel.linear_p_out, accel.linear_p_in
        bb = accel.formats.bias.storage_dtype.itemsize
        high1, high2, code = int4.unpack_moe_split(g("q4_split"))
        word = int4.moe_q8_word_offset(g("b1"), self.e, h, po, bb)
        self.dq, self.hidden_x_mul = unpack_moe_q8(int(mem.read_u32(image, word, 1)[0]))
        if self.dq > DQ_SHIFT_MAX:
            raise fault(Err.BAD_SHAPE, f"mixed experts' dq_shift {self.dq} (the word at the end "
                                       f"of b1) is above {DQ_SHIFT_MAX}")
        self.x_mul = g("x_mul")
        # per layer: (n, k, high, groups, weights, biases)
        self.layers = ((h, d, high1, int4.moe_groups(d, code), g("w1"), g("b1")),
                       (d, h, high2, int4.moe_groups(h, code), g("w2"), g("b2")))
        self.w_stride = tuple(int4.weight_bytes(n, hi, k, gr, po, pi)
                              for n, k, hi, gr, _, _ in self.layers)
        for second in (False, True):
            for ex in range(self.e):
                channel_order(image, self.rows(ex, second), fault)

    def rows(self, ex: int, second: bool) -> MixedRows:
        """Expert ``ex``'s fc1 (or fc2) rows."""
        n, k, high, groups, w, b = self.layers[second]
        po = self.accel.linear_p_out
        bb = self.accel.formats.bias.storage_dtype.itemsize
        scales = b + self.e * bias_block_bytes(n, po, bb) + ex * bias_block_bytes(n, po, 4)
        return MixedRows(n, k, high, groups, w + ex * self.w_stride[second], scales,
                         int4.moe_index_offset(b, ex, self.e, n, po, bb))

    def layer(self, image, ex: int, second: bool, x: np.ndarray, b: np.ndarray
              ) -> tuple[np.ndarray, int]:
        """Raw act output of expert ``ex``'s fc1 on act raw ``x`` (fc2: on the hidden codes,
        edgemoe.numerics.int8.hidden_codes) before the epilogue, and its clamped inputs +
        act overflows; ``b`` in part-row order."""
        rows, bf = self.rows(ex, second), self.accel.formats.bias
        if second:
            y, count, _ = mixed_row_codes(image, rows, self.accel, x, self.dq, b, bf, self.fault)
        else:
            y, count, _ = mixed_rows(image, rows, self.accel, x, self.x_mul, self.dq, b, bf,
                                     self.fault)
        return y, count
