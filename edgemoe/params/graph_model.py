"""Models described as a layer graph (``configs/models/<name>.yaml`` with ``layers:``).

A graph model lists its layers in execution order; each layer names its type, its inputs
(earlier layers, or ``input`` for the image) and the attributes of its type::

    kind: vovnet
    image_height: 8
    image_width: 8
    in_chans: 1
    tasks: [{name: cls, channels: 10}]
    layers:
      - {name: stem.stem_1, type: conv, inputs: [input], out_ch: 16}
      - {name: stage2.OSA2_1, type: osa, inputs: [stem.stem_1], stage_ch: 16, concat_ch: 32,
         layers: 3}
      - {name: gap, type: global_avg_pool, inputs: [stage2.OSA2_1]}
      - {name: classifier, type: linear, inputs: [gap], out_features: 10}

The last layer is the output.  Adding a layer type takes three registrations, one per
concern, each keyed by the type name:

1. its attributes here, in :data:`LAYER_ATTRS` (name -> default; ``REQUIRED`` when the
   config must give it; the default's Python type is the attribute's type);
2. its float forward, output shape and weight shapes in :mod:`edgemoe.models.graph`
   (``@register_layer("<type>")``);
3. its lowering onto instructions in :mod:`edgemoe.compiler.graph`
   (``@register_lowering("<type>")``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, fail
from .model import TaskSpec, _parse_tasks
from .schema import Reader, require, require_int_range

__all__ = ["GRAPH_KINDS", "INPUT", "LAYER_ATTRS", "REQUIRED", "GraphModelConfig", "LayerSpec",
           "graph_model_from_mapping"]

#: Model families described as layer graphs (the family is informational: the layer
#: types decide the lowering).
GRAPH_KINDS = ("vovnet", "snn")
#: The name by which a layer refers to the input image.
INPUT = "input"
#: Marks an attribute the config must give.
REQUIRED = object()

#: Attributes of each layer type: name -> default (REQUIRED: no default).  Booleans are
#: booleans, everything else is an integer.
LAYER_ATTRS: dict[str, dict[str, Any]] = {
    # conv kxk (+ BatchNorm folded at compile time) (+ ReLU)
    "conv": {"out_ch": REQUIRED, "kernel": 3, "stride": 1, "pad": -1, "bn": True,
             "relu": True, "bias": False},
    # one-shot aggregation block: `layers` conv3x3-BN-ReLU of stage_ch, one concat
    # conv1x1-BN-ReLU to concat_ch over [x, f_1..f_L]; optional eSE and identity residual
    "osa": {"stage_ch": REQUIRED, "concat_ch": REQUIRED, "layers": REQUIRED, "ese": False,
            "identity": False},
    "max_pool": {"kernel": 3, "stride": 2},  # ceil mode, no padding
    "avg_pool": {"kernel": 3, "stride": 2},  # as max_pool; a clipped window averages its own
    "global_avg_pool": {},
    "linear": {"out_features": REQUIRED},
    # spiking layers (IIR-SNN): fully connected LIF over `timesteps` steps (a lif reading
    # a spike train must have its T); the readout sums its membrane over T
    "lif": {"out_features": REQUIRED, "timesteps": 1},
    "lif_readout": {"out_features": REQUIRED},
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_MAX_SIZE = 1 << 16
_FIELDS = ("kind", "image_height", "image_width", "in_chans", "tasks", "layers")


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a graph model.

    Attributes:
        name: Unique name; prefixes its weights (``<name>.weight``).
        type: Layer type, a key of :data:`LAYER_ATTRS`.
        inputs: Names of the layers it reads (``input``: the image).
        attrs: Its attributes, defaults filled in, as sorted (key, value) pairs.
    """

    name: str
    type: str
    inputs: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...]

    def attr(self, key: str) -> Any:
        """Value of attribute ``key``."""
        return dict(self.attrs)[key]


