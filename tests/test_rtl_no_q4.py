"""The dispatcher of a design without the int4 units (weight_formats=[w16, q8], as
edge-moe-zcu102) against golden: its MOE_EXPERTS queue checks keep a token bitmap only as
wide as MAX_TOKENS (the WFMT_Q4 channel lists that need MAX_OUT_FEATURES are not built),
and a WFMT_Q4 instruction is refused (BAD_FLAGS)."""

from __future__ import annotations

import numpy as np
import pytest
import rtlutil as ru

from edgemoe.isa import Err, Flag, Instr, Op
from edgemoe.params import load_accel
from edgemoe.rtl import RtlsimExecutor

pytestmark = pytest.mark.sim

BOUND = 200_000


def _queues(m: ru.Case, counts: list[int], slots: list[list[int]]) -> ru.Case:
    """``m``'s MOE_EXPERTS alone over hand-written queues (counts, then one slot each)."""
    experts = m.program[1]
    q = experts.get("queues")
    m.program = [experts]
    img = m.scratch.image
    img[q:q + 4 * len(counts)] = np.frombuffer(np.array(counts, np.uint32).tobytes(), np.uint8)
    for k, tokens in enumerate(slots):
        at = q + 64 + 64 * k  # 2 experts, 6 tokens: 64-byte counts and slots
        img[at:at + 4 * len(tokens)] = np.frombuffer(np.array(tokens, np.int32).tobytes(),
                                                     np.uint8)
    return m


def _cases(accel) -> list[ru.Case]:
    rng = np.random.default_rng(7)
    m = ru.moe(accel, rng, "moe", 6, 8, 2, 4, 1)
    return [m,
            _queues(ru.moe(accel, rng, "last_token", 6, 8, 2, 4, 1), [2, 1], [[5, 0], [3]]),
            _queues(ru.moe(accel, rng, "repeated", 6, 8, 2, 4, 1), [3, 1], [[0, 2, 0], [4]]),
            _queues(ru.moe(accel, rng, "past_tokens", 6, 8, 2, 4, 1), [1, 1], [[6], [1]]),
            ru.program(accel, "q4_refused", [Instr.make(Op.LINEAR, Flag.WFMT_Q4, tokens=1,
                                                        out_features=4, in_features=4)])]


EXPECTED = {"moe": Err.OK, "last_token": Err.OK, "repeated": Err.BAD_QUEUE,
            "past_tokens": Err.BAD_QUEUE, "q4_refused": Err.BAD_FLAGS}


@pytest.fixture(scope="module")
def outcomes():
    accel = load_accel("tiny", ("weight_formats=[w16, q8]",))
    return ru.run_cases(RtlsimExecutor(accel), _cases(accel), max_cycles=BOUND)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_q4_dispatcher_matches_golden(outcomes, name):
    out = outcomes[name]
    assert out.golden_error == EXPECTED[name], "the case must exercise the intended check"
    assert not out.timed_out and out.problems() == []
