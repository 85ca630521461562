"""LAYERNORM-then-LINEAR programs whose LINEAR's weights the dispatcher prefetches while the
LAYERNORM runs: the cases the model's prefetch rules are checked against on the RTL."""

from __future__ import annotations

import numpy as np

from edgemoe.golden import execute
from edgemoe.isa import Instr, Op, encode

#: (tokens, dim) of the LAYERNORM: 1 and 2 short rows, 1 long row.
CASES = [(1, 64), (2, 64), (1, 512)]
#: Where the status block sits in each image.
STATUS = 1 << 11
#: The LINEAR's output rows.
OUT = 1 << 15


def ln_then_linear(tokens: int, dim: int) -> list[Instr]:
    """A LAYERNORM of ``tokens`` rows, then a LINEAR whose 16 x 512 weights (16 KiB, one
    strip) the dispatcher prefetches while the LAYERNORM runs."""
    ln = Instr.make(Op.LAYERNORM, tokens=tokens, dim=dim, src=1 << 12, dst=1 << 13,
                    gamma=1 << 14, beta=(1 << 14) + 4096)
    lin = Instr.make(Op.LINEAR, tokens=tokens, out_features=16, in_features=512, rows=tokens,
                     src=1 << 13, dst=OUT, weights=1 << 16, bias=(1 << 16) - 4096)
    return [ln, lin]


def ln_then_linear_images(accel, seed: int = 0):
    """Per case of :data:`CASES`: (program, image with random rows and weights, the image
    golden leaves)."""
    rng = np.random.default_rng(seed)
    out = []
    for tokens, dim in CASES:
        prog = ln_then_linear(tokens, dim)
        image = np.zeros(1 << 18, np.uint8)
        image[0:128] = np.frombuffer(encode(prog).tobytes(), np.uint8)
        image[1 << 12:(1 << 12) + tokens * dim * 4] = rng.integers(
            0, 16, tokens * dim * 4, dtype=np.uint8)
        image[1 << 16:(1 << 16) + 16 * 512 * 2] = rng.integers(0, 4, 16 * 512 * 2, dtype=np.uint8)
        gold = image.copy()
        assert execute(gold, accel, 0, 2, 0, STATUS) == 0
        out.append((prog, image, gold))
    return out
