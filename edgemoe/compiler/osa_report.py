"""What one-shot aggregation costs in memory: the lowering against storing the concatenation.

The lowering keeps, per OSA block, the block input ``x``, the 3x3 layer maps being read and
written and the 1x1 conv's accumulator; each ``f_i`` is added into the accumulator as
soon as it exists, so the concatenation ``[x, f_1..f_L]`` never exists.  :func:`osa_report`
measures both sides from the compiled program: arena bytes live inside the block (the
builder's live ranges) and DDR traffic of the block's instructions (operand extents of the
op spec), against the same block with the concatenation stored (every ``f_i`` written
into its channel slice, the 1x1 conv reading the whole concatenation once).
"""

from __future__ import annotations

from ..validate import operand_extents
from .graph import lower_graph
from .quantize import QuantReport

__all__ = ["osa_report"]


def osa_report(model, accel, weights: dict) -> list[dict]:
    """Per OSA block: buffer bytes and DDR traffic of the lowering vs a stored concatenation.

    Returns:
        One dict per block: ``name``, ``shape``; ``map_bytes`` (one 3x3 layer's output),
        ``acc_bytes`` (the 1x1 conv's accumulator = the block output), ``input_bytes``;
        ``peak_live_bytes`` (arena bytes live at the block's busiest instruction);
        ``bound_bytes`` = accumulator + one 3x3 map + the map it is computed from (the
        input, or the previous map; with an identity residual the input stays too): what
        one-shot aggregation may hold;
        ``concat_footprint_bytes`` (the stored concatenation plus the 1x1 output);
        ``traffic_bytes`` (activation bytes the block's instructions read and write) and
        ``traffic_concat_bytes`` (the same block with the concatenation stored).
    """
    from ..models.graph import graph_shapes

    report = QuantReport()
    layout_holder: dict = {}

    def keep(low) -> None:
        layout_holder["low"] = low

    layout, _, _ = lower_graph(model, accel, weights, report, on_lowered=keep)
    low = layout_holder["low"]
    act = low.act_bytes
    shapes = graph_shapes(model)
    out = []
    for name, blk in low.osa_blocks.items():
        x, acc = blk["x"], blk["acc"]
        hw = x.h * x.w
        map_bytes = hw * blk["stage_ch"] * act
        acc_bytes = hw * acc.channels * act
        in_bytes = hw * x.channels * act
        first, last = blk["first"], blk["last"]
        peak = max(low.b.live_bytes(i) for i in range(first, last + 1))
        traffic = 0
        concat_pieces = 0
        for ins in layout.instrs[first:last + 1]:
            ext = operand_extents(ins, accel)
            traffic += sum(e.nbytes for e in ext if e.operand.role != "weight")
            if ins.comment == f"{name}.concat":
                concat_pieces += sum(e.nbytes for e in ext
                                     if e.operand.name in ("dst", "residual"))
        concat_bytes = in_bytes + blk["layers"] * map_bytes
        # stored concatenation: x copied into its slice (read + write), the 1x1 reads the
        # concatenation once and writes its output once, instead of the accumulator's
        # read-modify-write per piece
        traffic_concat = traffic - concat_pieces + 2 * in_bytes + acc_bytes
        out.append({"name": name, "shape": list(shapes[name]), "map_bytes": map_bytes,
                    "acc_bytes": acc_bytes, "input_bytes": in_bytes, "peak_live_bytes": peak,
                    "bound_bytes": acc_bytes + map_bytes + (in_bytes + map_bytes
                                                            if blk["identity"]
                                                            else max(in_bytes, map_bytes)),
                    "concat_footprint_bytes": concat_bytes + acc_bytes, "traffic_bytes": traffic,
                    "traffic_concat_bytes": traffic_concat})
    return out
