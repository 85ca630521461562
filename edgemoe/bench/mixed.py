"""Mixed int4/int8 weights (``Flag.WFMT_Q4``) on the trained m3vit-demo, golden executor.

A precision map by global salience (issue 16: 10% of the channels int8) at each group size
of :data:`GROUPS`, calibrated on train scenes, then the eval's float-vs-accelerator deltas
(measured, golden) and the weight bytes of every mapped layer (the 12 dense LINEARs and
the 4 expert layers) against the same layers in W8A8, counted from the layout
(:func:`mixed_weight_bytes`).
"""

from __future__ import annotations

from ..numerics import int4

#: The issue's W4.4A8 point: 10% of the channels high.
HIGH_FRACTION = 0.1
#: Group sizes along K; ROW (>= every K) is one group per row.
ROW = int4.ROW_GROUP
#: (group size, int8 channel fraction): the issue's 10% at four group sizes, then 7% (one
#: group per row), a cheaper point below the issue's W4.4.
POINTS = ((32, HIGH_FRACTION), (64, HIGH_FRACTION), (128, HIGH_FRACTION), (ROW, HIGH_FRACTION),
          (ROW, 0.07))


def mixed_weight_bytes(mixed, weights, accel) -> dict[str, int]:
    """Weight bytes of the mapped layers, mixed and W8A8.

    ``*_codes``: the weight codes and their group parameters (int8 codes; int4 codes two a
    byte, per int4 row and group a scale code and a zero point, or with one group per row
    the zero point alone, two a byte: numerics.int4.group_param_bytes), as stored (tile padding,
    64-byte blocks; the int8 row count the compiler runs: compiler.mixed.tile_count).  ``*_total``: also the bias
    and the int32 multiplier of every channel (in both builds) and, mixed only, the u32
    ``channel_index`` of every channel.
    """
    from ..compiler.mixed import tile_count
    from ..layout import bias_block_bytes, weight_block_bytes

    po, pi = accel.linear_p_out, accel.linear_p_in
    bias = accel.formats.bias.storage_dtype.itemsize
    out = dict.fromkeys(("mixed_codes", "int8_codes", "mixed_total", "int8_total"), 0)
    for prefix, choice in mixed.items():
        shape = weights[f"{prefix}.weight"].shape
        e, (n, k) = (shape[0] if len(shape) == 3 else 1), shape[-2:]
        high = choice.high.reshape(e, n)
        if len(shape) == 3:  # MOE_EXPERTS: power-of-two groups or the whole row
            groups = int4.moe_groups(k, int4.moe_group_code(choice.group_size, (k,)))
        else:
            groups = int4.group_count(k, choice.group_size)
        per_layer = e * (bias_block_bytes(n, po, bias) + bias_block_bytes(n, po, 4))
        count = tile_count(int(high.sum(axis=1).max()), n, po)
        codes = e * int4.weight_bytes(n, count, k, groups, po, pi)
        int8 = e * weight_block_bytes(n, k, po, pi, 1)
        out["mixed_codes"] += codes
        out["int8_codes"] += int8
        out["mixed_total"] += codes + per_layer + e * bias_block_bytes(n, po, 4)  # + index
        out["int8_total"] += int8 + per_layer
    return out


def m3vit_demo_mixed(calib: int, group: int, fraction: float = HIGH_FRACTION):
    """The trained m3vit-demo's W4.4A8 build: ``fraction`` of the channels int8 by global
    salience over ``calib`` train scenes, groups of ``group``, every other layer W8A8.

    Returns:
        (model, accel with the int4 loader, weights, precision map, mixed, int8) as
        ``compile_model`` / ``evaluate`` take them.
    """
    from ..compiler.calibrate import linear_input_ranges
    from ..compiler.mixed import map_choices
    from ..data import synthetic
    from ..params import load_accel
    from ..params.accel import ALL_WEIGHT_FORMATS
    from ..seeds.mixllm_model import m3vit_salience
    from ..seeds.precision_map import build_precision_map
    from ..seeds.salience import select_global
    from .seeds import _m3vit_demo

    model, accel, weights = _m3vit_demo()
    accel = load_accel(accel.name, (ALL_WEIGHT_FORMATS,))  # with the int4 loader
    scores = m3vit_salience(model, weights, calib, 4, group)
    high = select_global(scores, fraction)
    pmap = build_precision_map({k: weights[k].shape for k in scores}, high, low_bits=4,
                               high_bits=8, group=group, meta={"model": model.name})
    ranges = linear_input_ranges(model, weights, (synthetic.scene("train", i).pixels()
                                                  for i in range(calib)))
    mixed, int8 = map_choices(pmap, model, weights, ranges, int8_rest=True)
    return model, accel, weights, pmap, mixed, int8


def mixed_table(n: int, calib: int, group: int, fraction: float = HIGH_FRACTION) -> dict:
    """Float vs W4.4A8 (:func:`m3vit_demo_mixed`) on ``n`` test scenes, and bytes."""
    from ..evaluation.evaluate import evaluate

    model, accel, weights, pmap, mixed, int8 = m3vit_demo_mixed(calib, group, fraction)
    result = evaluate(model, accel, weights, "golden", "test", n, int8=int8, mixed=mixed)
    return {"eval": result, "bytes": mixed_weight_bytes(mixed, weights, accel),
            "high_channels": pmap["high_channels"], "channels": pmap["channels"]}


def run(quick: bool) -> list[tuple[str, str]]:
    """One row set per point of :data:`POINTS` (2 scenes, 2 calibration scenes, the first
    point only when quick; else 100 and 8)."""
    n, calib = (2, 2) if quick else (100, 8)
    rows = []
    for group, fraction in POINTS[:1] if quick else POINTS:
        t = mixed_table(n, calib, group, fraction)
        f, a, d = t["eval"]["float"], t["eval"]["accelerator"], t["eval"]["deltas"]
        b = t["bytes"]
        g = ("row" if group == ROW else str(group)) + f" {100 * fraction:.0f}%"
        rows += [
            (f"m3vit-demo W4.4A8 g={g} ({n} test scenes, golden) mIoU float / accel",
             f"{100 * f['miou']:.2f}% / {100 * a['miou']:.2f}% ({d['miou_points']:+.3f} points)"),
            (f"m3vit-demo W4.4A8 g={g} depth abs-rel float / accel",
             f"{f['abs_rel']:.4f} / {a['abs_rel']:.4f} ({100 * d['abs_rel_relative']:+.3f}% rel)"),
            (f"m3vit-demo W4.4A8 g={g} high channels (global salience)",
             f"{t['high_channels']} of {t['channels']}"),
            (f"m3vit-demo g={g} mapped layers' codes / W8A8 codes",
             (f"{b['mixed_codes']:,} / {b['int8_codes']:,} B = "
              f"{b['mixed_codes'] / b['int8_codes']:.4f}x")),  # 4 digits: vs 0.56x
            (f"m3vit-demo g={g} with bias, multipliers (+ channel_index)",
             (f"{b['mixed_total']:,} / {b['int8_total']:,} B = "
              f"{b['mixed_total'] / b['int8_total']:.3f}x")),
        ]
    return rows
