"""The check every model-vs-RTL span test makes on `edgemoe.bench.perfmodel.compare_span`."""

from __future__ import annotations

#: Every op type m3vit-micro's program runs (a span of it must show each).
M3VIT_OPS = frozenset({"LINEAR", "ATTENTION", "LAYERNORM", "MOE_GATE", "MOE_EXPERTS", "CONV",
                       "UPSAMPLE", "ADD"})


def assert_span_within(cmp, ops=frozenset(), bound: float = 0.05, total: bool = True) -> dict:
    """The span ran byte-identical to golden, shows every op type of ``ops``, and each op
    type (with ``total`` also the whole run) is within ``bound`` of the RTL's cycles.

    Returns:
        The span's rows by op type.
    """
    assert cmp.identical
    rows = {r.op: r for r in cmp.rows}
    assert set(rows) >= set(ops), sorted(set(ops) - set(rows))
    bad = [f"{r.op}: {r.modelled} modelled, {r.rtl} RTL ({r.error:+.1%})"
           for r in cmp.rows if abs(r.error) > bound]
    assert not bad, bad
    if total:
        assert abs(cmp.modelled_total - cmp.rtl_total) <= bound * cmp.rtl_total, \
            (cmp.modelled_total, cmp.rtl_total)
    return rows
