"""RTL engine efficiency: modelled ideal cycles / measured RTL cycles, with a bound.

The ideal count is the cycle model's (golden writes it into the profile: for LAYERNORM
two passes over each row of ceil(d / lanes) words, for MOE_GATE the router logits'
MACs / the linear tile); the measured count is the RTL's profile counter for the same
instruction.  Shapes keep the ratios of m3vit-tiny on Edge-MoE's design point (zcu102:
8 vector lanes, d = 192 -> 24 words per row; 16x16 tile, 16 experts, d = 192 -> one
output tile and 12 input tiles per token) on the small ``tiny`` build, so the benches
stay short.  The RTL result must also be byte identical with golden.
"""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru
from rtldesigns import design, executor

pytestmark = pytest.mark.sim

#: Lower bounds of ideal / measured cycles.  LAYERNORM: issue 14's 90%.  MOE_GATE: on
#: tiny (at most 16 tokens) the linear engine's fixed start-up (weights not prefetched in
#: a one-instruction program, pipeline fill: ~160 cycles) is half of the run, so the
#: bound is below the 50% measured on Edge-MoE's design point (`edgemoe bench`); the
#: router's own cost is bounded against the bare logits matmul instead.
LN_EFFICIENCY = 0.9
MOE_GATE_EFFICIENCY = 0.45
#: MOE_GATE cycles / cycles of a LINEAR with the logits' shape: the router runs under the
#: logits, only the last token and the queue write remain (the old router, token after
#: token behind the matmul and one queue word per cycle, took about 2x).
GATE_OVER_LOGITS = 1.25
#: MOE_GATE shapes (tokens, dim, experts, top_k) on ``tiny`` (4x4 tile, 4 experts):
#: the most tokens tiny holds; a router-bound one (4 input tiles per token for 4 softmax
#: steps); m3vit-micro's.
GATES = {"gate_full_tokens": (16, 48, 4, 2), "gate_router_bound": (16, 16, 4, 2),
         "gate_micro": (9, 32, 4, 2)}



@pytest.fixture(scope="module")
def outcomes():
    accel = design("tiny")
    rng = np.random.default_rng(7)
    words = 24  # per row, as m3vit-tiny's d = 192 on 8 lanes
    cases = [ru.layernorm(accel, rng, "ln_tiny_rows", 197, words * accel.vector_lanes)]
    for name, (t, d, e, k) in GATES.items():
        case = ru.moe(accel, rng, name, t, d, e, 8, k)
        case.program = case.program[:1]  # MOE_GATE alone
        cases += [case, ru.linear(accel, rng, f"{name}_logits", t, e, d)]
    return ru.run_cases(executor("tiny"), cases)


def test_layernorm_efficiency(outcomes):
    out = outcomes["ln_tiny_rows"]
    assert out.golden_error == 0 and out.problems() == []
    ideal, measured = ru.profile_cycles(out.golden), ru.profile_cycles(out.rtl)
    assert ideal == 2 * 197 * 24  # the cycle model: two passes over 24-word rows
    assert ideal / measured >= LN_EFFICIENCY, f"{ideal} ideal / {measured} measured"


def test_moe_gate_efficiency(outcomes):
    out = outcomes["gate_full_tokens"]
    ideal, measured = ru.profile_cycles(out.golden), ru.profile_cycles(out.rtl)
    t, d, e, _ = GATES["gate_full_tokens"]
    assert ideal == t * (e // 4) * (d // 4)  # the cycle model: tiles per token
    assert ideal / measured >= MOE_GATE_EFFICIENCY, f"{ideal} ideal / {measured} measured"


@pytest.mark.parametrize("name", list(GATES))
def test_router_runs_under_the_logits(outcomes, name):
    gate, logits = outcomes[name], outcomes[f"{name}_logits"]
    for out in (gate, logits):
        assert out.golden_error == 0 and out.problems() == []
    assert ru.profile_cycles(gate.rtl) <= GATE_OVER_LOGITS * ru.profile_cycles(logits.rtl), \
        (ru.profile_cycles(gate.rtl), ru.profile_cycles(logits.rtl))
