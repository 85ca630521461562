"""cocotb bench of edgemoe_attn_recip, the attention lanes' shared 1/sum unit.

Checks against edgemoe.numerics.reciprocal (bit-exact) that every lane's 1/sum lands in
its bank and is read as bank !pb after the hand-over, that lanes ending at distinct cycles
(the dense schedule) never hold the hand-over (``ready`` stays 1), that lanes ending
together (top-k) hold it for exactly LANES - 1 cycles, and that filling one bank leaves the
other (the AV block's) untouched.  The design point is named by ``EDGEMOE_ACCEL``.
"""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from edgemoe.numerics import reciprocal
from edgemoe.params import load_accel


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


class Lanes:
    def __init__(self, dut, act):
        self.dut, self.act = dut, act
        self.p = len(dut.done)
        self.bits = len(dut.sums) // self.p

    def drive_sums(self, sums: list[int]) -> None:
        word = 0
        for j, s in enumerate(sums):
            word |= (s & ((1 << self.bits) - 1)) << (j * self.bits)
        self.dut.sums.value = word

    def recips(self) -> list[int]:
        word = int(self.dut.recips.value)
        return [_signed((word >> (j * self.bits)) & ((1 << self.bits) - 1), self.bits)
                for j in range(self.p)]

    def golden(self, sums: list[int]) -> list[int]:
        return [int(reciprocal(s, self.act, self.act)) for s in sums]

    def random_sums(self, rng: random.Random) -> list[int]:
        one = 1 << self.act.frac_bits  # running sums lie in [1, tokens]; edges too
        return [rng.choice([rng.randrange(one, 130 * one), one, rng.randrange(1, one),
                            0, -rng.randrange(1, one), self.act.raw_max])
                for _ in range(self.p)]


@cocotb.test()
async def shared_unit(dut):
    """Staggered and simultaneous lane ends: the banks hold numerics.reciprocal(sum)."""
    overrides = tuple(o for o in os.environ.get("EDGEMOE_OVERRIDES", "").split(";") if o)
    accel = load_accel(os.environ.get("EDGEMOE_ACCEL", "tiny"), overrides)
    lanes = Lanes(dut, accel.formats.act)
    rng = random.Random(5)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.done.value = 0
    dut.pb.value = 0
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst_n.value = 1
    pb, av = 0, None  # av: the values the AV bank (!pb) must hold
    for round_ in range(12):
        sums = lanes.random_sums(rng)
        await FallingEdge(dut.clk)
        lanes.drive_sums(sums)
        together = round_ % 2 == 1
        held = 0
        if together:  # top-k: every lane ends in one cycle
            dut.done.value = (1 << lanes.p) - 1
            await FallingEdge(dut.clk)
            dut.done.value = 0
            while not int(dut.ready.value):
                held += 1
                if av is not None:
                    assert lanes.recips() == av, "the AV bank changed while the unit ran"
                await FallingEdge(dut.clk)
            assert held == lanes.p - 1, (held, lanes.p)
        else:  # dense: lane j ends one cycle after lane j - 1
            for j in range(lanes.p):
                dut.done.value = 1 << j
                await FallingEdge(dut.clk)
                assert int(dut.ready.value), f"lane {j} held the hand-over"
                if av is not None:
                    assert lanes.recips() == av, "the AV bank changed while the unit ran"
            dut.done.value = 0
        # the hand-over cycle: the last lane is taken at this edge, where pb flips
        await RisingEdge(dut.clk)
        pb ^= 1
        dut.pb.value = pb
        await FallingEdge(dut.clk)
        av = lanes.golden(sums)
        assert lanes.recips() == av, (round_, sums, lanes.recips(), av)
