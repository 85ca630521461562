"""Mixed int4/int8 weights (``Flag.WFMT_Q4``) on the trained m3vit-demo, golden executor.

A precision map by global salience (issue 16: 10% of the channels int8, groups of 32),
calibrated on train scenes, then the eval's float-vs-accelerator deltas (measured, golden)
and the weight bytes of the mixed LINEARs against the same layers in W8A8 (counted from
the op table's operand sizes).  The experts run W8A8 in both builds: MOE_EXPERTS has no
int4 mode yet.
"""

from __future__ import annotations

from ..numerics import int4

#: The issue's W4.4A8 point: 10% of the channels high, groups of 32 along K.
HIGH_FRACTION, GROUP = 0.1, 32


def mixed_weight_bytes(mixed, weights, accel) -> dict[str, int]:
    """Bytes of the mapped LINEARs' weight codes (with group parameters), mixed and W8A8,
    and of everything else each layer stores (bias, multipliers, mixed: channel index)."""
    from ..layout import bias_block_bytes, weight_block_bytes

    po, pi = accel.linear_p_out, accel.linear_p_in
    bias = accel.formats.bias.storage_dtype.itemsize
    out = dict.fromkeys(("mixed_codes", "int8_codes", "mixed_total", "int8_total"), 0)
    for prefix, choice in mixed.items():
        n, k = weights[f"{prefix}.weight"].shape
        groups = int4.group_count(k, choice.group_size)
        per_layer = bias_block_bytes(n, po, bias) + bias_block_bytes(n, po, 4)
        codes = int4.weight_bytes(n, int(choice.high.sum()), k, groups, po, pi)
        out["mixed_codes"] += codes
        out["int8_codes"] += weight_block_bytes(n, k, po, pi, 1)
        out["mixed_total"] += codes + per_layer + -(-4 * n // 64) * 64  # + channel_index
        out["int8_total"] += weight_block_bytes(n, k, po, pi, 1) + per_layer
    return out


def mixed_table(n: int, calib: int) -> dict:
    """Float vs W4.4A8 (mixed LINEARs, W8A8 experts) on ``n`` test scenes, and bytes."""
    from ..compiler.calibrate import linear_input_ranges
    from ..compiler.mixed import map_choices
    from ..data import synthetic
    from ..evaluation.evaluate import evaluate
    from ..seeds.mixllm_model import m3vit_salience
    from ..seeds.precision_map import build_precision_map
    from ..seeds.salience import select_global
    from .seeds import _m3vit_demo

    model, accel, weights = _m3vit_demo()
    scores = m3vit_salience(model, weights, calib, 4, GROUP)
    high = select_global(scores, HIGH_FRACTION)
    pmap = build_precision_map({k: weights[k].shape for k in scores}, high, low_bits=4,
                               high_bits=8, group=GROUP, meta={"model": model.name})
    ranges = linear_input_ranges(model, weights, (synthetic.scene("train", i).pixels()
                                                  for i in range(calib)))
    mixed, int8 = map_choices(pmap, model, weights, ranges, int8_rest=True)
    result = evaluate(model, accel, weights, "golden", "test", n, int8=int8, mixed=mixed)
    return {"eval": result, "bytes": mixed_weight_bytes(mixed, weights, accel),
            "high_channels": pmap["high_channels"], "channels": pmap["channels"]}


def run(quick: bool) -> list[tuple[str, str]]:
    """The W4.4A8 row (2 scenes, 2 calibration scenes when quick; else 100 and 8)."""
    n, calib = (2, 2) if quick else (100, 8)
    t = mixed_table(n, calib)
    f, a, d = t["eval"]["float"], t["eval"]["accelerator"], t["eval"]["deltas"]
    b = t["bytes"]
    return [
        (f"m3vit-demo W4.4A8 ({n} test scenes, golden) mIoU float / accel",
         f"{100 * f['miou']:.2f}% / {100 * a['miou']:.2f}% ({d['miou_points']:+.3f} points)"),
        ("m3vit-demo W4.4A8 depth abs-rel float / accel",
         f"{f['abs_rel']:.4f} / {a['abs_rel']:.4f} ({100 * d['abs_rel_relative']:+.3f}% rel)"),
        ("m3vit-demo W4.4A8 high channels (global salience)",
         f"{t['high_channels']} of {t['channels']}"),
        ("m3vit-demo mixed LINEAR codes / W8A8 codes",
         (f"{b['mixed_codes']:,} / {b['int8_codes']:,} B = "
         f"{b['mixed_codes'] / b['int8_codes']:.3f}x")),
        ("m3vit-demo mixed LINEAR bytes / W8A8 (with bias, scales)",
         (f"{b['mixed_total']:,} / {b['int8_total']:,} B = "
         f"{b['mixed_total'] / b['int8_total']:.3f}x")),
    ]
