"""Whether a model's shapes and ops fit a design point (the resource fit is in :mod:`.fit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .accel import AccelConfig
    from .model import ModelConfig


def model_problems(accel: AccelConfig, model: ModelConfig) -> tuple[str, ...]:
    """Reasons why ``model`` cannot run on ``accel`` (empty tuple when it can).

    Sizes checked: tokens, heads, head width, experts, top-k, the widest linear input
    row (convolutions are lowered onto the linear engine with rows of ``C_in*k*k``: the
    patch embedding ``in_chans*patch*patch``, the head's 3x3 convolutions ``9*C_in``),
    the widest output row (the fused QKV projection has ``3*dim`` outputs), and the ops
    the model needs.
    """
    if hasattr(model, "layers"):  # a layer graph: the compiler splits what is too wide
        return graph_problems(accel, model)
    out: list[str] = []

    def need(what: str, value: int, key: str, have: int) -> None:
        if value > have:
            out.append(f"{what} {value} > buffers.{key}={have}")

    moe = bool(model.moe_blocks)
    need("tokens", model.num_tokens, "max_tokens", accel.max_tokens)
    need("heads", model.heads, "max_heads", accel.max_heads)
    need("head_dim", model.head_dim, "max_head_dim", accel.max_head_dim)
    if moe:
        need("num_experts", model.num_experts, "max_experts", accel.max_experts)
        need("top_k", model.top_k, "max_top_k", accel.max_top_k)
    rows_in = {"dim": model.dim, "mlp_hidden": model.mlp_hidden,
               "in_chans*patch*patch (patch embedding)": model.in_chans * model.patch ** 2,
               "9*dim (head conv3x3)": 9 * model.dim,
               "9*head_channels (head conv3x3)": 9 * model.head_channels}
    if moe:
        rows_in["expert_hidden"] = model.expert_hidden
    what, widest = max(rows_in.items(), key=lambda kv: kv[1])
    need(f"input row {what} =", widest, "max_in_features", accel.max_in_features)
    rows_out = {"3*dim (fused qkv)": 3 * model.dim, "mlp_hidden": model.mlp_hidden,
                "head_channels": model.head_channels,
                "task channels": max(t.channels for t in model.tasks)}
    if moe:
        rows_out["expert_hidden"] = model.expert_hidden
        rows_out["num_experts (router)"] = model.num_experts
    what, widest = max(rows_out.items(), key=lambda kv: kv[1])
    need(f"output row {what} =", widest, "max_out_features", accel.max_out_features)
    needed = ["linear", "layernorm", "attention", "add", "conv"]
    if model.head_upsamples:
        needed.append("upsample")
    if moe:
        needed += ["moe_gate", "moe_experts"]
    missing = [op for op in needed if op not in accel.ops]
    if missing:
        out.append("ops lacks " + ", ".join(missing))
    return tuple(out)


#: Ops each graph layer type lowers to (edgemoe.compiler.graph); ``add`` copies the output.
_GRAPH_LAYER_OPS = {"conv": ("conv",), "osa": ("conv",), "max_pool": ("pool",),
                    "avg_pool": ("pool",), "global_avg_pool": ("pool",), "linear": ("linear",),
                    "lif": ("conv", "lif"), "lif_readout": ("lif",)}


def _lif_problems(accel: AccelConfig, layer) -> list[str]:
    """A spiking layer is one LIF job: its neurons, and its spikes as the next layer's
    inputs, must fit the engine whole, and its T the build (no channel groups)."""
    n, out = layer.attr("out_features"), []
    if n > min(accel.max_out_features, accel.max_in_features):
        out.append(f"layer {layer.name}: {n} neurons > buffers.max_out_features / "
                   f"max_in_features ({accel.max_out_features} / {accel.max_in_features})")
    if layer.type == "lif" and layer.attr("timesteps") > accel.max_timesteps:
        out.append(f"layer {layer.name}: {layer.attr('timesteps')} timesteps > "
                   f"buffers.max_timesteps={accel.max_timesteps}")
    return out


def graph_problems(accel: AccelConfig, model) -> tuple[str, ...]:
    """Reasons why graph model ``model`` cannot run on ``accel``: missing ops, or rows too
    short for one 3x3 conv (wider layers run as channel groups)."""
    needed = {"add"}
    for layer in model.layers:
        needed.update(_GRAPH_LAYER_OPS.get(layer.type, ()))
        if layer.type == "osa":
            needed.update(("pool", "linear") if layer.attr("ese") else ())
    out = [p for layer in model.layers if layer.type in ("lif", "lif_readout")
           for p in _lif_problems(accel, layer)]
    if accel.max_in_features < 9:
        out.append(f"buffers.max_in_features={accel.max_in_features} < 9 (one 3x3 conv row)")
    missing = sorted(op for op in needed if op not in accel.ops)
    if missing:
        out.append("ops lacks " + ", ".join(missing))
    return tuple(out)
