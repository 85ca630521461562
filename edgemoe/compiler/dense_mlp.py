"""A dense MLP block of M3ViT (fc1 + GELU, then fc2 + residual) and its hidden tensor.

When both layers run W8A8 (``Flag.WFMT_Q8``, neither mixed int4/int8), fc2 only ever uses
the int8 codes of fc1's output: fc1 writes those codes (codes out, isa.pack_linear_q8: its
``code_muls`` vector holds fc2's input multiplier in every column) and fc2 reads them as
its input codes, so the hidden tensor holds one byte an element instead of an act word
(numerics.int8.hidden_codes).  Any int32 multiplier fits the vector (the 26-bit d4 field
of session 13, and its fallback to act rows above it, are gone).  The outputs are the same
bytes as with act rows; the clamps of the codes are counted in fc1's profile entry instead
of fc2's.
"""

from __future__ import annotations

import numpy as np

from ..isa import Flag
from ..numerics import int8
from .builder import Ref, Tensor


def hidden_codes_mul(low, p: str) -> int:
    """fc2's input multiplier when block ``p``'s MLP moves its hidden rows as int8 codes
    (both layers W8A8), else 0."""
    fc1, fc2 = f"{p}.mlp.fc1", f"{p}.mlp.fc2"
    if any(n not in low.int8 or n in low.mixed for n in (fc1, fc2)):
        return 0
    return int8.input_multiplier(low.int8[fc2])  # as quantize_q8 chooses it for fc2


def lower_dense_mlp(low, p: str, src: Ref, x: Tensor, tokens: int) -> None:
    """fc1 + GELU into the block's hidden tensor, fc2 + residual back into ``x``."""
    hx_mul = hidden_codes_mul(low, p)
    h = low.packed[f"{p}.mlp.fc1.bias"].size
    elem = int8.HIDDEN_CODE_BYTES if hx_mul else low.act_bytes
    hid = low.b.tensor(f"{p}.hidden", tokens * h * elem)
    muls = np.full(h, hx_mul, np.int64) if hx_mul else None
    low.linear(f"{p}.mlp.fc1", src, Ref(hid), tokens, flags=Flag.GELU, code_muls=muls)
    low.linear(f"{p}.mlp.fc2", Ref(hid), Ref(x), tokens, residual=Ref(x), tap=f"{p}.mlp",
               codes_in=hx_mul != 0)
