"""LIF test data and an independent, loop-by-loop model of the op (Python ints).

The model restates the op's definition (docs/snn.md) one neuron and one step at a time;
it assumes the test data keeps every value inside the act format (no wrap or saturation)
and the default truncating act format (ap_fixed<32,10>), so each quantization is a floor.
"""

from __future__ import annotations

import numpy as np

from edgemoe.isa import LIF_CURRENT_INPUT, LIF_READOUT


def lif_expected(spikes, w, b, currents, mode, steps, threshold, leak, f):
    """Spikes [t][n] (0/1) or the readout membrane [n] as raw act ints."""
    fa, fw, fb = f.act.frac_bits, f.linear_weight.frac_bits, f.bias.frac_bits
    frac = max(fw, fb)
    n = len(currents) if mode & LIF_CURRENT_INPUT else len(w)
    out = [[0] * n for _ in range(steps)]
    final = [0] * n
    for j in range(n):
        u = 0
        for t in range(steps):
            if mode & LIF_CURRENT_INPUT:
                cur = int(currents[j])
            else:
                total = sum(int(w[j][c]) for c in range(len(spikes[t])) if spikes[t][c] & 1)
                exact = total * 2 ** (frac - fw) + int(b[j]) * 2 ** (frac - fb)
                cur = exact * 2 ** fa // 2 ** frac  # floor
            u = (leak * u + cur * 2 ** 16) // 2 ** 16  # floor: the leak has 16 fraction bits
            if not mode & LIF_READOUT:
                out[t][j] = int(u > threshold)
                u -= threshold * out[t][j]
        final[j] = u
    return final if mode & LIF_READOUT else out


def lif_data(rng, n, k, steps, f, rate=0.3):
    """Random spike bytes (bit 0 is the spike; other bits set too), weights, bias, currents."""
    lw, bf = f.linear_weight, f.bias
    cur = rng.integers(-(3 << f.act.frac_bits), 3 << f.act.frac_bits, n)
    w = rng.integers(lw.raw_min, lw.raw_max + 1, (n, k))
    b = rng.integers(bf.raw_min // 4, bf.raw_max // 4, n)
    fire = rng.random((steps, k)) < rate
    spikes = (fire | (rng.integers(0, 128, (steps, k)) << 1)).astype(np.uint8)
    return spikes, w, b, cur