@dataclass(frozen=True)
class GraphModelConfig:
    """A model described as a graph of layers (VoVNet, SNN).

    Attributes:
        name: Config name (file stem).
        kind: Model family, one of :data:`GRAPH_KINDS`.
        image_height: Input height in pixels.
        image_width: Input width in pixels.
        in_chans: Input channels.
        tasks: Output tasks (a classifier has one: its channels are the classes).
        layers: Layers in execution order; the last one is the output.
        source: Where the config came from (messages only).
    """

    name: str
    kind: str
    image_height: int
    image_width: int
    in_chans: int
    tasks: tuple[TaskSpec, ...]
    layers: tuple[LayerSpec, ...]
    source: str = field(default="<GraphModelConfig>", compare=False, repr=False)

    def __post_init__(self) -> None:
        src = self.source
        require(self.kind in GRAPH_KINDS, src, "kind", self.kind, "is not a graph model kind",
                ", ".join(GRAPH_KINDS))
        for key in ("image_height", "image_width", "in_chans"):
            require_int_range(src, key, getattr(self, key), 1, _MAX_SIZE)
        require(len(self.tasks) == 1, src, "tasks", len(self.tasks),
                "is not one task (a graph model has one output)", "exactly one task")
        require(len(self.layers) >= 1, src, "layers", [], "is empty", "at least one layer")
        seen = {INPUT}
        for i, layer in enumerate(self.layers):
            where = f"layers[{i}]"
            require(bool(_NAME_RE.match(layer.name)) and layer.name not in seen, src,
                    f"{where}.name", layer.name, "is not a new identifier",
                    "a name of letters, digits, '_' and '.' used once (not 'input')")
            require(layer.type in LAYER_ATTRS, src, f"{where}.type", layer.type,
                    "is not a known layer type", ", ".join(sorted(LAYER_ATTRS)))
            for name in layer.inputs:
                require(name in seen, src, f"{where}.inputs", name,
                        "is not an earlier layer", "'input' or the name of an earlier layer")
            require(len(layer.inputs) >= 1, src, f"{where}.inputs", [], "is empty",
                    "at least one input")
            seen.add(layer.name)

    @property
    def output(self) -> LayerSpec:
        """The output layer (the last one)."""
        return self.layers[-1]

    @property
    def task(self) -> TaskSpec:
        """The model's one task."""
        return self.tasks[0]

    def layer(self, name: str) -> LayerSpec:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"model {self.name}: no layer {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The resolved model, JSON-ready (defaults filled in)."""
        return {"name": self.name, "kind": self.kind, "image_height": self.image_height,
                "image_width": self.image_width, "in_chans": self.in_chans,
                "tasks": [{"name": t.name, "channels": t.channels} for t in self.tasks],
                "layers": [{"name": lay.name, "type": lay.type, "inputs": list(lay.inputs),
                            **dict(lay.attrs)} for lay in self.layers]}

    def canonical_json(self) -> str:
        """Sorted, compact JSON of :meth:`to_dict` without the name."""
        data = self.to_dict()
        del data["name"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @property
    def model_id(self) -> str:
        """8 hex digits: the first 32 bits of sha256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:8]


def _parse_layer(item: object, i: int, reader: Reader) -> LayerSpec:
    where = f"layers[{i}]"
    if not isinstance(item, dict):
        raise fail(reader.source, where, item, "is not a mapping",
                   "{name: ..., type: ..., inputs: [...], <attributes>}")
    kind = item.get("type")
    if kind not in LAYER_ATTRS:
        raise fail(reader.source, f"{where}.type", kind, "is not a known layer type",
                   ", ".join(sorted(LAYER_ATTRS)))
    schema = LAYER_ATTRS[kind]
    node = reader.mapping(item, where, ("name", "type", "inputs"), tuple(schema))
    missing = [k for k, v in schema.items() if v is REQUIRED and k not in node]
    if missing:
        raise fail(reader.source, f"{where}.{missing[0]}", None, f"is missing for a {kind} layer",
                   "an integer")
    attrs = {}
    for key, default in schema.items():
        value = node.get(key, default)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise fail(reader.source, f"{where}.{key}", value, "is not a boolean",
                           "true or false")
        else:
            value = reader.integer(value, f"{where}.{key}")
            lo = -1 if key == "pad" else (0 if default == 0 else 1)
            require_int_range(reader.source, f"{where}.{key}", value, lo, _MAX_SIZE)
        attrs[key] = value
    inputs = reader.seq(node["inputs"], f"{where}.inputs")
    return LayerSpec(name=reader.string(node["name"], f"{where}.name"), type=kind,
                     inputs=tuple(reader.string(v, f"{where}.inputs[{j}]")
                                  for j, v in enumerate(inputs)),
                     attrs=tuple(sorted(attrs.items())))


def graph_model_from_mapping(doc: object, name: str, source: str) -> GraphModelConfig:
    """Build a :class:`GraphModelConfig` from a parsed YAML document.

    Raises:
        ConfigError: A key is unknown, missing, of the wrong type or out of range, a layer
            type is unknown or a layer reads a layer that does not come before it.
    """
    reader = Reader(source)
    data = reader.mapping(doc, "", _FIELDS)
    layers = tuple(_parse_layer(item, i, reader)
                   for i, item in enumerate(reader.seq(data["layers"], "layers")))
    return GraphModelConfig(
        name=name, kind=reader.string(data["kind"], "kind"),
        image_height=reader.integer(data["image_height"], "image_height"),
        image_width=reader.integer(data["image_width"], "image_width"),
        in_chans=reader.integer(data["in_chans"], "in_chans"),
        tasks=_parse_tasks(data["tasks"], reader), layers=layers, source=source)


#: Keys ``--set`` may override on a graph model.
OVERRIDABLE = ("image_height", "image_width")
