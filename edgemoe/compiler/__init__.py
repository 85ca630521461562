"""Model graph -> Program + MemoryImage (lowering, packing, buffer allocation)."""

from __future__ import annotations

import logging

from ..models import random_weights
from ..validate import validate_program
from .attn_q8 import check_attn_modes, check_builds_attn_q8
from .attn_topk import AttnTopK
from .calibrate import attn_q8_layers, attn_q8_names
from .m3vit import lower_m3vit
from .program import Compiled, ManifestError, build_manifest, check_image
from .quantize import QuantReport, check_strict

log = logging.getLogger(__name__)

__all__ = ["AttnTopK", "Compiled", "ManifestError", "QuantReport", "check_image", "compile_model"]


def compile_model(model, accel, weights: dict | None = None, seed: int = 0,
                  strict: bool = False, heads: bool = True,
                  taps: frozenset[str] = frozenset(), int8: dict | None = None,
                  remove_dead: bool = True, topk: AttnTopK | None = None,
                  tile_skip: bool = True, mixed: dict | None = None) -> Compiled:
    """Compile ``model`` for design point ``accel``.

    Args:
        model: ModelConfig (kind m3vit).
        accel: AccelConfig.
        weights: canonical float weights; seeded random weights when None.
        seed: seed of the random weights.
        strict: raise WeightError when any weight saturates or underflows its format.
        heads: False compiles the backbone only (outputs: the token tensor per task).
        taps: intermediate tensors to copy out (names of :func:`taps.tap_names`).
        int8: LINEAR layers to run in the W8A8 mode, prefix -> calibrated input range
            (:func:`edgemoe.compiler.calibrate.linear_input_ranges`); a block's
            ``blocks.{i}.attn.q``/``.k``/``.v`` ranges (:func:`calibrate.attn_q8_layers`)
            run its ATTENTION int8 (``Flag.WFMT_Q8``, needs ``accel.attn_q8``).
        remove_dead: drop MLP/expert hidden neurons that contribute an exact zero
            (:mod:`edgemoe.compiler.dead_neurons`; same output bytes, smaller layers;
            not combined with ``int8`` yet).
        topk: run every ATTENTION on each query's top-k keys by codebook
            (:class:`edgemoe.compiler.attn_topk.AttnTopK`, ``Flag.ATTN_TOPK``).
        tile_skip: give every non-W8A8 M3ViT LINEAR and MOE_EXPERTS with all-zero
            P_OUT x P_IN weight tiles tile maps and ``Flag.WSKIP`` (same output bytes,
            those tiles are neither fetched nor computed); False compiles them dense.
        mixed: LINEAR layers to run with int8 and int4 channels (``Flag.WFMT_Q4``), prefix ->
            :class:`edgemoe.compiler.mixed.MixedChoice` (from a precision map, calibrated).
    """
    if hasattr(model, "layers"):  # a layer graph (VoVNet, SNN)
        if topk is not None:
            raise ValueError(f"top-k attention codebooks apply to M3ViT; {model.name} has no "
                             "ATTENTION: drop --codebooks/--topk")
        return _compile_graph(model, accel, weights, seed, strict, frozenset(taps))
    if model.kind != "m3vit":
        raise ValueError(f"model kind {model.kind!r} has no lowering yet (supported: m3vit)")
    if topk is not None and not accel.attn_topk:  # its executors would refuse Flag.ATTN_TOPK
        raise ValueError(f"design point {accel.name} does not build top-k attention: set "
                         "attn_topk: true (or --set attn_topk=true)")
    attn8 = sorted(set(int8 or {}) & set(attn_q8_layers(model)))
    if attn8:
        check_builds_attn_q8(accel)
    check_attn_modes(accel, model.name, sum(attn_q8_names(i)[0] in attn8
                                            for i in range(model.depth)), model.depth)
    if attn8 and topk is not None:
        raise ValueError("int8 attention and top-k attention (--codebooks/--topk) do not "
                         "combine: drop one of them")
    if mixed and "q4" not in accel.weight_formats:  # its executors would refuse WFMT_Q4
        raise ValueError(f"design point {accel.name} does not build int4 weights: add q4 to its "
                         "weight_formats (or --set 'weight_formats=[w16, q8, q4]')")
    if weights is None:
        weights = random_weights(model, seed)
    report = QuantReport()
    layout, stages, effective, tap_specs = lower_m3vit(model, accel, weights, report, heads,
                                                       frozenset(taps), int8, remove_dead,
                                                       topk, tile_skip, mixed)
    if strict:
        check_strict(report, accel.name)
    validate_program(layout.instrs, accel, layout.image.size, tasks=len(model.tasks))
    manifest = build_manifest(model, accel, layout, stages, heads, tap_specs)
    log.info("compiled %s for %s: %d instructions, %.1f MiB image", model.name, accel.name,
             len(layout.instrs), layout.image.size / 2**20)
    return Compiled(layout.image, manifest, layout.instrs, effective, report)


def _compile_graph(model, accel, weights: dict | None, seed: int, strict: bool,
                   taps: frozenset[str]) -> Compiled:
    """Compile a graph model (edgemoe.compiler.graph)."""
    from ..models.graph import graph_random_weights
    from .graph import graph_manifest, lower_graph

    if weights is None:
        weights = graph_random_weights(model, seed)
    report = QuantReport()
    layout, after, tap_specs = lower_graph(model, accel, weights, report, taps=taps)
    if strict:
        check_strict(report, accel.name)
    validate_program(layout.instrs, accel, layout.image.size, tasks=1)
    manifest = graph_manifest(model, accel, layout, after, tap_specs)
    log.info("compiled %s for %s: %d instructions, %.1f MiB image", model.name, accel.name,
             len(layout.instrs), layout.image.size / 2**20)
    return Compiled(layout.image, manifest, layout.instrs, {}, report)
