"""LIF: spiking layers (IIR-SNN) on the add-only LIF engine.

Per block of neurons and timestep t (T = ``timesteps``):

    cur_t = q_act(sum_k s_t[k] * W[n, k] + b[n])    spike input: an add where s_t[k] = 1
    cur_t = x[n]                                    current input (mode bit 0): every step
    u_t   = q_act(leak * u_{t-1} + cur_t)           leak raw at LIF_LEAK_FRAC bits; u_0 = 0
                                                    (mode and leak share d4: pack_mode_leak)
    o_t   = u_t > threshold                         strictly greater; raw act compare
    u_t   = u_t - threshold * o_t                   reset by subtraction

and the readout (mode bit 1) writes u_T in the act format instead of spikes (no spike, no
reset; the compiler gives it leak 1, so it is the membrane summed over T, no division).
Spikes are one byte each (bit 0 read, 0/1 written), stored [t][neuron].  At T = 1 the
membrane never outlives the step, so the engine keeps no membrane state.
"""

from __future__ import annotations

import numpy as np

from ..isa import LIF_CURRENT_INPUT, LIF_LEAK_FRAC, LIF_READOUT, Instr, unpack_mode_leak
from ..layout import bias_block_bytes, weight_block_bytes
from . import memory as mem
from .intmath import matmul_exact


def lif_currents(spikes: np.ndarray, weights: np.ndarray, bias: np.ndarray, formats) -> tuple[np.ndarray, int]:
    """Input currents (T, N) raw act of spikes (T, K) in {0, 1} through raw ``weights`` (N, K).

    The sum of the selected weights is exact; it and the bias are aligned to
    max(weight, bias) fraction bits and rounded once into the act format.

    Returns:
        (raw currents, how many wrapped or saturated).
    """
    lw, bf, act = formats.linear_weight, formats.bias, formats.act
    frac = max(lw.frac_bits, bf.frac_bits)
    acc = matmul_exact(spikes, weights) << (frac - lw.frac_bits)
    return act.from_raw_counted(acc + (bias << (frac - bf.frac_bits))[None, :], frac)


def lif_steps(currents: np.ndarray, leak: int, threshold: int, readout: bool,
              act) -> tuple[np.ndarray, int]:
    """Run the neurons over the T rows of ``currents`` (T, N).

    Returns:
        (spikes (T, N) as 0/1, or the final membrane (N,) when ``readout``; overflows).
    """
    u = np.zeros(currents.shape[1], np.int64)
    spikes = np.zeros(currents.shape, np.int64)
    overflows = 0
    for t, cur in enumerate(currents):
        u, wrapped = act.from_raw_counted(leak * u + (cur << LIF_LEAK_FRAC),
                                          act.frac_bits + LIF_LEAK_FRAC)
        overflows += wrapped
        if not readout:
            spikes[t] = u > threshold
            u = u - threshold * spikes[t]
    return (u if readout else spikes), overflows


def op_lif(image, ins: Instr, accel, prof: dict) -> None:
    """LIF layer (see the module docstring)."""
    f, g = accel.formats, ins.get
    n, k, steps = g("neurons"), g("inputs"), g("timesteps")
    mode, leak = unpack_mode_leak(g("mode_leak"))
    if mode & LIF_CURRENT_INPUT:
        x = mem.read(image, g("src"), n, f.act)
        currents, wrapped = np.broadcast_to(x, (steps, n)), 0
    else:
        spikes = image[g("src"):g("src") + steps * k].astype(np.int64).reshape(steps, k) & 1
        w = mem.read_matrix(image, g("weights"), n, k, f.linear_weight, accel)
        b = mem.read(image, g("bias"), n, f.bias)
        currents, wrapped = lif_currents(spikes, w, b, f)
        prof["macs"] += steps * n * k  # additions on the engine (binary operands)
        prof["weight_bytes"] += weight_block_bytes(
            n, k, accel.linear_p_out, accel.linear_p_in, f.linear_weight.storage_dtype.itemsize
        ) + bias_block_bytes(n, accel.linear_p_out, f.bias.storage_dtype.itemsize)
    out, steps_wrapped = lif_steps(currents, leak, g("threshold"), bool(mode & LIF_READOUT), f.act)
    prof["overflows"] += wrapped + steps_wrapped
    if mode & LIF_READOUT:
        mem.write(image, g("dst"), out, f.act)
    else:
        image[g("dst"):g("dst") + out.size] = out.reshape(-1).astype(np.uint8)
